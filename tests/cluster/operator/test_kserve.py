"""The kserve router against the real API server and KServe's real InferenceService CRD
(v0.16.0, `third_party_crds`), the operator running as its chart's ServiceAccount (so the
chart's RBAC for InferenceServices is proven too). The InferenceService is the llm-inference
chart's ``mode: kserve`` rendering (the model in the ``kserve-container``'s STORAGE_URI).

No KServe controller runs here. Where the operator waits on KServe, the test writes the
InferenceService's status as KServe's controller would (`kserve_stand_in`: a revision
created, then Ready, then rolled out at 100 %); that is the test standing in for KServe,
never KServe. What is checked is the operator's side: it runs no workloads of its own, writes
each candidate's model, hash and canaryTrafficPercent into the predictor, and moves only when
the status says the candidate is Ready.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from llmops_infra.charts import CHARTS_DIR
from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import Operator
from tests.cluster.operator.helpers import apply_example, plugin, status_of, wait_for
from tests.cluster.operator.kserve_stand_in import revision, write_kserve_status
from tests.cluster.operator.third_party_crds import KSERVE_INFERENCESERVICE, install_crd

ISVC = "llm"
# 20 % for 1 s, then 50 % until promoted: every weight is held long enough to be seen.
STEPS = [{"setWeight": 20}, {"pause": {"duration": "1s"}}, {"setWeight": 50}, {"pause": {}}]
V1, V2, V3 = "hf://google/gemma-3-270m", "hf://google/gemma-3-1b-it", "hf://google/gemma-3-4b-it"


@pytest.fixture(scope="session")
def kserve_crd(kube: Kube) -> None:
    install_crd(kube, KSERVE_INFERENCESERVICE)


def chart_inference_service(kube: Kube) -> dict[str, Any]:
    """The llm-inference chart's InferenceService (Serverless: KServe splits traffic only
    there), rendered by the pinned helm."""
    rendered = subprocess.run(
        ["helm", "template", ISVC, str(CHARTS_DIR / "llm-inference"),
         "--set", "mode=kserve", "--set", "kserve.deploymentMode=Serverless",
         "--set", f"fullnameOverride={ISVC}", "--set", f"model.uri={V1}"],
        env=kube.env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    return next(d for d in docs if d["kind"] == "InferenceService")


def predictor(kube: Kube, namespace: str) -> dict[str, Any]:
    out = kube.kubectl("get", "inferenceservice", ISVC, "-n", namespace, "-o", "json").stdout
    found: dict[str, Any] = json.loads(out)["spec"]["predictor"]
    return found


def written(kube: Kube, namespace: str) -> tuple[str | None, str | None, str | None, int | None]:
    """What the operator owns in the predictor: (hash, created-after, STORAGE_URI, percent)."""
    pred = predictor(kube, namespace)
    annotations = pred.get("annotations") or {}
    engine = next(c for c in pred["containers"] if c["name"] == "kserve-container")
    uri = next((e["value"] for e in engine["env"] if e["name"] == "STORAGE_URI"), None)
    return (
        annotations.get("llmops.dev/revision-hash"),
        annotations.get("llmops.dev/created-after"),
        uri,
        pred.get("canaryTrafficPercent"),
    )


def until(check: Callable[[], bool], what: str, operator: Operator, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}\n{operator.log.read_text()[-3000:]}")


def holds(check: Callable[[], bool], seconds: float) -> bool:
    """``check`` stays true for ``seconds`` (the operator ticks every 2 s while waiting)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not check():
            return False
        time.sleep(0.3)
    return True


def candidate_written(
    kube: Kube, namespace: str, name: str, previous: str | None, operator: Operator
) -> str:
    """The hash of the candidate that follows ``previous``, once the predictor describes it."""
    until(
        lambda: status_of(kube, namespace, name).get("canaryHash") not in (None, previous),
        "a new candidate",
        operator,
    )
    candidate = str(status_of(kube, namespace, name)["canaryHash"])
    until(lambda: written(kube, namespace)[0] == candidate, "the candidate written", operator)
    return candidate


def no_workloads(kube: Kube, namespace: str) -> bool:
    """No Deployment, Service or HPA in the namespace (the operator would have made them)."""
    kinds = "deployments,services,horizontalpodautoscalers"
    found = kube.kubectl("get", kinds, "-n", namespace, "-o", "name").stdout.split()
    return found == []


def set_model(kube: Kube, namespace: str, name: str, revision_label: str, uri: str) -> None:
    patch = json.dumps({"spec": {"model": {"revision": revision_label, "uri": uri}}})
    kube.kubectl("patch", "modeldeployment", name, "-n", namespace, "--type=merge", "-p", patch)


