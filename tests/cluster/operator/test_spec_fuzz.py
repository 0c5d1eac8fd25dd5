"""Fuzzed ModelDeployment specs against the real API server and the real operator: each one
is refused by the API server with a message, or accepted and then given a status by the
operator (a readable ``SpecValid`` condition, ``Failed`` with the reason when it cannot be
rolled out); the operator neither crashes nor stops reconciling the others.

The specs come from the unit tier's generator (`tests.unit.operator.test_spec_fuzz`: the
CRD's own schema, then broken on purpose); a few dozen here, the unit tier tries hundreds
against the pure core.
"""

from __future__ import annotations

import itertools
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, given, settings

from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import Operator
from tests.cluster.operator.helpers import wait_for
from tests.unit.operator.test_spec_fuzz import FUZZED

SPECS_TRIED = 25
_names = itertools.count()


def has_readable_status(status: dict[str, Any]) -> bool:
    conditions = {c["type"]: c for c in status.get("conditions", ())}
    spec_valid = conditions.get("SpecValid")
    if spec_valid is None:
        return False
    if spec_valid["status"] == "False":
        # InvalidSpec (the spec is wrong) or AliasConflict (a fuzzed alias another one holds)
        return bool(spec_valid.get("message")) and bool(spec_valid.get("reason"))
    return spec_valid["status"] == "True"


def test_should_refuse_or_mark_every_fuzzed_spec_without_crashing_the_operator(
    kube: Kube, namespace: str, operator: Operator
) -> None:
    outcomes: dict[str, int] = {"refused": 0, "valid": 0, "invalid": 0}

    @settings(
        max_examples=SPECS_TRIED,
        deadline=None,
        database=None,
        derandomize=True,  # the same specs every run: a red run is reproducible
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(spec=FUZZED.filter(lambda raw: isinstance(raw, dict)))
    def run(spec: dict[str, Any]) -> None:
        route = namespace
        name = f"fuzz-{next(_names)}"
        doc = {
            "apiVersion": "llmops.dev/v1alpha1",
            "kind": "ModelDeployment",
            "metadata": {"name": name},
            "spec": spec,
        }
        result = kube.kubectl(
            "apply", "-n", route, "-f", "-", stdin=yaml.safe_dump(doc), check=False
        )
        if result.returncode != 0:
            # The API server's refusal names what is wrong (spec.<field>, or the YAML).
            assert "spec" in result.stderr or "error" in result.stderr.lower(), result.stderr
            outcomes["refused"] += 1
            return
        status = wait_for(kube, route, name, has_readable_status, timeout=60, operator=operator)
        spec_valid = next(c for c in status["conditions"] if c["type"] == "SpecValid")
        outcomes["valid" if spec_valid["status"] == "True" else "invalid"] += 1
        if spec_valid.get("reason") == "InvalidSpec":
            assert status["phase"] == "Failed", status  # a new object: nothing to keep
        kube.kubectl("delete", "modeldeployment", name, "-n", route, "--timeout=60s")
        assert operator.process is not None and operator.process.poll() is None

    run()

    assert sum(outcomes.values()) >= SPECS_TRIED // 2, outcomes
    assert operator.process is not None and operator.process.poll() is None
