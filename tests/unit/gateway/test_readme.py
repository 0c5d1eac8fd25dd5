"""services/llmops_gateway/README.md: the built-in routing table it shows is the real one."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from llmops_contracts.routing import parse_routing_table
from llmops_gateway.domain.routing import build_default_table
from llmops_gateway.settings import GatewaySettings

README = Path(__file__).parents[3] / "services" / "llmops_gateway" / "README.md"


def test_should_show_the_built_in_table_with_its_rag_alias_as_the_gateway_builds_it() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), flags=re.DOTALL)
    [shown] = [block for block in blocks if "version: built-in" in block]
    fields = GatewaySettings.model_fields

    table = parse_routing_table(yaml.safe_load(shown))

    assert "rag" in table.routes
    assert table == build_default_table(
        fields["generate_url"].default,
        fields["generate_model"].default,
        fields["embed_url"].default,
        fields["embed_model"].default,
    )
