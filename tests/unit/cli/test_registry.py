"""`llmops model`'s pure side: references, the tags of a version, the release history."""

from __future__ import annotations

import pytest

from llmops.registry import (
    ServingNeeds,
    VersionRef,
    build_version_tags,
    parse_prompt_templates,
    parse_ref,
    releases_of,
)
from llmops_contracts.errors import LlmopsError
from llmops_operator.core.registry.resolution import RegisteredVersion, engine_settings_of


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("gemma@production", VersionRef("gemma", alias="production")),
        ("gemma/3", VersionRef("gemma", version="3")),
        ("models:/gemma-3-270m/12", VersionRef("gemma-3-270m", version="12")),
    ],
)
def test_should_read_an_alias_or_a_version(text: str, ref: VersionRef) -> None:
    assert parse_ref(text) == ref


@pytest.mark.parametrize("text", ["gemma", "gemma/latest", "gemma@", "a b/1", "/3"])
def test_should_refuse_a_reference_naming_no_version(text: str) -> None:
    with pytest.raises(LlmopsError, match="NAME@ALIAS"):
        parse_ref(text)


def test_should_tag_a_version_so_the_operator_reads_its_engine_settings() -> None:
    tags = build_version_tags(
        ServingNeeds(
            source="hf://google/gemma-3-270m", digest="sha256:" + "0" * 64,
            engine_args=("--max-num-seqs=4", "--chat-template=/t/a b.jinja"),
            context_length=4096, gpus=1, prompt_templates={"rag-answer": "3"},
        )
    )  # fmt: skip

    engine = engine_settings_of(RegisteredVersion("gemma", "2", "hf://x", tags))
    assert engine == {"extraArgs": "--max-num-seqs=4 '--chat-template=/t/a b.jinja'",
                      "maxModelLen": "4096"}  # fmt: skip
    assert tags["llmops.model.uri"] == "hf://google/gemma-3-270m"
    assert tags["llmops.serving.gpus"] == "1"
    assert tags["llmops.prompt.rag-answer"] == "3"


@pytest.mark.parametrize(
    ("needs", "named"),
    [
        (ServingNeeds(source="gs://bucket/m"), "--source"),
        (ServingNeeds(source="hf://"), "--source"),
        (ServingNeeds(source="hf://o/m", digest="md5:abc"), "--digest"),
        (ServingNeeds(source="hf://o/m", context_length=0), "--context-length"),
        (ServingNeeds(source="hf://o/m", gpus=-1), "--gpus"),
    ],
)
def test_should_name_the_value_the_engine_cannot_use(needs: ServingNeeds, named: str) -> None:
    with pytest.raises(LlmopsError, match=named):
        build_version_tags(needs)


def test_should_read_prompt_templates_as_name_equals_version() -> None:
    assert parse_prompt_templates(["rag-answer=3", "judge=v2"]) == {
        "rag-answer": "3",
        "judge": "v2",
    }
    with pytest.raises(LlmopsError, match="NAME=VERSION"):
        parse_prompt_templates(["rag-answer"])


def test_should_list_the_operators_releases_oldest_first_and_skip_unreleased_versions() -> None:
    def version(number: str, **release: str) -> dict[str, object]:
        tags = [{"key": f"llmops.release.{k}", "value": v} for k, v in release.items()]
        return {"version": number, "tags": [*tags, {"key": "llmops.model.uri", "value": "hf://m"}]}

    releases = releases_of([
        version("3", at="2026-12-02T00:00:00", alias="production", modeldeployment="ns/chat"),
        version("2"),
        version("1", at="2026-11-01T00:00:00", alias="production", modeldeployment="ns/chat"),
    ])  # fmt: skip

    assert [(r.version, r.at[:10]) for r in releases] == [("1", "2026-11-01"), ("3", "2026-12-02")]
    assert releases[0].modeldeployment == "ns/chat"