def test_kserve_rollout_writes_each_candidate_into_the_inference_service_and_waits_for_it(
    kube: Kube, namespace: str, kserve_crd: None, chart_operator_process: Operator
) -> None:
    operator = chart_operator_process
    kube.kubectl(
        "apply", "-n", namespace, "-f", "-", stdin=json.dumps(chart_inference_service(kube))
    )
    r1, r2, r3, r4 = (revision(ISVC, n) for n in (1, 2, 3, 4))
    # Stand-in for KServe: the user's InferenceService serves its first revision.
    write_kserve_status(kube, namespace, ISVC, created=r1, ready=r1, rolled_out=r1)
    name = apply_example(
        kube,
        namespace,
        "canary.yaml",
        route__router="kserve",
        route__inferenceService=ISVC,
        strategy__canary__steps=STEPS,
    )

    # The first revision: written into the predictor (a new KServe revision to come) ...
    first = candidate_written(kube, namespace, name, None, operator)
    assert written(kube, namespace) == (first, r1, V1, 100)  # r1, the user's, serves meanwhile
    # ... and it waits for KServe: nothing has been created yet, then only created.
    assert holds(lambda: status_of(kube, namespace, name).get("phase") == "Pending", 3)
    write_kserve_status(kube, namespace, ISVC, created=r2, ready=r1, rolled_out=r1)
    assert holds(lambda: status_of(kube, namespace, name).get("phase") == "Pending", 3)
    # Stand-in for KServe: r2 is Ready and, at 100 %, rolled out.
    write_kserve_status(kube, namespace, ISVC, created=r2, ready=r2, rolled_out=r2)
    wait_for(kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=operator)
    assert written(kube, namespace)[3] == 100
    assert no_workloads(kube, namespace)  # no Deployment, Service or HPA, ever

    # Revision 2: its model and hash go into the predictor at 0 %; no step before it is Ready.
    set_model(kube, namespace, name, "2", V2)
    second = candidate_written(kube, namespace, name, first, operator)
    assert written(kube, namespace) == (second, r2, V2, 0)
    write_kserve_status(kube, namespace, ISVC, created=r3, ready=r2, rolled_out=r2, percent=0)
    assert holds(lambda: status_of(kube, namespace, name).get("canaryWeight") == 0, 3)
    assert status_of(kube, namespace, name)["phase"] == "Progressing"
    # Stand-in for KServe: r3 is Ready; the steps run: 20 %, then 50 % until promoted.
    write_kserve_status(kube, namespace, ISVC, created=r3, ready=r3, rolled_out=r2, percent=0)
    seen = [written(kube, namespace)[3]]
    deadline = time.monotonic() + 30
    while not is_paused_at_50(status_of(kube, namespace, name)):
        assert time.monotonic() < deadline, f"seen {seen}\n{operator.log.read_text()[-3000:]}"
        if written(kube, namespace)[3] != seen[-1]:
            seen.append(written(kube, namespace)[3])
        time.sleep(0.2)
    assert seen[0] == 0 and 20 in seen and written(kube, namespace)[3] == 50
    assert plugin(kube, "promote", name, "-n", namespace).returncode == 0
    wait_for(kube, namespace, name, is_promoted_to("2"), operator=operator)
    assert written(kube, namespace) == (second, r2, V2, 100)
    write_kserve_status(kube, namespace, ISVC, created=r3, ready=r3, rolled_out=r3)

    # Revision 3, aborted at 50 %: 0 % at once; the rejected model stays described (KServe's
    # rollback: the rolled-out r3 serves, r4 is kept for a retry).
    set_model(kube, namespace, name, "3", V3)
    third = candidate_written(kube, namespace, name, second, operator)
    assert written(kube, namespace) == (third, r3, V3, 0)
    write_kserve_status(kube, namespace, ISVC, created=r4, ready=r4, rolled_out=r3, percent=0)
    wait_for(kube, namespace, name, is_paused_at_50, operator=operator)
    assert plugin(kube, "abort", name, "-n", namespace).returncode == 0
    wait_for(kube, namespace, name, lambda s: s.get("phase") == "RolledBack", operator=operator)
    assert written(kube, namespace) == (third, r3, V3, 0)
    assert no_workloads(kube, namespace)


def is_paused_at_50(status: dict[str, Any]) -> bool:
    return status.get("phase") == "Paused" and status.get("canaryWeight") == 50


def is_promoted_to(label: str) -> Callable[[dict[str, Any]], bool]:
    return lambda s: s.get("phase") == "Succeeded" and s.get("stableRevision") == label
