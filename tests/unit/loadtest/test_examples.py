"""Every example profile and gate in examples/loadtests loads (so they cannot rot)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops_loadtest.inputs import load_gate, load_profile

EXAMPLES = Path(__file__).parents[3] / "examples" / "loadtests"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.profile.yaml")), ids=lambda p: p.name)
def test_example_profile_loads(path: Path) -> None:
    profile, _ = load_profile(path)
    assert profile.duration_s > profile.warmup_s + profile.cooldown_s


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.gate.yaml")), ids=lambda p: p.name)
def test_example_gate_loads(path: Path) -> None:
    assert load_gate(path).slos or load_gate(path).ratios
