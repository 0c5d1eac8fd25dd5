"""`llmops release verify` against the real API server: a real `helm install` of the
rag-gateway chart and a ModelDeployment (kwok nodes) give a release manifest, verify passes,
then a changed value, a changed image tag and a changed chart version are each named.

The manifest is read once from the ModelDeployment's reference (its ConfigMap, digest
checked) and kept as a file, so every later check compares against the release as recorded.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from click.testing import Result
from typer.testing import CliRunner

from llmops.app import app
from llmops_infra.charts import CRD_PATH
from llmops_infra.settings import LocalSettings
from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import GatewayMetrics, Operator
from tests.cluster.operator.helpers import apply_example, wait_for

CHART = Path(__file__).parents[3] / "charts/rag-gateway"
GATEWAY = "gw-rag-gateway"


def helm(kube: Kube, settings: LocalSettings, chart: Path, namespace: str, *sets: str) -> None:
    args = [
        str(settings.bin_dir / "helm"),
        "upgrade",
        "--install",
        "gw",
        str(chart),
        "-n",
        namespace,
        "--wait",
        "--timeout",
        "60s",
        "--set",
        "replicaCount=1",
    ]
    for value in sets:
        args += ["--set", value]
    done = subprocess.run(args, capture_output=True, text=True, env=kube.env, check=False)
    assert done.returncode == 0, done.stderr


def verify(kube: Kube, manifest: str, namespace: str) -> Result:
    """The CLI in-process (its kubectl calls are real; a Python start-up per call is not)."""
    return CliRunner().invoke(
        app,
        ["release", "verify", manifest, "-n", namespace],
        env={"KUBECONFIG": str(kube.kubeconfig)},
    )


def differences(result: Result) -> dict[str, str]:
    """field -> 'manifest -> running', from verify's table."""
    assert result.exit_code == 1, result.output
    rows = result.stdout.split("field", 1)[1].splitlines()[1:]
    return {row.split()[0]: " ".join(row.split()[1:]) for row in rows if row.strip()}


def test_verify_names_a_changed_value_image_and_chart_version(  # noqa: PLR0917 -- fixtures
    kube: Kube,
    namespace: str,
    operator: Operator,
    gateway_metrics: GatewayMetrics,
    settings: LocalSettings,
    tmp_path: Path,
) -> None:
    # The CRD is cluster-wide: a session of another checkout may have applied one without
    # status.releaseManifest since this session's `crd` fixture ran (the API would prune it).
    # Applied by a field manager of its own, another's apply leaves the field in place.
    kube.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=llmops-release-tests",
        "-f",
        str(CRD_PATH),
    )
    helm(kube, settings, CHART, namespace)
    name = apply_example(kube, namespace, "canary.yaml", engine__replicas=1)
    status = wait_for(
        kube, namespace, name, lambda s: bool(s.get("releaseManifest")), operator=operator
    )
    recorded = status["releaseManifest"]
    assert recorded["hash"] == status["stableHash"] and recorded["digest"].startswith("sha256:")
    assert "mlflowRunId" not in recorded  # a plain model.uri: the ConfigMap only

    first = verify(kube, f"md/{name}", namespace)
    assert first.exit_code == 0, first.output
    assert "matches" in first.stdout and recorded["digest"] in first.stdout
    cm = json.loads(
        kube.kubectl(
            "get", "configmap", recorded["configMap"], "-n", namespace, "-o", "json"
        ).stdout
    )
    manifest: dict[str, Any] = json.loads(cm["data"]["manifest.json"])
    workloads = {w["name"]: w for w in manifest["workloads"]}
    assert workloads[GATEWAY]["chart"] == "rag-gateway-0.1.0"
    assert workloads[GATEWAY]["valuesHash"]
    assert workloads[f"{name}-{status['stableHash']}"]["images"]["vllm"]["image"]
    # the operator's routing-table entry for the alias (the namespace, see apply_example)
    assert manifest["route"]["alias"] == namespace
    assert manifest["route"]["url"].startswith(f"http://{name}-{status['stableHash']}.")
    saved = tmp_path / "manifest.json"
    saved.write_text(cm["data"]["manifest.json"])

    # 1. a changed value: only the values hash moves
    helm(kube, settings, CHART, namespace, "rag.maxContextChars=9000")
    assert list(differences(verify(kube, str(saved), namespace))) == [
        f"workloads.{GATEWAY}.valuesHash"
    ]

    # 2. a changed image tag: the image is named (the tag is a value too)
    helm(kube, settings, CHART, namespace, "image.tag=0.1.1")
    found = differences(verify(kube, str(saved), namespace))
    container = next(iter(workloads[GATEWAY]["images"]))
    image = found[f"workloads.{GATEWAY}.images.{container}"]
    assert image.endswith("'llmops/rag-gateway:0.1.1'"), image

    # 3. a changed chart version with the released values: only the chart is named
    bumped = tmp_path / "rag-gateway"
    shutil.copytree(CHART, bumped)
    chart_yaml = yaml.safe_load((bumped / "Chart.yaml").read_text())
    chart_yaml["version"] = "0.1.1"
    (bumped / "Chart.yaml").write_text(yaml.safe_dump(chart_yaml))
    helm(kube, settings, bumped, namespace)
    assert differences(verify(kube, str(saved), namespace)) == {
        f"workloads.{GATEWAY}.chart": "'rag-gateway-0.1.0' -> 'rag-gateway-0.1.1'"
    }
