"""Every ModelDeployment in examples/rollouts parses (the cluster tests apply them)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llmops_operator.core.spec.schema import parse_spec

EXAMPLES = Path(__file__).parents[3] / "examples" / "rollouts"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_rollout_is_a_valid_spec(path: Path) -> None:
    parse_spec(yaml.safe_load(path.read_text())["spec"])
