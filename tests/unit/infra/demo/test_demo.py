"""`llmops demo`'s pure parts: what it applies, how it reads a rollout, how it counts."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
import yaml

from llmops.app import main
from llmops_infra.charts import local
from llmops_infra.cluster import node_spec
from llmops_infra.demo.plan import (
    SCALE_DOWN_DELAY_S,
    STRICT_SLO,
    Outcome,
    Tally,
    build_demo_deployment,
    build_ingest_request,
    build_registered_versions,
    build_revision_patch,
    can_keep_revision_1,
    clock,
    describe_progress,
    gate_job,
    judge_stream,
    rollout_outcome,
    unexpected_outcome,
)
from llmops_infra.demo.processes import free_port
from llmops_infra.settings import REPO_ROOT
from llmops_operator.core.spec.schema import parse_spec, template_hash, template_of

OVERLAY = yaml.safe_load((REPO_ROOT / "charts/llmops-stack" / local.OVERLAY_FILE).read_text())
MLFLOW_URL = "http://10.89.0.1:5000"
DEMO = build_demo_deployment(OVERLAY, fail_gate=False, tracking_uri=MLFLOW_URL)
SLOS = DEMO["spec"]["strategy"]["canary"]["steps"][1]["loadTest"]["slos"]


def md(status: dict[str, Any], generation: int = 2) -> dict[str, Any]:
    """The ModelDeployment as `kubectl get -o json` returns it, with the demo's spec."""
    return {"metadata": {"name": "chat", "generation": generation}, "spec": DEMO["spec"],
            "status": status}  # fmt: skip


def test_the_demo_deployment_is_one_the_operator_accepts_with_rag_and_drain_delays() -> None:
    spec = parse_spec(DEMO["spec"])
    canary = spec.strategy.canary
    assert canary is not None
    kinds = [
        next(k for k, v in step.model_dump().items() if v is not None) for step in canary.steps
    ]
    assert kinds == ["set_weight", "load_test", "analysis", "set_weight", "pause"]
    assert canary.scale_down_delay_seconds == canary.abort_scale_down_delay_seconds
    # longer than the local node's kubelet takes to refresh the gateway's routing table
    assert canary.scale_down_delay_seconds == SCALE_DOWN_DELAY_S >= 3 * node_spec.KUBELET_SYNC_S
    assert spec.route.rag is not None and spec.route.rag.collection == "handbook"
    assert spec.pod.node_selector == {"llmops.dev/node": "real"}


def test_a_failing_gate_changes_only_the_load_test_slos() -> None:
    failing = build_demo_deployment(OVERLAY, fail_gate=True, tracking_uri=MLFLOW_URL)
    steps = failing["spec"]["strategy"]["canary"]["steps"]
    assert steps[1]["loadTest"]["slos"] == [STRICT_SLO]
    steps[1]["loadTest"]["slos"] = SLOS
    assert failing == DEMO


def test_revision_2_changes_engine_flags_and_retrieval_so_it_is_a_new_revision() -> None:
    patched = merge_patch(DEMO, json.loads(build_revision_patch(DEMO)))
    before, after = parse_spec(DEMO["spec"]), parse_spec(patched["spec"])
    assert after.model.revision == "2"
    assert after.model.mlflow is not None
    assert (after.model.mlflow.name, after.model.mlflow.version) == ("gemma-3-270m", "2")
    assert after.model.mlflow.tracking_uri == MLFLOW_URL
    assert "--max-num-seqs=4" in after.engine.extra_args
    assert after.route.rag is not None and after.route.rag.top_k == 2
    assert template_hash(template_of(before)) != template_hash(template_of(after))


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386, as `kubectl patch --type merge` applies it."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def test_both_revisions_come_from_the_registry_with_the_weights_of_the_overlays_model() -> None:
    spec = parse_spec(DEMO["spec"])
    versions = build_registered_versions(OVERLAY)

    assert spec.model.uri is None
    assert spec.model.mlflow is not None and spec.model.mlflow.version == "1"
    assert [v.version for v in versions] == ["1", "2"]
    assert {v.source for v in versions} == {OVERLAY["llm-inference"]["model"]["uri"]}
    assert "--max-num-seqs=4" in versions[1].description


def test_the_corpus_request_names_each_page_as_markdown() -> None:
    body = build_ingest_request({"b.md": "B", "a.md": "A"})
    assert [d["name"] for d in body["documents"]] == ["a.md", "b.md"]
    assert {d["media_type"] for d in body["documents"]} == {"text/markdown"}
    assert body["embedder"] == local.EMBED_MODEL


