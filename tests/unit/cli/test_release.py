"""`llmops release`: a manifest that cannot be used is refused with what is wrong in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops.release import load_manifest
from llmops_contracts.errors import LlmopsError
from llmops_contracts.release import ModelRecord, ReleaseManifest, manifest_digest


def test_a_file_that_is_no_manifest_is_refused_naming_the_fields(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('{"model": {"name": "g", "revision": "1", "uri": "u"}}')
    with pytest.raises(LlmopsError, match="modelDeployment: Field required; revision: Field"):
        load_manifest(str(tmp_path / "m.json"), namespace=None, tracking_uri="")


def test_a_manifest_file_reads_back_with_its_digest(tmp_path: Path) -> None:
    manifest = ReleaseManifest(
        model_deployment="ns/chat", revision="1", revision_hash="0ce2492a",
        model=ModelRecord(name="g", revision="1", uri="hf://o/g"),
    )  # fmt: skip
    (tmp_path / "m.json").write_text(manifest.to_json())
    loaded = load_manifest(str(tmp_path / "m.json"), namespace=None, tracking_uri="")
    assert loaded.manifest == manifest and loaded.digest == manifest_digest(manifest)


def test_an_alias_or_a_missing_server_is_refused_with_the_fix() -> None:
    with pytest.raises(LlmopsError, match="--tracking-uri"):
        load_manifest("models:/gemma/3", namespace=None, tracking_uri="")
    with pytest.raises(LlmopsError, match="name a version"):
        load_manifest("models:/gemma@production", namespace=None, tracking_uri="http://x")
