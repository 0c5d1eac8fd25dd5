"""`llmops demo`'s pure parts: what it applies and writes, and how it reads a rollout."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmops.app import main
from llmops_contracts.routing import parse_routing_table
from llmops_infra.demo.plan import (
    EXAMPLE,
    STRICT_SLO,
    Outcome,
    build_demo_manifest,
    build_revision_patch,
    build_routing_table,
    clock,
    describe_progress,
    report_path,
    rollout_outcome,
    unexpected_outcome,
)
from llmops_infra.demo.processes import stop_leftover
from llmops_infra.settings import REPO_ROOT
from llmops_operator.core.spec.schema import parse_spec

SHIPPED = (REPO_ROOT / EXAMPLE).read_text()
SLOS = yaml.safe_load(SHIPPED)["spec"]["strategy"]["canary"]["steps"][1]["loadTest"]["slos"]


def md(status: dict[str, Any], generation: int = 2) -> dict[str, Any]:
    """The ModelDeployment as `kubectl get -o json` returns it, with the example's spec."""
    spec = yaml.safe_load(SHIPPED)["spec"]
    return {"metadata": {"name": "chat", "generation": generation}, "spec": spec, "status": status}


def test_should_route_both_revisions_of_the_alias_to_the_local_vllm() -> None:
    text = build_routing_table("chat", "http://127.0.0.1:18000/v1", "gemma-3-270m")

    table = parse_routing_table(yaml.safe_load(text))
    backends = {b.revision: b for b in table.routes["chat"].backends}
    assert set(backends) == {"stable", "canary"}
    assert {b.url for b in backends.values()} == {"http://127.0.0.1:18000/v1"}
    assert backends["stable"].weight == 100 and backends["canary"].weight == 0
    assert text.startswith("# ") and "kwok runs no containers" in text


def test_should_apply_the_example_as_shipped() -> None:
    assert build_demo_manifest(SHIPPED, fail_gate=False) == yaml.safe_load(SHIPPED)


def test_should_replace_only_the_gate_slos_with_the_strict_one_when_the_gate_must_fail() -> None:
    failing = build_demo_manifest(SHIPPED, fail_gate=True)

    expected = yaml.safe_load(SHIPPED)
    gate = expected["spec"]["strategy"]["canary"]["steps"][1]["loadTest"]
    assert gate["slos"] != [STRICT_SLO]
    gate["slos"] = [STRICT_SLO]
    assert failing == expected
    parse_spec(failing["spec"])  # the operator accepts it


def test_should_refuse_a_failing_gate_without_a_load_test_step() -> None:
    without = yaml.safe_load(SHIPPED)
    without["spec"]["strategy"]["canary"]["steps"] = [{"setWeight": 50}]

    with pytest.raises(ValueError, match="no loadTest step"):
        build_demo_manifest(yaml.safe_dump(without), fail_gate=True)


def test_should_patch_only_the_model_revision() -> None:
    assert build_revision_patch("2") == '{"spec":{"model":{"revision":"2"}}}'


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        # the operator has not seen the patch yet: revision 1's Succeeded is not the answer
        ({"observedGeneration": 1, "phase": "Succeeded", "stableRevision": "1"}, None),
        ({"observedGeneration": 2, "phase": "Succeeded", "stableRevision": "1"}, None),
        ({"observedGeneration": 2, "phase": "Analyzing", "canaryRevision": "2"}, None),
        ({"observedGeneration": 2, "phase": "RollingBack", "canaryRevision": "2"}, None),
        ({"observedGeneration": 2, "phase": "Succeeded", "stableRevision": "2"}, Outcome.PROMOTED),
        (
            {"observedGeneration": 2, "phase": "RolledBack", "canaryRevision": "2"},
            Outcome.ROLLED_BACK,
        ),
        ({"observedGeneration": 2, "phase": "Failed"}, Outcome.FAILED),
    ],
)
def test_should_tell_when_the_rollout_of_a_revision_is_over(
    status: dict[str, Any], expected: Outcome | None
) -> None:
    assert rollout_outcome(md(status), "2") is expected


def test_should_say_phase_step_weight_and_message_in_one_line() -> None:
    status = {
        "phase": "Analyzing",
        "canaryRevision": "2",
        "canaryWeight": 10,
        "currentStepIndex": 1,
        "stableRevision": "1",
        "message": "step 2/4: load test running",
    }

    line = describe_progress(md(status))

    assert line == (
        f"Analyzing  loadTest chat 2 users 15s: {', '.join(SLOS)}  "
        "revision 2 at 10%  step 2/4: load test running"
    )


def test_should_leave_out_the_step_when_no_candidate_is_rolling_out() -> None:
    stable = {"phase": "Succeeded", "stableRevision": "1", "message": "revision 1 is stable"}
    first = {"phase": "Pending", "canaryRevision": "1", "currentStepIndex": 0, "message": "m"}

    assert describe_progress(md(stable)) == "Succeeded  revision 1 is stable"
    assert describe_progress(md(first)) == "Pending  m"  # a first revision runs no steps
    assert describe_progress({"metadata": {}}) == "Pending"


@pytest.mark.parametrize(
    ("outcome", "reason", "fail_gate", "unexpected"),
    [
        (Outcome.PROMOTED, "Promoted", False, False),
        (Outcome.ROLLED_BACK, "LoadTestFailed", False, True),
        (Outcome.ROLLED_BACK, "LoadTestFailed", True, False),
        (Outcome.ROLLED_BACK, "ProgressDeadlineExceeded", True, True),
        (Outcome.PROMOTED, "Promoted", True, True),
        (Outcome.FAILED, "InvalidSpec", False, True),
    ],
)
def test_should_accept_only_the_outcome_the_demo_shows(
    outcome: Outcome, reason: str, fail_gate: bool, unexpected: bool
) -> None:
    assert unexpected_outcome(outcome, reason, fail_gate=fail_gate) is unexpected


def test_should_find_the_local_report_of_a_file_link_only() -> None:
    assert report_path("file:///tmp/a%20b/report.html") == Path("/tmp/a b/report.html")
    assert report_path("http://mlflow:5000/#/experiments/1/runs/abc") is None
    assert report_path("") is None


def test_should_show_minutes_and_seconds() -> None:
    assert clock(0) == "0:00"
    assert clock(83.9) == "1:23"


def test_should_drop_a_stale_pid_file_without_stopping_an_unrelated_process(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "operator.pid"
    pid_file.write_text(f"{os.getpid()}\n")  # this pytest process: not the operator

    stop_leftover(pid_file, "llmops_operator.main")

    assert not pid_file.exists()  # and this test is still running


def test_should_refuse_a_namespace_that_is_no_dns_label(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["llmops", "demo", "--namespace", "Not_A_Namespace"])

    with pytest.raises(SystemExit) as exit_:
        main()

    assert exit_.value.code == 2
    assert "is not a namespace name" in capsys.readouterr().err
