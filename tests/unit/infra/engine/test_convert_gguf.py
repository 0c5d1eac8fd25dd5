"""The tokenizer fix of the Gemma conversion: without <bos>, Gemma degenerates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops_infra.engine.convert_gguf import BOS_ID, fix_tokenizer_json

pytestmark = pytest.mark.unit


def _write_tokenizer(folder: Path, bos_id: int) -> None:
    tokenizer = {"added_tokens": [{"id": bos_id, "content": "<bos>"}], "post_processor": None}
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))
    config = {"bos_token": "<bos>", "is_local": True, "local_files_only": True}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))


def test_post_processor_prepends_bos_to_single_and_pair_inputs(tmp_path: Path) -> None:
    _write_tokenizer(tmp_path, BOS_ID)
    fix_tokenizer_json(tmp_path)
    processor = json.loads((tmp_path / "tokenizer.json").read_text())["post_processor"]
    assert processor["type"] == "TemplateProcessing"
    assert processor["single"][0] == {"SpecialToken": {"id": "<bos>", "type_id": 0}}
    assert processor["pair"][0] == processor["single"][0]
    assert processor["special_tokens"]["<bos>"]["ids"] == [BOS_ID]


def test_tokenizer_config_asks_for_bos_and_drops_loading_flags(tmp_path: Path) -> None:
    _write_tokenizer(tmp_path, BOS_ID)
    fix_tokenizer_json(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert config == {"bos_token": "<bos>", "add_bos_token": True}


def test_fix_is_idempotent(tmp_path: Path) -> None:
    _write_tokenizer(tmp_path, BOS_ID)
    fix_tokenizer_json(tmp_path)
    once = (tmp_path / "tokenizer.json").read_bytes()
    fix_tokenizer_json(tmp_path)
    assert (tmp_path / "tokenizer.json").read_bytes() == once


def test_an_unexpected_vocabulary_stops_the_conversion(tmp_path: Path) -> None:
    _write_tokenizer(tmp_path, 5)
    with pytest.raises(SystemExit, match="has id 5"):
        fix_tokenizer_json(tmp_path)
