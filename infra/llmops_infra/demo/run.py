"""The demo's steps in order (see `llmops_infra.demo`), shown as they run."""

from __future__ import annotations

import contextlib
import json
import shlex
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from llmops_infra import cluster
from llmops_infra.charts import local, local_install
from llmops_infra.cluster import node_spec
from llmops_infra.demo.plan import (
    CORPUS,
    DEFAULT_NAMESPACE,
    NAME,
    QUESTION,
    REGISTERED_MODEL,
    RELEASE_ALIAS,
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
    is_seen,
    progress_reason,
    rollout_outcome,
    unexpected_outcome,
)
from llmops_infra.demo.processes import (
    Kubectl,
    SteadyLoad,
    alias_version,
    drop_finalizers,
    plugin,
    port_forward,
    register_versions,
    start_registry,
    stop_registry,
)
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings, base_env
from llmops_infra.toolchain import ensure_tools, tool_env

RELEASE = "llmops"  # `llmops local install`'s release: the overlay names its Services after it
GATEWAY_SVC, GATEWAY_PORT = f"svc/{RELEASE}-rag-gateway", 8080
PROMETHEUS_SVC, PROMETHEUS_PORT = f"svc/{RELEASE}-prometheus", 9090
RELEASE_MODEL = f"deployment/{RELEASE}-llm-inference"
FIRST_REVISION_TIMEOUT_S = 900.0  # a cold Gemma load on 2 busy cores
ROLLOUT_TIMEOUT_S = 900.0  # revision 2's load, the gate Job, analysis, pause
ALIAS_TIMEOUT_S = 180.0  # the kubelet's refresh of a mounted ConfigMap, on a busy node
POLL_S = 1.0
ALIAS_RECORD_TIMEOUT_S = 60.0  # the operator records the release a tick after Succeeded


def registry_folder(settings: LocalSettings) -> Path:
    """The demo's MLflow store and pid file (one per machine, whatever the work dir)."""
    return settings.cache_dir / "demo" / "mlflow"


@dataclass(frozen=True)
class DemoResult:
    outcome: Outcome
    reason: str  # the Progressing condition's reason, e.g. LoadTestFailed
    message: str
    report: str  # where the gate's report is: a file in the work dir, or the link in status
    timeline: Path
    seconds: float  # revision 2's rollout, from the patch to its end
    load: Tally  # the steady client load during revision 2's rollout
    answer: str  # the RAG answer, with its citations
    registry: str  # the MLflow tracking server's URL
    released_version: str  # the version the registry's release alias names at the end ('' none)


