"""Small helpers of the operator's cluster tests: apply examples, read status, wait, plugin,
start chart-identity operators and watch a deletion."""

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
from tests.cluster.operator.chart_identity import chart_operator
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


def start_operator(
    kube: Kube, namespace: str, tmp_path: Path, operators: list[Operator], **settings: str
) -> Operator:
    op = chart_operator(kube, namespace, tmp_path, f"op-{len(operators)}", **settings)
    op.start()
    operators.append(op)
    return op


def apply_md(kube: Kube, namespace: str, name: str, alias: str, **spec: Any) -> None:
    """The canary example as ``name`` with one replica, behind ``alias``; ``spec`` overrides
    top-level spec keys."""
    doc = yaml.safe_load((EXAMPLES / "canary.yaml").read_text())
    doc["metadata"]["name"] = name
    doc["spec"]["route"]["alias"] = alias
    doc["spec"]["engine"]["replicas"] = 1
    doc["spec"].update(spec)
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(doc))


def seed_routing_table(kube: Kube, namespace: str) -> None:
    """A table with an alias of someone else's (``keep``), which must survive everything."""
    write_routing_table(kube, namespace, {"keep": KEEP})


def routes(kube: Kube, namespace: str) -> dict[str, Any]:
    found: dict[str, Any] = routing_table(kube, namespace).get("routes") or {}
    return found


def backend_names(kube: Kube, namespace: str, alias: str) -> list[str]:
    return [b["name"] for b in (routes(kube, namespace).get(alias) or {}).get("backends", [])]


def exists(kube: Kube, namespace: str, name: str) -> bool:
    found = kube.kubectl("get", "modeldeployment", name, "-n", namespace, check=False)
    if found.returncode != 0 and "NotFound" not in found.stderr:
        raise AssertionError(found.stderr)
    return found.returncode == 0


def seconds_until(check: Callable[[], bool], timeout: float, what: str, op: Operator) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{op.log.read_text()[-3000:]}")


def is_succeeded(status: dict[str, Any]) -> bool:
    return status.get("phase") == "Succeeded"


def events_of(kube: Kube, namespace: str, name: str, why: str) -> list[dict[str, Any]]:
    selector = f"involvedObject.name={name},reason={why}"
    out = kube.kubectl(
        "get", "events", "-n", namespace, "--field-selector", selector, "-o", "json"
    ).stdout
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return items


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
