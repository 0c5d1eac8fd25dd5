"""The evaluation gate end to end: operator -> ``llmops-loadtest eval gate`` -> the llmops
gateway with the canary pinned -> retrieval from Milvus (Lite) and answers from real vLLM on
the CPU; the verdict decides the rollout.

What is real: the API server, the operator process, the evaluation run, the gateway, Milvus
Lite, the MiniLM embedder and Gemma 3 270M. What stands in: the revision's pods run on kwok
(no container starts), so a thread copies the routing table the operator writes into the
gateway's file with each of this alias's backend URLs swapped for the local vLLM. Everything
else in the table is the operator's, the per-revision ``rag`` settings included: the broken
candidate's wrong collection reaches the gateway the way the spec put it there.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from llmops.app import app
from llmops_contracts.errors import LlmopsError
from llmops_infra.engine import EngineHandle
from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import Operator
from tests.cluster.operator.helpers import (
    apply_example,
    plugin,
    routing_table,
    status_of,
    wait_for,
    weights,
    write_routing_table,
)
from tests.integration.gateway.procs import Proc, gateway, write_table

EXAMPLES = Path(__file__).parents[3] / "examples"
MINILM = "all-minilm-l6-v2"
DECOY = "The cafeteria serves lunch from noon. Bicycles are parked in the basement."
# Three questions of the shipped golden set, one per page: short on the CPU (~9 tokens/s).
GOLDEN_IDS = ("backup-retention", "log-retention", "page-ack")


def golden_subset() -> str:
    shipped = yaml.safe_load((EXAMPLES / "evals" / "rag-golden.yaml").read_text())
    items = [item for item in shipped["items"] if item["id"] in GOLDEN_IDS]
    return yaml.safe_dump({"version": "cluster-test", "items": items}, sort_keys=False)


class TableMirror:
    """Copies the operator's routing table (ConfigMap) into the gateway's file every 0.5 s,
    this alias's backends pointed at the local vLLM (the kwok pods serve nothing)."""

    def __init__(self, kube: Kube, namespace: str, path: Path, url: str, model: str) -> None:
        self.kube, self.namespace, self.path = kube, namespace, path
        self.url, self.model = url, model
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        # A changed table reaches the gateway this long after it was first seen, as a mounted
        # ConfigMap reaches a pod late (the kubelet's sync).
        self.lag_s = 0.0

    def _read(self) -> dict[str, Any] | None:
        try:
            return routing_table(self.kube, self.namespace)
        except (AssertionError, KeyError, ValueError):  # not written yet
            return None

    def _run(self) -> None:
        last: Any = None
        pending: tuple[Any, float] | None = None  # a changed table and when it was first seen
        while not self.stop.wait(0.5):
            table = self._read()
            if table is None:
                continue
            routes = copy.deepcopy(table.get("routes") or {})
            for backend in (routes.get(self.namespace) or {}).get("backends", []):
                backend["url"], backend["model"] = self.url, self.model
            if routes == last:
                continue
            if pending is None or pending[0] != routes:
                pending = (routes, time.monotonic())
            if time.monotonic() - pending[1] >= self.lag_s:
                write_table(self.path, routes, version=str(table.get("version", "1")))
                last, pending = routes, None


@pytest.fixture
def rag_gateway(
    engine: EngineHandle, kube: Kube, namespace: str, tmp_path: Path
) -> Iterator[tuple[Proc, TableMirror]]:
    """The real gateway over Milvus Lite with the handbook and a decoy collection; the
    namespace's routing ConfigMap starts with the embedder alias the spec's rag names."""
    generate, embed = engine.url("generate"), engine.url("embed")
    model = httpx.get(f"{generate}/models", timeout=10).json()["data"][0]["id"]
    embedder = {"kind": "embeddings", "backends": [{"name": "minilm", "url": embed,
                                                    "model": MINILM}]}  # fmt: skip
    write_routing_table(kube, namespace, {MINILM: embedder})
    table = write_table(tmp_path / "routing.json", {MINILM: embedder})
    with gateway(
        tmp_path, routing_table=table, routing_poll_interval_s=0.2,
        milvus_uri=tmp_path / "rag.db", default_embedder=MINILM,
    ) as proc:  # fmt: skip
        pages = [
            {"name": p.name, "text": p.read_text()}
            for p in sorted((EXAMPLES / "corpus").glob("*.md"))
            if p.name != "README.md"
        ]
        for collection, documents in (
            ("handbook", pages),
            ("decoy", [{"name": "cafeteria.md", "text": DECOY}]),
        ):
            response = httpx.post(
                proc.url + "/v1/ingest",
                json={"collection": collection, "documents": documents},
                timeout=120,
            )
            assert response.status_code == 200, response.text
        mirror = TableMirror(kube, namespace, table, generate, model)
        mirror.thread.start()
        try:
            yield proc, mirror
        finally:
            mirror.stop.set()
            mirror.thread.join(timeout=5)


