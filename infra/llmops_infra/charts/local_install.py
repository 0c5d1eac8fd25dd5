"""`llmops local install`: the whole stack on the local cluster's real node, as a platform team
would install it (I/O shell around `llmops_infra.charts.local`).

Steps: our images built (cached) and imported into the node's containerd; a namespace that
enforces Pod Security "restricted"; the engine's claims; then the umbrella chart with the local
overlay (its embedder, llm-inference a second time, serves MiniLM), `--wait`.
Every step is idempotent, so a second run upgrades in place.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from llmops_infra import images
from llmops_infra.charts import local
from llmops_infra.charts.layout import CRD_PATH
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings

RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}

Report = Callable[[str], None]


@dataclass(frozen=True)
class LocalTarget:
    """How to reach the local cluster: its kubeconfig and an env with helm and kubectl."""

    kubeconfig: Path
    env: Mapping[str, str]


@dataclass(frozen=True)
class LocalInstall:
    namespace: str
    release: str
    seconds_to_ready: float  # from the first `helm upgrade --install` to every pod Ready


def _run(target: LocalTarget, argv: list[str], what: str, stdin: str | None = None) -> str:
    try:
        done = subprocess.run(
            [*argv, f"--kubeconfig={target.kubeconfig}"],
            capture_output=True,
            text=True,
            env=dict(target.env),
            input=stdin,
            check=False,
            timeout=1800,
        )
    except subprocess.TimeoutExpired as err:
        raise LlmopsError(what, "took over 30 minutes") from err
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise LlmopsError(what, " | ".join(tail) or f"exit {done.returncode}")
    return done.stdout


def apply(target: LocalTarget, objects: list[dict[str, Any]], what: str) -> None:
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    _run(target, ["kubectl", "apply", "-f", "-"], what, stdin=body)


def restricted_namespace(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": dict(RESTRICTED)},
    }


def prepare(
    settings: LocalSettings, target: LocalTarget, namespace: str, report: Report
) -> dict[str, str]:
    """Images on the node, the namespace and the engine's claims; returns each image's
    content key by name (`image_annotations` turns them into pod annotations)."""
    built = images.build_images(settings)
    images.load([b.archive for b in built], settings.containerd_socket)
    report(f"{len(built)} images on the node")
    mounts = [local.Mount(h, PurePosixPath(c)) for h, c in images.engine_mounts(settings)]
    volumes = local.build_engine_volumes(mounts, namespace)
    apply(target, [restricted_namespace(namespace), *volumes], "namespace and engine claims")
    report(f"namespace {namespace} (Pod Security restricted), {len(mounts)} engine claims")
    # Helm installs a chart's crds/ only when they are missing and never upgrades them: this
    # checkout's ModelDeployment CRD is applied as the operator chart's NOTES tell an upgrade.
    _run(target, ["kubectl", "apply", "--server-side", "--force-conflicts", "-f", str(CRD_PATH)],
         "apply the ModelDeployment CRD")  # fmt: skip
    return {b.name: b.key for b in built}


# The components whose pods run an image of ours, by chart key of the umbrella.
_IMAGE_OF = {
    "rag-gateway": "rag-gateway",
    "llmops-operator": "llmops-operator",
    "milvus": "milvus",
    "llm-inference": "vllm-cpu",
    "embedder": "vllm-cpu",
}


def image_annotations(keys: dict[str, str]) -> list[str]:
    """``--set`` flags that put each image's content key on its pods: a rebuilt image (same
    tag, never pulled) then rolls its pods, as a new digest would in a registry."""
    flags = []
    for chart, image in _IMAGE_OF.items():
        if image in keys:
            key = f"{chart}.podAnnotations.llmops\\.dev/image-key"
            flags += ["--set-string", f"{key}={keys[image]}"]
    return flags


def install(
    settings: LocalSettings,
    target: LocalTarget,
    *,
    namespace: str = "llmops",
    release: str = "llmops",
    timeout: str = "20m",
    report: Report | None = None,
) -> LocalInstall:
    say = report or (lambda _msg: None)
    keys = prepare(settings, target, namespace, say)
    with tempfile.TemporaryDirectory(prefix="llmops-local-") as tmp:
        charts = Path(tmp) / "charts"
        shutil.copytree(
            settings.repo_root / "charts",
            charts,
            ignore=shutil.ignore_patterns("*.tgz", "Chart.lock", "charts"),
        )
        stack = charts / "llmops-stack"
        _run(target, ["helm", "dependency", "build", str(stack)], "helm dependency build")
        overlay = stack / local.OVERLAY_FILE
        started = time.monotonic()
        helm = ["helm", "upgrade", "--install", "--namespace", namespace]
        say(f"installing {release} (helm --wait {timeout})")
        try:
            _run(
                target,
                [
                    *helm,
                    release,
                    str(stack),
                    "-f",
                    str(overlay),
                    *image_annotations(keys),
                    "--wait",
                    f"--timeout={timeout}",
                ],
                f"helm install {release}",
            )
        except LlmopsError as err:
            raise LlmopsError(
                err.piece,
                f"{err.problem}; pods: {pod_summary(target, namespace)}",
                f"kubectl -n {namespace} describe pods; kubectl -n {namespace} logs <pod>",
            ) from None
    seconds = time.monotonic() - started
    say(f"every pod Ready {seconds:.0f}s after the first helm install")
    return LocalInstall(namespace, release, seconds)


def pod_summary(target: LocalTarget, namespace: str) -> str:
    """`name phase/reason` of each pod that is not Ready, for error messages."""
    try:
        listed = json.loads(_run(target, ["kubectl", "get", "pods", "-n", namespace, "-o",
                                          "json"], "kubectl get pods"))  # fmt: skip
    except LlmopsError as err:
        return err.problem
    problems = []
    for pod in listed["items"]:
        statuses = pod["status"].get("containerStatuses", [])
        if statuses and all(s.get("ready") for s in statuses):
            continue
        waiting = [s["state"]["waiting"].get("reason", "") for s in statuses
                   if "waiting" in s.get("state", {})]  # fmt: skip
        problems.append(f"{pod['metadata']['name']} {pod['status'].get('phase')}"
                        + (f"/{waiting[0]}" if waiting else ""))  # fmt: skip
    return ", ".join(problems) or "all Ready"


def uninstall(target: LocalTarget, *, namespace: str = "llmops", release: str = "llmops") -> None:
    """The release, the namespace and the engine's volumes (the folders stay)."""
    try:
        _run(target, ["helm", "uninstall", release, "-n", namespace, "--wait", "--timeout=5m"],
             f"helm uninstall {release}")  # fmt: skip
    except LlmopsError as err:
        if "not found" not in err.problem:
            raise
    _run(target, ["kubectl", "delete", "namespace", namespace, "--ignore-not-found",
                  "--wait=false"], "delete namespace")  # fmt: skip
    _run(target, ["kubectl", "delete", "pv", "-l", f"llmops.dev/claim-namespace={namespace}",
                  "--ignore-not-found", "--wait=false"], "delete engine volumes")  # fmt: skip