@dataclass
class Demo:
    settings: LocalSettings
    namespace: str
    work_dir: Path
    fail_gate: bool
    console: Console

    def say(self, text: str, *, markup: bool = True) -> None:
        self.console.print(text, highlight=False, soft_wrap=True, markup=markup)

    @contextlib.contextmanager
    def phase(self, title: str) -> Iterator[list[str]]:
        """A live line while the phase runs, then one line: done (with notes) or failed."""
        notes: list[str] = []
        started = time.monotonic()
        try:
            with self.console.status(escape(f"{title} ...")):
                yield notes
        except BaseException:
            self.say(f"[red]✘[/] {escape(title)}")
            raise
        notes.append(f"{time.monotonic() - started:.0f} s")
        self.say(f"[green]✔[/] {escape(title)} ({escape(', '.join(notes))})")

    def run(self) -> DemoResult:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        kubectl, kube_env = self._cluster_up()
        self._install(kubectl, kube_env)
        overlay = yaml.safe_load(
            (self.settings.repo_root / "charts" / "llmops-stack" / local.OVERLAY_FILE).read_text()
        )
        registry = self._registry(overlay)
        md = build_demo_deployment(overlay, fail_gate=self.fail_gate, tracking_uri=registry)
        self._revision_1(kubectl, md)
        with port_forward(kubectl, self.namespace, GATEWAY_SVC, GATEWAY_PORT) as gateway:
            self._wait_alias(gateway)
            answer = self._rag(gateway)
            load = SteadyLoad(gateway, NAME)
            load.start()
            try:
                final, seconds = self._revision_2(kubectl, md)
                self._drain(kubectl, final)
            finally:
                tally = load.stop()
        self.say(f"  steady client load through the gateway: {tally.summary()}", markup=False)
        return self._final_screen(kubectl, kube_env, final, seconds, tally, answer, registry)

    # -- the steps -----------------------------------------------------------------------------

    def _cluster_up(self) -> tuple[Kubectl, dict[str, str]]:
        env = base_env()
        with self.phase("cluster up with the real node") as notes:
            ensure_tools(self.settings)
            target = cluster.resolve_target(self.settings)
            if not target.local or not self.settings.real_node:
                raise LlmopsError(
                    "llmops demo",
                    "runs on the local cluster with its real node (pods run for real)",
                    "unset LLMOPS_USE_EXISTING_CLUSTER and LLMOPS_REAL_NODE",
                )
            if cluster.status(self.settings).is_healthy:
                notes.append("already running")
            else:
                cluster.up(self.settings, env)
        kube_env = {**tool_env(self.settings, env), "KUBECONFIG": str(target.kubeconfig)}
        return Kubectl(kube_env), kube_env

    def _install(self, kubectl: Kubectl, kube_env: dict[str, str]) -> None:
        target = local_install.LocalTarget(Path(kube_env["KUBECONFIG"]), kube_env)
        self.say(
            f"\n[bold]the stack[/]  $ llmops local install  (helm upgrade --install {RELEASE} "
            f"charts/llmops-stack -f charts/llmops-stack/{local.OVERLAY_FILE})"
        )
        with self.phase("images on the node, the stack installed and Ready") as notes:
            done = local_install.install(
                self.settings, target, namespace=self.namespace, release=RELEASE,
                report=lambda line: self.say(f"  {line}", markup=False),
            )  # fmt: skip
            notes.append(f"every pod Ready {done.seconds_to_ready:.0f} s after helm install")
        # Two revisions of Gemma side by side need the memory the release's own copy holds.
        with self.phase(
            f"$ kubectl scale {RELEASE_MODEL} --replicas=0 (the release's first model steps "
            "aside: two revisions side by side need its memory on 24 GiB)"
        ):
            kubectl.run("scale", "-n", self.namespace, RELEASE_MODEL, "--replicas=0")
            self._wait_gone(kubectl, f"app.kubernetes.io/instance={RELEASE},"
                            "app.kubernetes.io/name=llm-inference", 180)  # fmt: skip

    def _registry(self, overlay: dict[str, Any]) -> str:
        """MLflow with versions 1 and 2 of the model registered: a team's existing tracking
        server outside the cluster, on the node's address where the operator's pod reaches
        it."""
        versions = build_registered_versions(overlay)
        numbers = " and ".join(v.version for v in versions)
        self.say(f"\n[bold]the model registry[/]  MLflow, {REGISTERED_MODEL} versions "
                 f"{numbers} (the same weights, {versions[0].source})")  # fmt: skip
        with self.phase("MLflow tracking server up, both versions registered") as notes:
            server = start_registry(self.settings, registry_folder(self.settings),
                                    node_spec.NODE_IP)  # fmt: skip
            register_versions(server.url, REGISTERED_MODEL, versions)
            notes.append(f"{server.url}, up in {server.started_in_s:.0f} s")
        return server.url

    def _released_version(self, registry: str, expected: str) -> str:
        """The version the release alias names, once it names ``expected`` (the operator
        moves it a tick after the rollout succeeded) or after a minute."""
        deadline = time.monotonic() + ALIAS_RECORD_TIMEOUT_S
        while True:
            found = alias_version(registry, REGISTERED_MODEL, RELEASE_ALIAS)
            if found == expected or time.monotonic() > deadline:
                return found
            time.sleep(2)

    def _previous_demo(self, kubectl: Kubectl, md: dict[str, Any]) -> None:
        """The ModelDeployment a previous demo left: kept when its stable is this revision 1
        (no second cold load), else deleted with its pods."""
        raw = kubectl.run("get", "modeldeployment", NAME, "-n", self.namespace, "-o", "json",
                          check=False)  # fmt: skip
        if not raw.strip():
            return
        if can_keep_revision_1(json.loads(raw), md):
            self.say(f"  the previous demo's {NAME} has this revision 1 as its stable: kept, "
                     "its pod serves on (the apply below sets this run's steps)",
                     markup=False)  # fmt: skip
            return
        with self.phase(f"the previous demo's ModelDeployment {NAME} deleted"):
            kubectl.run("delete", "modeldeployment", NAME, "-n", self.namespace,
                        "--timeout=300s")  # fmt: skip
            self._wait_gone(kubectl, f"llmops.dev/modeldeployment={NAME}", 300)

    def _revision_1(self, kubectl: Kubectl, md: dict[str, Any]) -> None:
        self._previous_demo(kubectl, md)
        manifest = self.work_dir / "chat.yaml"
        manifest.write_text(yaml.safe_dump(md, sort_keys=False))
        self.say(f"\n[bold]revision 1[/]  $ kubectl apply -n {self.namespace} -f {manifest}")
        kubectl.run("apply", "-n", self.namespace, "-f", str(manifest))
        first = self._follow(kubectl, "1", FIRST_REVISION_TIMEOUT_S)
        if rollout_outcome(first, "1") is not Outcome.PROMOTED:
            raise LlmopsError(
                "revision 1", f"did not come up: {describe_progress(first)}",
                f"kubectl -n {self.namespace} describe modeldeployment {NAME}; "
                f"kubectl -n {self.namespace} logs deploy/{RELEASE}-llmops-operator",
            )  # fmt: skip

    def _wait_alias(self, gateway: str) -> None:
        """Until the gateway serves alias ``chat``: the operator has written it into the
        routing table, and the kubelet refreshes the gateway's mounted copy within about a
        minute."""
        title = f"the gateway serves alias {NAME} (it rereads its mounted routing table)"
        with self.phase(title):
            deadline = time.monotonic() + ALIAS_TIMEOUT_S
            while True:
                with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                    listed = httpx.get(f"{gateway}/v1/models", timeout=10).json()["data"]
                    if any(model.get("id") == NAME for model in listed):
                        return
                if time.monotonic() > deadline:
                    raise LlmopsError(
                        title, f"alias {NAME} not served after {ALIAS_TIMEOUT_S:.0f} s",
                        f"kubectl -n {self.namespace} get configmap llmops-routing -o yaml; "
                        f"kubectl -n {self.namespace} logs deploy/{RELEASE}-rag-gateway",
                    )  # fmt: skip
                time.sleep(2)

    def _rag(self, gateway: str) -> str:
        folder = self.settings.repo_root / CORPUS
        pages = {
            p.name: p.read_text() for p in sorted(folder.glob("*.md")) if p.name != "README.md"
        }
        self.say(f"\n[bold]RAG[/]  {len(pages)} pages of {CORPUS} through the gateway pod "
                 "into the Milvus pod", markup=True)  # fmt: skip
        progress = Progress(
            TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=self.console, transient=True,
        )  # fmt: skip
        chunks = 0
        with progress, httpx.Client(base_url=gateway, timeout=300) as client:
            task = progress.add_task("ingesting", total=len(pages))
            for name, text in pages.items():
                progress.update(task, description=f"ingesting {name}")
                response = client.post("/v1/ingest", json=build_ingest_request({name: text}))
                _check(response, "ingest through the gateway", "POST /v1/ingest")
                chunks = int(response.json().get("collection_chunks", chunks))
                progress.advance(task)
        self.say(f"  [green]✔[/] {len(pages)} pages ingested ({chunks} chunks in the collection)")
        self.say(f"  $ curl -s {gateway}/v1/rag/query -d '{{\"model\": \"{NAME}\", \"query\": "
                 f"\"{QUESTION}\"}}'", markup=False)  # fmt: skip
        response = httpx.post(
            f"{gateway}/v1/rag/query",
            json={"model": NAME, "query": QUESTION, "max_tokens": 32, "temperature": 0},
            timeout=300,
        )
        _check(response, "a RAG question through the gateway", "POST /v1/rag/query")
        body = response.json()
        cited = ", ".join(
            f"[{i}] {c.get('document')}" for i, c in enumerate(body.get("citations", []), 1)
        )
        answer = f"{body.get('answer', '').strip()}  (citations: {cited or 'none'})"
        self.say(f"  answer: {answer}", markup=False)
        return answer

    def _revision_2(self, kubectl: Kubectl, md: dict[str, Any]) -> tuple[dict[str, Any], float]:
        patch = build_revision_patch(md)
        self.say(
            f"\n[bold]revision 2[/]  $ kubectl patch modeldeployment {NAME} -n {self.namespace} "
            f"--type merge -p {escape(shlex.quote(patch))}"
        )
        self.say("  other engine flags (--max-num-seqs=4) and retrieval settings (topK 2); "
                 "a steady client sends chat requests through the gateway meanwhile",
                 markup=False)  # fmt: skip
        started = time.monotonic()
        kubectl.run("patch", "modeldeployment", NAME, "-n", self.namespace, "--type=merge",
                    "-p", patch)  # fmt: skip
        final = self._follow(kubectl, "2", ROLLOUT_TIMEOUT_S)
        seconds = time.monotonic() - started
        outcome = rollout_outcome(final, "2")
        assert outcome is not None  # `_follow` returns only once the rollout ended
        if unexpected_outcome(outcome, progress_reason(final), fail_gate=self.fail_gate):
            self._explain_gate(kubectl, final)
            status = final.get("status") or {}
            raise LlmopsError(
                "rollout of revision 2",
                f"{outcome} ({progress_reason(final)}: {status.get('message', '')})",
                f"kubectl llmops status {NAME} -n {self.namespace}; "
                f"kubectl -n {self.namespace} logs deploy/{RELEASE}-llmops-operator",
            )
        return final, seconds

    def _explain_gate(self, kubectl: Kubectl, final: dict[str, Any]) -> None:
        """What a person needs when the gate failed unexpectedly: its Markdown summary and the
        last lines of its Job's log (the errors the load test saw)."""
        job = gate_job(final)
        if not job:
            return
        summary = self._gate_report(kubectl, final)
        if summary and Path(summary).is_file():
            self.say(f"  the gate's summary ({summary}):", markup=False)
            self.say(Path(summary).read_text(), markup=False)
        log = kubectl.run("logs", f"job/{job}", "-n", self.namespace, "--tail=40", check=False)
        if log.strip():
            self.say(f"  $ kubectl logs job/{job} -n {self.namespace} --tail=40", markup=False)
            self.say(log.rstrip(), markup=False)

    def _drain(self, kubectl: Kubectl, final: dict[str, Any]) -> None:
        """Keep the client load on until the revision that lost its traffic has no pod left:
        that is when a router still on the old weights would fail a request."""
        status = final.get("status") or {}
        keep = status.get("stableHash")
        title = "the old revision's pod removed after its scale-down delay"
        with self.phase(title) as notes:
            deadline = time.monotonic() + 300
            while True:
                pods = self._revision_pods(kubectl)
                others = [p for p in pods if p[1] != keep]
                if not others:
                    break
                if time.monotonic() > deadline:
                    raise LlmopsError(title, f"pods still there: {others}",
                                      f"kubectl -n {self.namespace} get pods")  # fmt: skip
                time.sleep(2)
            notes.append(f"{len(self._revision_pods(kubectl))} revision pod left")

    def _final_screen(  # noqa: PLR0917 -- what the run gathered, step by step
        self,
        kubectl: Kubectl,
        kube_env: dict[str, str],
        final: dict[str, Any],
        seconds: float,
        tally: Tally,
        answer: str,
        registry: str,
    ) -> DemoResult:
        ns = ["-n", self.namespace]
        self.say(f"\n$ kubectl llmops status {NAME} -n {self.namespace}", markup=False)
        self.say(plugin(kube_env, "status", NAME, *ns).rstrip(), markup=False)
        page = self.work_dir / "timeline.html"
        plugin(kube_env, "timeline", NAME, *ns, "--html", str(page))
        report = self._gate_report(kubectl, final)
        with port_forward(kubectl, self.namespace, PROMETHEUS_SVC, PROMETHEUS_PORT) as prom:
            targets = _prometheus_value(prom, 'count(up{job="pods"} == 1)')
            ttft = _prometheus_value(
                prom,
                "histogram_quantile(0.95, sum by (le) (rate("
                f'llmops_gateway_time_to_first_token_seconds_bucket{{model="{NAME}"}}[10m])))',
            )
        self.say(
            f"  Prometheus (in the cluster): {targets} pods scraped; the gateway's TTFT p95 "
            f"for {NAME} over 10 minutes: {ttft} s",
            markup=False,
        )
        outcome = rollout_outcome(final, "2") or Outcome.FAILED
        released = self._released_version(registry, "2" if outcome is Outcome.PROMOTED else "1")
        self.say(
            f"  MLflow ({registry}): models:/{REGISTERED_MODEL}@{RELEASE_ALIAS} is version "
            f"{released or 'unset'} (the operator moves the alias when a rollout succeeds)",
            markup=False,
        )
        status = final.get("status") or {}
        return DemoResult(
            outcome=outcome,
            reason=progress_reason(final),
            message=str(status.get("message") or ""),
            report=report,
            timeline=page,
            seconds=seconds,
            load=tally,
            answer=answer,
            registry=registry,
            released_version=released,
        )

    # -- reads ---------------------------------------------------------------------------------

    def _gate_report(self, kubectl: Kubectl, final: dict[str, Any]) -> str:
        """The gate's verdict ConfigMap (its Markdown summary) saved in the work dir."""
        job = gate_job(final)
        if not job:
            return ""
        raw = kubectl.run("get", "configmap", f"{job}-verdict", "-n", self.namespace, "-o",
                          "json", check=False)  # fmt: skip
        if not raw:
            return str(((final.get("status") or {}).get("loadTest") or {}).get("reportUrl", ""))
        data = json.loads(raw).get("data") or {}
        path = self.work_dir / "load-test-summary.md"
        path.write_text(data.get("summary.md") or data.get("headline", ""))
        return str(path)

    def _revision_pods(self, kubectl: Kubectl) -> list[tuple[str, str]]:
        raw = kubectl.run("get", "pods", "-n", self.namespace, "-l",
                          f"llmops.dev/modeldeployment={NAME}", "-o", "json")  # fmt: skip
        return [
            (p["metadata"]["name"], p["metadata"]["labels"].get("llmops.dev/revision-hash", ""))
            for p in json.loads(raw)["items"]
        ]

    def _wait_gone(self, kubectl: Kubectl, selector: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while kubectl.run("get", "pods", "-n", self.namespace, "-l", selector, "-o", "name"):
            if time.monotonic() > deadline:
                raise LlmopsError(
                    f"pods {selector}",
                    f"still there after {timeout:.0f} s",
                    f"kubectl -n {self.namespace} get pods -l {selector}",
                )
            time.sleep(2)

    def _follow(self, kubectl: Kubectl, revision: str, timeout: float) -> dict[str, Any]:
        """Poll the ModelDeployment until the rollout of ``revision`` ends, printing each new
        phase or step, with a live line."""
        started = time.monotonic()
        last, obj = "", dict[str, Any]()
        with self.console.status("waiting for the operator") as live:
            while time.monotonic() - started < timeout:
                raw = kubectl.run("get", "modeldeployment", NAME, "-n", self.namespace,
                                  "-o", "json")  # fmt: skip
                obj = dict(json.loads(raw))
                elapsed = clock(time.monotonic() - started)
                if not is_seen(obj):  # the status still tells of the previous revision
                    live.update(f"revision {revision}  +{elapsed}  waiting for the operator")
                    time.sleep(POLL_S)
                    continue
                line = describe_progress(obj)
                if line != last:
                    self.say(f"  +{elapsed}  {line}", markup=False)
                    last = line
                live.update(escape(f"revision {revision}  +{elapsed}  {line}"))
                if rollout_outcome(obj, revision) is not None:
                    return obj
                time.sleep(POLL_S)
        raise LlmopsError(
            f"rollout of revision {revision}",
            f"not over after {timeout:.0f} s ({last})",
            f"kubectl llmops status {NAME} -n {self.namespace}; "
            f"kubectl -n {self.namespace} logs deploy/{RELEASE}-llmops-operator",
        )


def _check(response: httpx.Response, piece: str, what: str) -> None:
    if response.status_code == 200:
        return
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:200]
    raise LlmopsError(
        piece, f"{what}: HTTP {response.status_code}: {message}",
        f"kubectl -n {DEFAULT_NAMESPACE} logs deploy/{RELEASE}-rag-gateway",
    )  # fmt: skip


