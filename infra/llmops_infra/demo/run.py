"""The demo's steps in order (see `llmops_infra.demo`), shown as they run."""

from __future__ import annotations

import contextlib
import json
import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from llmops_infra import cluster, engine
from llmops_infra.charts import CRD_PATH
from llmops_infra.demo.plan import (
    DEFAULT_NAMESPACE,
    EXAMPLE,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    NAME,
    STRICT_SLO,
    Outcome,
    build_demo_manifest,
    build_revision_patch,
    build_routing_table,
    clock,
    describe_progress,
    is_seen,
    progress_reason,
    report_path,
    rollout_outcome,
    unexpected_outcome,
)
from llmops_infra.demo.processes import (
    Kubectl,
    LocalProcess,
    drop_finalizers,
    free_port,
    plugin,
    wait_answering,
)
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings, base_env
from llmops_infra.toolchain import ensure_tools, tool_env

START_TIMEOUT_S = 90.0  # the gateway or the operator answering (imports on 2 busy cores)
FIRST_REVISION_TIMEOUT_S = 180.0
ROLLOUT_TIMEOUT_S = 600.0  # the gate's 15 s run plus Locust's start, on a loaded machine
POLL_S = 1.0


@dataclass(frozen=True)
class DemoResult:
    outcome: Outcome
    reason: str  # the Progressing condition's reason, e.g. LoadTestFailed
    message: str
    report: str  # the gate's report: a local path, or the link status holds
    timeline: Path
    seconds: float  # revision 2's rollout, from the patch to its end


