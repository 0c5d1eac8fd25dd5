"""Test tiers and the session-wide local cluster.

Tiers follow folders: everything under ``tests/unit`` is marked ``unit``, under
``tests/integration`` ``integration``, under ``tests/cluster`` ``cluster``; select with
``-m``. A test outside those folders is an error, so no test escapes its tier.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TIERS = ("unit", "integration", "cluster")
TESTS = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        relative = Path(str(item.path)).relative_to(TESTS)
        tier = relative.parts[0]
        if tier not in TIERS:
            raise pytest.UsageError(f"{relative}: tests must live under one of {TIERS}")
        item.add_marker(getattr(pytest.mark, tier))