def _prometheus_value(base: str, query: str) -> str:
    try:
        found = httpx.get(f"{base}/api/v1/query", params={"query": query}, timeout=10).json()
        result = found["data"]["result"]
        return f"{float(result[0]['value'][1]):.3g}" if result else "no data"
    except (httpx.HTTPError, ValueError, KeyError, IndexError) as err:
        return f"unreadable ({type(err).__name__})"


def run_demo(
    settings: LocalSettings,
    console: Console,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    work_dir: Path | None = None,
    fail_gate: bool = False,
) -> DemoResult:
    """Run the demo (see the package docstring). Raises `LlmopsError` naming the step that
    failed and what to read."""
    folder = work_dir or settings.cache_dir / "demo"
    return Demo(settings, namespace, folder, fail_gate, console).run()


def stop_demo(
    settings: LocalSettings,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    keep_cluster: bool = False,
    report: Callable[[str], None],
) -> None:
    """`llmops demo down`: the demo's ModelDeployment (its operator takes its pods and route
    away), both releases and the namespace, then the local cluster unless ``keep_cluster``."""
    if not cluster.status(settings).is_healthy:
        report("the local cluster is not running: nothing else to stop")
        return
    env = base_env()
    ensure_tools(settings)
    target = cluster.resolve_target(settings)
    kube_env = {**tool_env(settings, env), "KUBECONFIG": str(target.kubeconfig)}
    kubectl = Kubectl(kube_env)
    deleted = kubectl.run("delete", "modeldeployment", NAME, "-n", namespace,
                          "--ignore-not-found", "--timeout=180s", check=False)  # fmt: skip
    if deleted.strip():
        report(f"ModelDeployment {NAME} deleted")
    drop_finalizers(kubectl, namespace)  # any the operator could not release
    local_install.uninstall(local_install.LocalTarget(target.kubeconfig, kube_env),
                            namespace=namespace, release=RELEASE)  # fmt: skip
    report(f"release {RELEASE} and namespace {namespace} removed")
    if stop_registry(registry_folder(settings)):
        report("the demo's MLflow tracking server stopped")
    if not keep_cluster:
        cluster.down(settings)
        report("local cluster stopped (the node left nothing behind)")
