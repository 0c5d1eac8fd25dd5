"""Render the charts with the pinned helm, validate what they render, check Pod Security.

Kinds and how each rendered object is checked (never silently skipped):
- Kubernetes' own kinds: `kubernetes_validate` against the 1.35 schemas in strict mode
  (unknown fields are errors).
- ``ModelDeployment``: the openAPIV3Schema of the CRD we ship (charts/llmops-operator/crds).
- ``THIRD_PARTY_KINDS``: CRDs of other projects that we do not vendor; each is listed here with
  its reason, and the rendering tests assert the fields we set. ``InferenceService`` pods are
  also validated as a Kubernetes PodSpec (see `predictor_as_pod`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from llmops_infra.charts import CRD_PATH, load_crd

KUBE_VERSION = "1.35.0"  # kubernetes_validate wants MAJOR.MINOR[.PATCH], no "v"
THIRD_PARTY_KINDS = {
    "ServiceMonitor": "prometheus-operator CRD (monitoring.coreos.com), not vendored",
    "PodMonitor": "prometheus-operator CRD (monitoring.coreos.com), not vendored",
    "ScaledObject": "KEDA CRD (keda.sh), not vendored",
    "HTTPRoute": "Gateway API CRD (gateway.networking.k8s.io), not vendored",
    "InferenceService": "KServe CRD (serving.kserve.io); its pod is checked as a PodSpec",
}
PSS_RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


class Charts:
    """Renders charts from a private copy of ``charts/`` (umbrella dependencies built once)."""

    def __init__(self, helm: Path, source: Path, workdir: Path) -> None:
        self.helm = helm
        self.root = workdir / "charts"
        shutil.copytree(source, self.root, ignore=shutil.ignore_patterns("*.tgz", "Chart.lock"))
        self._run("dependency", "build", str(self.root / "llmops-stack"))
        self._cache: dict[str, list[dict[str, Any]]] = {}

    def _run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.helm), *args], input=stdin, capture_output=True, text=True, check=False
        )

    def _template(self, chart: str, values: dict[str, Any], *extra: str) -> str:
        result = self._run(
            "template",
            "r",
            str(self.root / chart),
            "--namespace",
            "ns",
            "--values",
            "-",
            *extra,
            stdin=json.dumps(values),
        )
        if result.returncode != 0:
            raise RenderError(result.stderr.strip())
        return result.stdout

    def render(self, chart: str, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every object (hooks and CRDs included), rendered once per chart and values."""
        key = json.dumps([chart, values or {}], sort_keys=True)
        if key not in self._cache:
            text = self._template(chart, values or {}, "--include-crds")
            self._cache[key] = [doc for doc in yaml.safe_load_all(text) if doc]
        return self._cache[key]

    def error(self, chart: str, values: dict[str, Any]) -> str:
        """Helm's message when the values are refused; fails if they are accepted."""
        try:
            self._template(chart, values)
        except RenderError as err:
            return str(err)
        raise AssertionError(f"{chart} accepted {values}")

    def notes(self, chart: str, values: dict[str, Any] | None = None) -> str:
        """NOTES.txt as `helm install` prints it (a client-side dry run: no cluster)."""
        result = self._run(
            "install",
            "r",
            str(self.root / chart),
            "--namespace",
            "ns",
            "--dry-run=client",
            "--kubeconfig",
            "/dev/null",
            "--values",
            "-",
            stdin=json.dumps(values or {}),
        )
        if result.returncode != 0:
            raise RenderError(result.stderr.strip())
        return result.stdout.partition("NOTES:")[2]


class RenderError(Exception):
    pass


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]


def kinds(docs: list[dict[str, Any]]) -> set[str]:
    return {d["kind"] for d in docs}


def as_json_schema(openapi: Any) -> Any:
    """A CRD's OpenAPI v3.0 schema in JSON Schema's terms: v3.0's boolean
    ``exclusiveMinimum``/``exclusiveMaximum`` (which qualify ``minimum``/``maximum``, as the API
    server reads them) become the bound itself, as JSON Schema has it since draft 6."""
    if isinstance(openapi, list):
        return [as_json_schema(item) for item in openapi]
    if not isinstance(openapi, dict):
        return openapi
    out = {key: as_json_schema(value) for key, value in openapi.items()}
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        # a false flag goes; a true one takes the bound's place
        if isinstance(out.get(exclusive), bool) and out.pop(exclusive) and bound in out:
            out[exclusive] = out.pop(bound)
    return out


def validate(doc: dict[str, Any]) -> str:
    """How ``doc`` was checked; raises on any schema violation."""
    kind = doc["kind"]
    if kind == "ModelDeployment":
        version = load_crd()["spec"]["versions"][0]
        jsonschema.validate(doc, as_json_schema(version["schema"]["openAPIV3Schema"]))
        return f"CRD {CRD_PATH.name}"
    if kind in THIRD_PARTY_KINDS:
        if kind == "InferenceService":
            kubernetes_validate.validate(predictor_as_pod(doc), KUBE_VERSION, strict=True)
        return THIRD_PARTY_KINDS[kind]
    kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
    return f"kubernetes {KUBE_VERSION}"


_PREDICTOR_ONLY = (
    "minReplicas",
    "maxReplicas",
    "scaleTarget",
    "scaleMetric",
    "canaryTrafficPercent",
)


def predictor_as_pod(isvc: dict[str, Any]) -> dict[str, Any]:
    """A KServe predictor inlines a PodSpec next to its own scaling fields."""
    spec = {k: v for k, v in isvc["spec"]["predictor"].items() if k not in _PREDICTOR_ONLY}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "predictor"}, "spec": spec}


def pod_specs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every pod spec rendered, by ``Kind/name``."""
    specs = {}
    for doc in docs:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            specs[name] = doc["spec"]["template"]["spec"]
        elif doc["kind"] == "Pod":
            specs[name] = doc["spec"]
        elif doc["kind"] == "InferenceService":
            specs[name] = predictor_as_pod(doc)["spec"]
    return specs


def restricted_violations(spec: dict[str, Any]) -> list[str]:
    """Where a pod spec breaks Pod Security "restricted" (plus our read-only root default)."""
    problems = []
    pod = spec.get("securityContext", {})
    if pod.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problems.append("pod seccompProfile is not RuntimeDefault")
    for volume in spec.get("volumes", []):
        if not set(volume) - {"name"} <= PSS_RESTRICTED_VOLUMES:
            problems.append(f"volume {volume['name']} has a type restricted forbids")
    for container in spec.get("initContainers", []) + spec["containers"]:
        ctx, name = container.get("securityContext", {}), container["name"]
        if ctx.get("runAsNonRoot", pod.get("runAsNonRoot")) is not True:
            problems.append(f"{name}: runAsNonRoot is not true")
        if ctx.get("runAsUser", pod.get("runAsUser")) == 0:
            problems.append(f"{name}: runs as UID 0")
        if ctx.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        caps = ctx.get("capabilities", {})
        if caps.get("drop") != ["ALL"]:
            problems.append(f"{name}: does not drop ALL capabilities")
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: adds capabilities {caps['add']}")
        if ctx.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}: root filesystem is writable")
    return problems