@dataclass
class Demo:
    settings: LocalSettings
    namespace: str
    work_dir: Path
    fail_gate: bool
    console: Console
    processes: list[LocalProcess] = field(default_factory=list)
    kubectl: Kubectl | None = None  # set once the cluster is known

    def say(self, text: str, *, markup: bool = True) -> None:
        self.console.print(text, highlight=False, soft_wrap=True, markup=markup)

    @contextlib.contextmanager
    def phase(self, title: str) -> Iterator[list[str]]:
        """A live line while the phase runs, then one line: done (with notes) or failed."""
        notes: list[str] = []
        try:
            with self.console.status(escape(f"{title} ...")):
                yield notes
        except BaseException:
            self.say(f"[red]✘[/] {escape(title)}")
            raise
        done = title + (f" ({', '.join(notes)})" if notes else "")
        self.say(f"[green]✔[/] {escape(done)}")

    def let_go(self) -> None:
        """Stop the processes the demo started; idempotent. Without the operator nothing
        would remove its finalizer and deleting the namespace by hand would hang, so it goes
        too (the ModelDeployment stays, readable with `kubectl llmops status`)."""
        stopped = [proc.name for proc in reversed(self.processes) if proc.stop()]
        if stopped:
            self.say(f"stopped what the demo started: {', '.join(stopped)}", markup=False)
            if self.kubectl is not None:
                drop_finalizers(self.kubectl, self.namespace)

    def run(self) -> DemoResult:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        try:
            return self._run()
        finally:
            self.let_go()  # on every way out: a failed step, Ctrl-C

    def _run(self) -> DemoResult:
        env = base_env()
        with self.phase("cluster up") as notes:
            ensure_tools(self.settings)
            target = cluster.resolve_target(self.settings)
            if not target.local:
                notes.append(f"existing cluster, context {target.context}")
            elif cluster.status(self.settings).is_healthy:
                notes.append("already running")
            else:
                cluster.up(self.settings, env)
        kube_env = {**tool_env(self.settings, env), "KUBECONFIG": str(target.kubeconfig)}
        kubectl = self.kubectl = Kubectl(kube_env)
        with self.phase("engine up (vLLM on the CPU)") as notes:
            handle = engine.start_engines(self.settings)
            engine.wait_ready(handle)
            vllm = handle.url(engine.GENERATE)
            notes.append(f"{engine.GENERATE_MODEL} at {vllm}")
        with self.phase(f"CRD applied, namespace {self.namespace} made fresh"):
            kubectl.run(
                "apply", "--server-side", "--force-conflicts", "--field-manager=llmops-demo",
                "-f", str(CRD_PATH),
            )  # fmt: skip
            kubectl.run("wait", "--for=condition=Established", "--timeout=60s",
                        "crd/modeldeployments.llmops.dev")  # fmt: skip
            self._fresh_namespace(kubectl)
        gateway = self._start_gateway(vllm, env)
        self._start_operator(kube_env, gateway)
        self.say(
            f"  note: kwok runs no containers, so both revisions' traffic goes to the local "
            f"vLLM ({vllm}); see {self.work_dir / 'routing.yaml'}",
            markup=False,
        )
        return self._ship(kubectl, kube_env)

    def _fresh_namespace(self, kubectl: Kubectl) -> None:
        found = kubectl.run("get", "namespace", self.namespace, "-o", "json", check=False)
        if found:
            labels = json.loads(found)["metadata"].get("labels") or {}
            if labels.get(MANAGED_BY_LABEL) != MANAGED_BY:
                raise LlmopsError(
                    f"namespace {self.namespace}",
                    "exists and was not made by `llmops demo`; it is left alone",
                    "pick another with --namespace",
                )
            drop_finalizers(kubectl, self.namespace)
            kubectl.run("delete", "namespace", self.namespace, "--wait", "--timeout=180s")
        meta = {"name": self.namespace, "labels": {MANAGED_BY_LABEL: MANAGED_BY}}
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}
        kubectl.run("apply", "-f", "-", stdin=json.dumps(ns))

    def _start_gateway(self, vllm: str, env: dict[str, str]) -> str:
        table = self.work_dir / "routing.yaml"
        table.write_text(build_routing_table(NAME, vllm, engine.GENERATE_MODEL))
        port = free_port()
        proc = LocalProcess("gateway", self.work_dir / "gateway.log")
        url = f"http://127.0.0.1:{port}"
        with self.phase(f"gateway at {url} (log {proc.log})"):
            gateway_env = {
                **env, "LLMOPS_GATEWAY_PORT": str(port), "LLMOPS_GATEWAY_LOG_LEVEL": "warning",
                "LLMOPS_GATEWAY_ROUTING_TABLE": str(table),
            }  # fmt: skip
            proc.start([sys.executable, "-m", "llmops_gateway"], gateway_env, "llmops_gateway")
            self.processes.append(proc)
            wait_answering(proc, f"{url}/healthz", START_TIMEOUT_S)
        return url

    def _start_operator(self, kube_env: dict[str, str], gateway: str) -> None:
        proc = LocalProcess("operator", self.work_dir / "operator.log")
        health = f"http://127.0.0.1:{free_port()}/healthz"
        with self.phase(f"operator watching {self.namespace} (log {proc.log})"):
            operator_env = {
                **kube_env,
                "LLMOPS_OPERATOR_TICK_INTERVAL_S": "1",
                "LLMOPS_OPERATOR_SERVE_METRICS": "false",
                "LLMOPS_OPERATOR_REPORT_DIR": str(self.work_dir / "reports"),
                # Gates go through the gateway, the canary pinned: what users would see.
                "LLMOPS_OPERATOR_LOADTEST_GATEWAY_URL": gateway,
            }
            argv = [
                sys.executable, "-m", "kopf", "run", "--standalone", "-n", self.namespace,
                f"--liveness={health}", "-m", "llmops_operator.main",
            ]  # fmt: skip
            proc.start(argv, operator_env, "llmops_operator.main")
            self.processes.append(proc)
            wait_answering(proc, health, START_TIMEOUT_S)

    def _ship(self, kubectl: Kubectl, kube_env: dict[str, str]) -> DemoResult:
        example = self.settings.repo_root / EXAMPLE
        manifest = build_demo_manifest(example.read_text(), fail_gate=self.fail_gate)
        ns = ["-n", self.namespace]
        shown = (
            f"-f {EXAMPLE}" if not self.fail_gate else f"-f - (the example, slos: [{STRICT_SLO}])"
        )
        self.say(f"\n[bold]revision 1[/]  $ kubectl apply {escape(shown)} -n {self.namespace}")
        kubectl.run("apply", *ns, "-f", "-", stdin=json.dumps(manifest))
        first = self._follow(kubectl, "1", FIRST_REVISION_TIMEOUT_S)
        if rollout_outcome(first, "1") is not Outcome.PROMOTED:
            raise LlmopsError(
                "revision 1", f"did not come up: {describe_progress(first)}",
                f"read {self.work_dir / 'operator.log'}",
            )  # fmt: skip
        patch = build_revision_patch("2")
        self.say(
            f"\n[bold]revision 2[/]  $ kubectl patch md {NAME} -n {self.namespace} "
            f"--type merge -p {escape(shlex.quote(patch))}"
        )
        started = time.monotonic()
        kubectl.run("patch", "modeldeployment", NAME, *ns, "--type=merge", "-p", patch)
        final = self._follow(kubectl, "2", ROLLOUT_TIMEOUT_S)
        seconds = time.monotonic() - started
        outcome = rollout_outcome(final, "2")
        assert outcome is not None  # `_follow` returns only once the rollout ended
        self.let_go()  # the rollout is over: nothing else may write to it
        self.say(f"\n$ kubectl llmops status {NAME} -n {self.namespace}", markup=False)
        self.say(plugin(kube_env, "status", NAME, *ns).rstrip(), markup=False)
        page = self.work_dir / "timeline.html"
        self.say(
            f"\n$ kubectl llmops timeline {NAME} -n {self.namespace} --html {page}", markup=False
        )
        self.say(
            plugin(kube_env, "timeline", NAME, *ns, "--html", str(page)).rstrip(), markup=False
        )
        status = final.get("status") or {}
        link = str((status.get("loadTest") or {}).get("reportUrl") or "")
        local = report_path(link)
        result = DemoResult(
            outcome=outcome,
            reason=progress_reason(final),
            message=str(status.get("message") or ""),
            report=str(local) if local is not None else link,
            timeline=page,
            seconds=seconds,
        )
        if unexpected_outcome(outcome, result.reason, fail_gate=self.fail_gate):
            raise LlmopsError(
                "rollout of revision 2",
                f"{outcome} ({result.reason}: {result.message})",
                f"read {self.work_dir / 'operator.log'} and the report {result.report or '-'}",
            )
        return result

    def _follow(self, kubectl: Kubectl, revision: str, timeout: float) -> dict[str, Any]:
        """Poll the ModelDeployment until the rollout of ``revision`` ends, printing each new
        phase or step, with a live line; the processes must stay alive meanwhile."""
        started = time.monotonic()
        last, obj = "", dict[str, Any]()
        with self.console.status("waiting for the operator") as live:
            while time.monotonic() - started < timeout:
                for proc in self.processes:
                    proc.check()
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
            f"read {self.work_dir / 'operator.log'}",
        )


def run_demo(
    settings: LocalSettings,
    console: Console,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    work_dir: Path | None = None,
    fail_gate: bool = False,
) -> DemoResult:
    """Run the demo (see the module docstring); the processes it started are stopped on every
    way out, Ctrl-C included. Raises `LlmopsError` naming the step that failed."""
    folder = work_dir or settings.cache_dir / "demo"
    return Demo(settings, namespace, folder, fail_gate, console).run()