@pytest.fixture
def operator_extra_env(rag_gateway: tuple[Proc, TableMirror]) -> dict[str, str]:
    return {"LLMOPS_OPERATOR_LOADTEST_GATEWAY_URL": rag_gateway[0].url}


def start_evaluated_canary(kube: Kube, namespace: str, operator: Operator, collection: str) -> str:
    """The example as shipped, its golden set a ConfigMap; revision 2 reads ``collection``."""
    golden = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "rag-golden"},
        "data": {"golden.yaml": golden_subset()},
    }
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(golden))
    name = apply_example(kube, namespace, "canary-evaluated.yaml")
    wait_for(kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=operator)
    patch = {"spec": {"model": {"revision": "2"}, "route": {"rag": {"collection": collection}}}}
    kube.kubectl(
        "patch", "modeldeployment", name, "-n", namespace, "--type=merge", "-p", json.dumps(patch)
    )
    return name


def report_of(status: dict[str, Any]) -> dict[str, Any]:
    path = Path(urlparse(status["evaluation"]["reportUrl"]).path)
    assert path.name == "report.json" and path.is_file(), status["evaluation"]
    report: dict[str, Any] = json.loads(path.read_text())
    return report


def test_a_candidate_reading_the_wrong_collection_fails_the_evaluation_and_is_rolled_back(
    kube: Kube, namespace: str, operator: Operator, rag_gateway: tuple[Proc, TableMirror]
) -> None:
    name = start_evaluated_canary(kube, namespace, operator, "decoy")
    stable_before = status_of(kube, namespace, name)["stableHash"]
    rolled = wait_for(
        kube,
        namespace,
        name,
        lambda s: s.get("phase") == "RolledBack" or s.get("stableRevision") == "2",
        timeout=240,
        operator=operator,
    )
    assert rolled["phase"] == "RolledBack", rolled["message"]
    assert rolled["stableHash"] == stable_before and rolled["canaryWeight"] == 0
    assert weights(kube, namespace).get("canary", 0) == 0
    evaluation = rolled["evaluation"]
    assert evaluation["verdict"] == "Failed" and evaluation["step"] == 1
    # The reason names the step and every threshold missed, with the measured value.
    assert rolled["message"].startswith("step 2/3: FAIL: rag hit_rate 0.00 < 0.8"), rolled
    assert "rag recall_at_k 0.00 < 0.8" in rolled["message"]
    assert "rag mrr 0.00 < 0.6" in rolled["message"]
    progressing = next(c for c in rolled["conditions"] if c["type"] == "Progressing")
    assert progressing["reason"] == "EvaluationFailed"
    report = report_of(rolled)
    metrics = report["rag"]["metrics"]
    # Answered, not errored: the failure is the retrieval's (the decoy page every time).
    assert metrics["items"] == len(GOLDEN_IDS) and metrics["errors"] == 0
    assert metrics["hit_rate"] == 0 and metrics["recall_at_k"] == 0 and metrics["mrr"] == 0
    assert {d for r in report["rag"]["results"] for d in r["retrieved"]} == {"cafeteria.md"}
    assert report["seed"] == 7 and report["rag"]["seed"] == 7
    shown = plugin(kube, "status", name, "-n", namespace).stdout
    assert f"Evaluation: {evaluation['name']} Failed  FAIL: rag hit_rate 0.00 < 0.8" in shown
    events = kube.kubectl(
        "get", "events", "-n", namespace, "--field-selector", "reason=EvaluationFailed",
        "-o", "name",
    ).stdout  # fmt: skip
    assert events.strip(), "no EvaluationFailed event"


