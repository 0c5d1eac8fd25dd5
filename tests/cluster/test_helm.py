"""Helm, driven through pyhelm3 with the pinned binary, against the real API server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pyhelm3 import Client, errors

from llmops_infra.settings import LocalSettings
from tests.cluster.kube import Kube

CHART = Path(__file__).parent / "charts" / "smoke"


def helm_client(settings: LocalSettings, kube: Kube) -> Client:
    return Client(executable=str(settings.bin_dir / "helm"), kubeconfig=kube.kubeconfig)


def deployment(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    out = kube.kubectl("get", "deployment", name, "-n", namespace, "-o", "json").stdout
    result: dict[str, Any] = json.loads(out)
    return result


def template_checksum(deploy: dict[str, Any]) -> str:
    return str(deploy["spec"]["template"]["metadata"]["annotations"]["checksum/config"])


def test_should_install_upgrade_list_and_uninstall_a_chart_with_wait(
    kube: Kube, namespace: str, settings: LocalSettings
) -> None:
    async def scenario() -> None:
        client = helm_client(settings, kube)
        chart = await client.get_chart(CHART)

        installed = await client.install_or_upgrade_release(
            "demo", chart, {"replicaCount": 2}, namespace=namespace, wait=True, timeout="90s"
        )
        assert (installed.revision, installed.status.value) == (1, "deployed")
        first = deployment(kube, namespace, "demo-smoke")
        assert first["status"]["readyReplicas"] == 2

        upgraded = await client.install_or_upgrade_release(
            "demo",
            chart,
            {"replicaCount": 2, "message": "changed"},
            namespace=namespace,
            wait=True,
            timeout="90s",
        )
        assert upgraded.revision == 2
        # The changed message changes the pod template's checksum: the Deployment rolls.
        second = deployment(kube, namespace, "demo-smoke")
        assert template_checksum(second) != template_checksum(first)
        assert second["metadata"]["generation"] == first["metadata"]["generation"] + 1
        values = await upgraded.values()
        assert values["message"] == "changed"

        releases = list(await client.list_releases(namespace=namespace))
        assert [(r.name, r.namespace) for r in releases] == [("demo", namespace)]
        current = await client.get_current_revision("demo", namespace=namespace)
        assert current.revision == 2

        await client.uninstall_release("demo", namespace=namespace, wait=True)
        assert list(await client.list_releases(namespace=namespace)) == []
        left = kube.kubectl(
            "get",
            "deploy,svc,cm",
            "-n",
            namespace,
            "-l",
            "app.kubernetes.io/instance=demo",
            "-o",
            "name",
        ).stdout
        assert left.strip() == ""

    asyncio.run(scenario())


def test_should_reject_unknown_values_naming_the_key(
    kube: Kube, namespace: str, settings: LocalSettings
) -> None:
    async def scenario() -> None:
        client = helm_client(settings, kube)
        chart = await client.get_chart(CHART)
        with pytest.raises(errors.Error) as err:
            await client.install_or_upgrade_release(
                "bad", chart, {"replicas": 2}, namespace=namespace, wait=True, timeout="30s"
            )
        assert "replicas" in str(err.value)

    asyncio.run(scenario())
