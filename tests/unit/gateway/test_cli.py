"""The gateway's CLI commands that need no process: keys and start-up checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from llmops import gateway as cli_gateway
from llmops_gateway.domain.keys import hash_key, parse_keys
from llmops_infra.errors import LlmopsError


def test_should_print_a_key_once_and_an_entry_holding_only_its_hash() -> None:
    result = CliRunner().invoke(
        cli_gateway.app,
        ["new-key", "--team", "search", "--id", "k1", "--model", "chat", "--rpm", "60"],
    )

    assert result.exit_code == 0, result.output
    key = result.output.split("key (shown once): ")[1].split()[0]
    entries = yaml.safe_load(result.output[result.output.index("- id:") :])
    assert entries == [
        {"id": "k1", "team": "search", "sha256": hash_key(key), "models": ["chat"], "rpm": 60}
    ]
    assert parse_keys({"keys": entries})
    assert key not in yaml.safe_dump(entries)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("routing.yaml", "routes:\n  m:\n    backends: []\n", "routes.m.backends"),
        ("routing.json", "{not json", "not valid YAML or JSON"),
    ],
)
def test_should_refuse_to_serve_a_bad_routing_table_in_one_line(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    table = tmp_path / name
    table.write_text(content)
    cli = typer.Typer()
    cli.command()(cli_gateway.serve)

    result = CliRunner().invoke(cli, ["--routing-table", str(table), "--milvus-uri", "x.db"])

    assert isinstance(result.exception, LlmopsError)
    assert message in result.exception.one_line()
