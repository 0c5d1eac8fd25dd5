"""Small helpers of the operator's cluster tests: apply examples, read status, wait, plugin."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import Operator

EXAMPLES = Path(__file__).parents[3] / "examples/rollouts"


def apply_example(kube: Kube, namespace: str, file: str, **spec_overrides: Any) -> str:
    """Apply an example with kubectl; its gateway alias becomes the namespace (metrics of
    parallel tests never mix). Returns the resource name."""
    doc = yaml.safe_load((EXAMPLES / file).read_text())
    doc["spec"]["route"]["alias"] = namespace
    for path, value in spec_overrides.items():
        target = doc["spec"]
        *parents, leaf = path.split("__")
        for part in parents:
            target = target[part]
        target[leaf] = value
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(doc))
    return str(doc["metadata"]["name"])


def get_md(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    out = kube.kubectl("get", "modeldeployment", name, "-n", namespace, "-o", "json").stdout
    data: dict[str, Any] = json.loads(out)
    return data


def status_of(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    return dict(get_md(kube, namespace, name).get("status") or {})


def wait_for(
    kube: Kube,
    namespace: str,
    name: str,
    check: Callable[[dict[str, Any]], bool],
    *,
    timeout: float = 60,
    operator: Operator | None = None,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = status_of(kube, namespace, name)
        if check(status):
            return status
        time.sleep(0.5)
    log = operator.log.read_text()[-3000:] if operator else ""
    raise AssertionError(f"timed out; last status: {json.dumps(status)[:2500]}\n{log}")


def set_revision(kube: Kube, namespace: str, name: str, revision: str) -> None:
    patch = json.dumps({"spec": {"model": {"revision": revision}}})
    kube.kubectl("patch", "modeldeployment", name, "-n", namespace, "--type=merge", "-p", patch)


def routing_table(kube: Kube, namespace: str) -> dict[str, Any]:
    out = kube.kubectl("get", "configmap", "llmops-routing", "-n", namespace, "-o", "json").stdout
    table: dict[str, Any] = yaml.safe_load(json.loads(out)["data"]["routing.yaml"])
    return table


# Someone else's alias in the routing table: it must survive everything the operator does.
KEEP = {"kind": "generate", "backends": [{"name": "static", "url": "http://static/v1"}]}


def write_routing_table(kube: Kube, namespace: str, routes: dict[str, Any]) -> None:
    """Create or change the routing-table ConfigMap as a writer other than the operator."""
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "llmops-routing"},
        "data": {"routing.yaml": yaml.safe_dump({"version": "other", "routes": routes})},
    }
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(config_map))


def weights(kube: Kube, namespace: str) -> dict[str, int]:
    backends = routing_table(kube, namespace)["routes"][namespace]["backends"]
    return {b["revision"]: b["weight"] for b in backends}


def plugin(kube: Kube, *args: str) -> subprocess.CompletedProcess[str]:
    """`kubectl llmops ...` as kubectl runs it: the plugin process with the user's kubeconfig."""
    env = {**kube.env, "KUBECONFIG": str(kube.kubeconfig)}
    return subprocess.run(
        [sys.executable, "-m", "llmops_operator.plugin", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def reason(status: dict[str, Any], kind: str = "Progressing") -> str:
    return next((c["reason"] for c in status.get("conditions", []) if c["type"] == kind), "")


def event_reasons(
    kube: Kube, namespace: str, name: str, until: str, *, timeout: float = 15
) -> list[str]:
    """The reasons of the Events about one object, oldest first, once ``until`` is among them
    (kopf posts Events in the background: they may follow the status by a moment)."""
    deadline = time.monotonic() + timeout
    selector = f"involvedObject.name={name}"
    found: list[str] = []
    while time.monotonic() < deadline:
        out = kube.kubectl(
            "get", "events", "-n", namespace, "--field-selector", selector, "-o", "json"
        ).stdout
        items = sorted(json.loads(out)["items"], key=lambda e: e.get("firstTimestamp") or "")
        # kopf's own log lines are Events of reason Logging: not transitions.
        found = [str(e["reason"]) for e in items if e.get("reason") != "Logging"]
        if until in found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"no {until} Event about {namespace}/{name}; seen: {found}")