def replay(kube: Kube, name: str, namespace: str, target: str) -> Result:
    """`llmops release replay md/NAME` in-process (its kubectl calls are real)."""
    return CliRunner().invoke(
        app,
        ["release", "replay", f"md/{name}", "-n", namespace, "--target", target],
        env={"KUBECONFIG": str(kube.kubeconfig)},
    )


def test_a_passed_evaluation_is_in_the_release_manifest_and_replays_to_the_same_metrics(
    kube: Kube, namespace: str, operator: Operator, rag_gateway: tuple[Proc, TableMirror]
) -> None:
    proc, mirror = rag_gateway
    name = start_evaluated_canary(kube, namespace, operator, "handbook")
    # The gateway gets each new table 10 s late: the evaluation, pinned to the canary, waits
    # until the gateway serves the table with the canary at its weight (verifyWeight).
    mirror.lag_s = 10.0
    waiting = wait_for(
        kube,
        namespace,
        name,
        lambda s: "waiting for the gateway to serve routing table" in (s.get("message") or ""),
        timeout=120,
        operator=operator,
    )
    assert waiting["message"].startswith("step 2/3: evaluation running: waiting for the gateway")
    released = wait_for(
        kube,
        namespace,
        name,
        lambda s: (
            s.get("phase") == "RolledBack"
            or (
                s.get("stableRevision") == "2"
                and (s.get("releaseManifest") or {}).get("hash") == s.get("stableHash")
            )
        ),
        timeout=240,
        operator=operator,
    )
    assert released["phase"] == "Succeeded", released["message"]
    evaluation = released["evaluation"]
    assert evaluation["verdict"] == "Passed", evaluation
    (record,) = evaluation["evaluations"]
    assert record["kind"] == "rag" and record["dataset"] == "configmap:rag-golden/golden.yaml"
    assert (record["seed"], record["topK"], record["maxTokens"]) == (7, 2, 6)
    assert record["metrics"]["items"] == len(GOLDEN_IDS) and record["metrics"]["errors"] == 0
    assert record["metrics"]["hit_rate"] == 1.0  # the right collection: every page found
    cm = json.loads(
        kube.kubectl(
            "get", "configmap", released["releaseManifest"]["configMap"], "-n", namespace,
            "-o", "json",
        ).stdout
    )  # fmt: skip
    manifest = json.loads(cm["data"]["manifest.json"])
    assert manifest["evaluations"] == [record]
    unverified = kube.kubectl(
        "get", "events", "-n", namespace, "--field-selector", "reason=GatewayTableNotVerified",
        "-o", "name",
    ).stdout  # fmt: skip
    assert not unverified.strip(), "the run started before the gateway served the table"

    # Run again through the real gateway (now serving revision 2 as the stable), the golden
    # set read back from its ConfigMap: every deterministic metric exactly as recorded.
    again = replay(kube, name, namespace, proc.url)
    assert again.exit_code == 0, again.output
    assert (
        f"rag: {len(record['metrics'])} metrics reproduced exactly (seed 7, dataset "
        "cluster-test)" in again.output
    )

    # The golden set edited since the release: refused before any question is asked.
    edited = golden_subset().replace("cluster-test", "cluster-test-edited")
    patch = {"data": {"golden.yaml": edited}}
    kube.kubectl(
        "patch", "configmap", "rag-golden", "-n", namespace, "--type=merge", "-p",
        json.dumps(patch),
    )  # fmt: skip
    refused = replay(kube, name, namespace, proc.url)
    assert isinstance(refused.exception, LlmopsError), refused.output  # the CLI exits 2
    said = str(refused.exception)
    assert said.startswith("configmap:rag-golden/golden.yaml: has SHA-256 ")
    assert f"not the {record['datasetSha256']} of the rag dataset 'cluster-test'" in said
    assert "restore the ConfigMap's key as it was when the release was evaluated" in said
