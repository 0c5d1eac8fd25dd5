"""The in-cluster load-test Job on the real API server: `build_loadtest_job` output is
created (not dry-run), the Job's pod is admitted under Pod Security "restricted" and
scheduled, and its ServiceAccount may update the verdict ConfigMap and nothing else.

No container runs in this cluster (kwok fakes the pods), so the scheduled pod never writes
its verdict. The verdict-writing path is proven separately: the pod's own command runs
locally, as the Job's ServiceAccount (a real token from the TokenRequest API), against the
same API server, and the verdict ConfigMap then holds the verdict.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from llmops_loadtest.k8s.job import (
    INPUT_MOUNT,
    REPORT_MOUNT,
    LoadtestJobSpec,
    build_loadtest_command,
    build_loadtest_job,
)
from llmops_loadtest.testing.process import start_upstream
from tests.cluster.kube import Kube

PROFILE = """name: in-cluster
prompts: {kind: fixed, input_tokens: 8, output_tokens: 4}
load: {shape: fixed_concurrency, users: 2, duration_s: 2}
"""
GATE = "slos: ['error_ratio <= 0', 'ttft_p95_s <= 1']\nmin_requests: 3\n"
SCHEDULE_TIMEOUT_S = 60.0


def _spec(namespace: str, target_url: str = "http://gemma-canary:8000") -> LoadtestJobSpec:
    return LoadtestJobSpec(
        name="gate",
        namespace=namespace,
        image="ghcr.io/example/llmops:0.1.0",
        target_url=target_url,
        profile_yaml=PROFILE,
        gate_yaml=GATE,
        duration_s=2,
    )


def _create_all(kube: Kube, spec: LoadtestJobSpec) -> None:
    kube.kubectl("label", "namespace", spec.namespace,
                 "pod-security.kubernetes.io/enforce=restricted")  # fmt: skip
    for manifest in build_loadtest_job(spec):
        created = kube.kubectl("create", "-f", "-", "-o", "name", stdin=json.dumps(manifest))
        assert created.stdout.strip().endswith(f"/{manifest['metadata']['name']}")


def _configmap(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    shown = kube.kubectl("get", "configmap", name, "-n", namespace, "-o", "json")
    data: dict[str, Any] = json.loads(shown.stdout)
    return data


def test_should_create_every_object_and_schedule_the_jobs_pod(kube: Kube, namespace: str) -> None:
    spec = _spec(namespace)
    _create_all(kube, spec)

    deadline = time.monotonic() + SCHEDULE_TIMEOUT_S
    node = ""
    while not node and time.monotonic() < deadline:
        pods = kube.kubectl("get", "pods", "-n", namespace, "-l", f"job-name={spec.name}",
                            "-o", "jsonpath={.items[*].spec.nodeName}")  # fmt: skip
        node = pods.stdout.strip()
        time.sleep(0.5)
    assert node, kube.kubectl("describe", "job", spec.name, "-n", namespace, check=False).stdout
    pod = json.loads(
        kube.kubectl("get", "pods", "-n", namespace, "-l", f"job-name={spec.name}",
                     "-o", "json").stdout
    )["items"][0]  # fmt: skip
    assert pod["spec"]["serviceAccountName"] == spec.name
    assert pod["spec"]["containers"][0]["command"] == build_loadtest_command(spec)
    assert _configmap(kube, namespace, spec.verdict_configmap)["data"]["passed"] == "pending"


def test_should_let_the_service_account_update_only_the_verdict_configmap(
    kube: Kube, namespace: str
) -> None:
    spec = _spec(namespace)
    _create_all(kube, spec)
    sa = f"system:serviceaccount:{namespace}:{spec.name}"
    patch = '{"data": {"passed": "true"}}'

    def as_sa(*args: str) -> subprocess.CompletedProcess[str]:
        return kube.kubectl(*args, "-n", namespace, as_user=sa, check=False)

    assert as_sa("get", "configmap", spec.verdict_configmap).returncode == 0
    updated = as_sa("patch", "configmap", spec.verdict_configmap, "-p", patch)
    assert updated.returncode == 0, updated.stderr
    assert _configmap(kube, namespace, spec.verdict_configmap)["data"]["passed"] == "true"

    refused = {
        "update the input": as_sa("patch", "configmap", f"{spec.name}-input", "-p", patch),
        "read the input": as_sa("get", "configmap", f"{spec.name}-input"),
        "create another": as_sa("create", "configmap", "other", "--from-literal=a=b"),
        "delete the verdict": as_sa("delete", "configmap", spec.verdict_configmap),
        "list configmaps": as_sa("get", "configmaps"),
        "read secrets": as_sa("get", "secrets"),
        "edit its own Role": as_sa("patch", "role", spec.name, "-p", '{"rules": []}'),
    }
    for what, result in refused.items():
        assert result.returncode != 0, f"the ServiceAccount could {what}"
        assert "forbidden" in result.stderr.lower(), (what, result.stderr)


def _service_account_kubeconfig(kube: Kube, namespace: str, name: str, out: Path) -> Path:
    """A kubeconfig that authenticates with the ServiceAccount's own token, as a Pod does."""
    token = kube.kubectl("create", "token", name, "-n", namespace, "--duration=10m").stdout
    admin = yaml.safe_load(kube.kubeconfig.read_text())
    cluster = admin["clusters"][0]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": name, "user": {"token": token.strip()}}],
        "contexts": [{"name": "pod", "context": {"cluster": cluster["name"], "user": name,
                                                 "namespace": namespace}}],
        "current-context": "pod",
    }  # fmt: skip
    out.write_text(yaml.safe_dump(config))
    out.chmod(0o600)
    return out


def test_should_leave_the_verdict_when_the_pods_command_runs_as_its_service_account(
    kube: Kube, namespace: str, tmp_path: Path
) -> None:
    with start_upstream(ttft_s=0.01, itl_s=0.002) as target:
        spec = _spec(namespace, target_url=target.url)
        _create_all(kube, spec)
        inputs = tmp_path / "input"
        inputs.mkdir()
        (inputs / "profile.yaml").write_text(spec.profile_yaml)
        (inputs / "gate.yaml").write_text(spec.gate_yaml)
        command = [
            part.replace(INPUT_MOUNT, str(inputs)).replace(REPORT_MOUNT, str(tmp_path / "report"))
            for part in build_loadtest_command(spec)
        ]
        command[0] = str(Path(sys.executable).with_name(command[0]))  # the venv's llmops-loadtest
        kubeconfig = _service_account_kubeconfig(kube, namespace, spec.name, tmp_path / "sa.kc")
        env = {**kube.env, "KUBECONFIG": str(kubeconfig)}
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120,
                              check=False)  # fmt: skip

    assert done.returncode == 0, done.stderr + done.stdout
    verdict = _configmap(kube, namespace, spec.verdict_configmap)["data"]
    assert verdict["passed"] == "true"
    assert verdict["headline"] == "PASS (2/2 SLOs met)"
    body = json.loads(verdict["verdict.json"])
    assert body["profile"] == "in-cluster"
    assert body["versions"]["target"]["models"][0]["id"] == "scripted-upstream"