def test_the_gate_job_is_found_from_the_status() -> None:
    assert gate_job(md({"loadTest": {"name": "lt-ab12-s1"}})) == "chat-lt-ab12-s1"
    assert gate_job(md({})) == ""


@pytest.mark.parametrize(
    ("status", "body", "why"),
    [
        (200, 'data: {"choices": []}\n\ndata: [DONE]\n\n', ""),
        (200, 'data: {"choices": []}\n\n', "stream cut before data: [DONE]"),
        (200, 'data: {"error": {"message": "upstream gone"}}\n\ndata: [DONE]\n\n',
         'error event: {"error": {"message": "upstream gone"}}'),
        (503, '{"error": {"message": "gone"}}', 'HTTP 503: {"error": {"message": "gone"}}'),
    ],
)  # fmt: skip
def test_a_streamed_answer_counts_only_when_whole(status: int, body: str, why: str) -> None:
    assert judge_stream(status, body) == why


def test_the_tally_counts_every_request_and_keeps_each_failure() -> None:
    tally = Tally()
    tally.record("chat-aaa")
    tally.record("chat-bbb")
    tally.record("chat-aaa")
    tally.record("", "HTTP 502: bad gateway")
    assert tally.total == 4 and tally.ok == 3
    assert tally.summary() == "4 requests, 1 failed (served by chat-aaa 2, chat-bbb 1)"


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
        "canaryWeight": 20,
        "currentStepIndex": 1,
        "stableRevision": "1",
        "message": "step 2/5: load test running",
    }

    line = describe_progress(md(status))

    assert line == (
        f"Analyzing  loadTest chat 2 users 20s: {', '.join(SLOS)}  "
        "revision 2 at 20%  step 2/5: load test running"
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


def test_should_show_minutes_and_seconds() -> None:
    assert clock(0) == "0:00"
    assert clock(83.9) == "1:23"


def test_should_refuse_a_namespace_that_is_no_dns_label(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["llmops", "demo", "--namespace", "Not_A_Namespace"])

    with pytest.raises(SystemExit) as exit_:
        main()

    assert exit_.value.code == 2
    assert "is not a namespace name" in capsys.readouterr().err


def left(annotated: dict[str, Any], **status: Any) -> dict[str, Any]:
    """What a previous demo left, as `kubectl get -o json` returns it."""
    found = json.loads(json.dumps(annotated))
    found["metadata"]["generation"] = 4
    found["status"] = {"observedGeneration": 4, **status}
    return found


def test_a_later_demo_keeps_the_stable_revision_1_a_failed_gate_or_a_promoted_1_left() -> None:
    failing = build_demo_deployment(OVERLAY, fail_gate=True, tracking_uri=MLFLOW_URL)
    rolled_back = left(failing, phase="RolledBack", stableRevision="1", canaryRevision="2")
    assert can_keep_revision_1(rolled_back, DEMO)  # only the steps differ: nothing to load
    assert can_keep_revision_1(left(DEMO, phase="Succeeded", stableRevision="1"), DEMO)


def test_a_later_demo_deletes_what_is_not_this_revision_1_at_rest() -> None:
    shipped = left(DEMO, phase="Succeeded", stableRevision="2")
    running = left(DEMO, phase="Progressing", stableRevision="1", canaryRevision="2")
    unseen = left(DEMO, phase="RolledBack", stableRevision="1")
    unseen["metadata"]["generation"] = 5  # a spec the operator has not ticked on yet
    no_annotation = left(DEMO, phase="Succeeded", stableRevision="1")
    del no_annotation["metadata"]["annotations"]
    for found in (shipped, running, unseen, no_annotation):
        assert not can_keep_revision_1(found, DEMO), found["status"]
    # this demo's revision 1 is another (here: its registry moved)
    changed = build_demo_deployment(OVERLAY, fail_gate=False, tracking_uri="http://other:5000")
    assert not can_keep_revision_1(left(DEMO, phase="Succeeded", stableRevision="1"), changed)


def test_the_registry_takes_its_own_port_when_free_else_another() -> None:
    """The demo's MLflow keeps one tracking URI across runs (its port), unless the port is
    taken: then any free one, never a failure."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        other = free_port("127.0.0.1", taken)
        assert other != taken and other > 0
    assert free_port("127.0.0.1", taken) == taken  # released: the preferred one again
