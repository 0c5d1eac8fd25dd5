"""Third-party CRDs the operator writes to, installed from their upstream Go modules.

The local cluster has neither Gateway API, KServe nor KEDA. Their CRDs are generated files
that these projects ship inside their Go modules, so a pinned version comes through the Go module
proxy with ``go mod download -json MODULE@VERSION`` (checksummed against sum.golang.org,
cached in Go's module cache, so later runs are offline) and is applied server-side: the
InferenceService CRD (~1 MB) exceeds the 256 KiB last-applied annotation of a client-side
apply. No CRD YAML is kept in this repository.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cluster.kube import Kube


@dataclass(frozen=True)
class ModuleCrd:
    """One CRD file of a pinned Go module, and the CRD's name once applied."""

    module: str
    version: str
    path: str
    name: str


# Gateway API v1.4.1 (standard channel; HTTPRoute v1 with weighted backendRefs). Its CRDs
# validate with CEL, which Kubernetes 1.35 serves.
GATEWAY_API_HTTPROUTE = ModuleCrd(
    "sigs.k8s.io/gateway-api",
    "v1.4.1",
    "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml",
    "httproutes.gateway.networking.k8s.io",
)
# KServe v0.16.0: InferenceService v1beta1 with spec.predictor.canaryTrafficPercent.
KSERVE_INFERENCESERVICE = ModuleCrd(
    "github.com/kserve/kserve",
    "v0.16.0",
    "config/crd/full/serving.kserve.io_inferenceservices.yaml",
    "inferenceservices.serving.kserve.io",
)
# KEDA v2.18.0: ScaledObject keda.sh/v1alpha1 (min/maxReplicaCount, prometheus triggers). Only
# the CRD: KEDA's operator, metrics server and admission webhook do not run here.
KEDA_SCALEDOBJECT = ModuleCrd(
    "github.com/kedacore/keda/v2",
    "v2.18.0",
    "config/crd/bases/keda.sh_scaledobjects.yaml",
    "scaledobjects.keda.sh",
)

GO_HINT = "install Go 1.26 or newer from go.dev/dl (the CRDs come from the Go module proxy)"


def module_dir(module: str, version: str) -> Path:
    """Where ``go mod download`` unpacked the module (downloading it on first use)."""
    go = shutil.which("go")
    if go is None:
        pytest.fail(f"go is not on PATH: {GO_HINT}", pytrace=False)
    # Outside any module, so no go.mod or go.sum of this repository is touched.
    with tempfile.TemporaryDirectory() as scratch:
        result = subprocess.run(
            [go, "mod", "download", "-json", f"{module}@{version}"],
            capture_output=True,
            text=True,
            cwd=scratch,
            check=False,
        )
    try:
        info = json.loads(result.stdout)
    except json.JSONDecodeError:
        info = {}
    if result.returncode != 0 or "Dir" not in info:
        reason = info.get("Error") or result.stderr.strip() or result.stdout.strip()
        pytest.fail(f"go mod download {module}@{version} failed: {reason}", pytrace=False)
    return Path(info["Dir"])


def install_crd(kube: Kube, crd: ModuleCrd) -> None:
    """Apply the pinned CRD server-side (idempotent) and wait until it is served."""
    source = module_dir(crd.module, crd.version) / crd.path
    if not source.is_file():
        pytest.fail(f"{crd.module}@{crd.version} has no {crd.path}", pytrace=False)
    kube.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=llmops-operator-tests",
        "-f",
        str(source),
    )
    # Not `kubectl wait` (nor a jsonpath filter): both fail at once while a new CRD has no
    # conditions yet.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = kube.kubectl("get", f"crd/{crd.name}", "-o", "json", check=False)
        conditions = (json.loads(got.stdout or "{}").get("status") or {}).get("conditions")
        if any(c["type"] == "Established" and c["status"] == "True" for c in conditions or []):
            return
        time.sleep(0.2)
    pytest.fail(f"CRD {crd.name} was not Established within 60 s", pytrace=False)
