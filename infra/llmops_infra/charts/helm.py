"""Install, upgrade, uninstall and render the llmops-stack umbrella chart through pyhelm3.

The umbrella's subcharts are `file://` dependencies. Each call copies ``charts/`` into a
temporary folder and runs ``helm dependency build`` there, so the checkout is never written
to and two commands never race on ``charts/llmops-stack/charts/``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pyhelm3 import Client, Command, errors

from llmops_infra.charts.layout import CHARTS_DIR
from llmops_infra.errors import LlmopsError

_NOISE = ("use --debug flag", "values don't meet the specifications")


def summarize_helm_error(stderr: str) -> str:
    """Helm's stderr as one line that still names the offending key."""
    lines = []
    for raw in stderr.splitlines():
        line = raw.strip().removeprefix("Error: ").removeprefix("error: ").strip()
        if line and not any(noise in line.lower() for noise in _NOISE):
            lines.append(line)
    return " ".join(lines) or "helm failed without a message"


@dataclass(frozen=True)
class HelmTarget:
    """Which helm binary, and which cluster it talks to (None: render only)."""

    helm: Path
    kubeconfig: Path | None = None


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    revision: int
    status: str


def _command(target: HelmTarget) -> Command:
    if not target.helm.is_file():
        raise LlmopsError("helm", f"not found at {target.helm}", "run `llmops tools install`")
    return Command(executable=str(target.helm), kubeconfig=target.kubeconfig)


@asynccontextmanager
async def prepared_stack(command: Command, charts_dir: Path = CHARTS_DIR) -> AsyncIterator[Path]:
    """A private copy of the charts with the umbrella's dependencies built."""
    with tempfile.TemporaryDirectory(prefix="llmops-charts-") as tmp:
        copy = Path(tmp) / "charts"
        shutil.copytree(
            charts_dir, copy, ignore=shutil.ignore_patterns("*.tgz", "Chart.lock", ".git")
        )
        stack = copy / "llmops-stack"
        try:
            await command.run(["dependency", "build", str(stack)])
        except errors.Error as err:
            raise LlmopsError("helm dependency build", summarize_helm_error(str(err))) from None
        yield stack


async def render(target: HelmTarget, release: str, namespace: str, values: dict[str, Any]) -> str:
    """The manifests `helm template` renders for these values (with the CRDs)."""
    command = _command(target)
    async with prepared_stack(command) as stack:
        try:
            out: bytes = await command.run(
                [
                    "template",
                    release,
                    str(stack),
                    "--namespace",
                    namespace,
                    "--include-crds",
                    "--values",
                    "-",
                ],
                yaml.safe_dump(values).encode(),
            )
        except errors.Error as err:
            raise LlmopsError("helm template", summarize_helm_error(str(err))) from None
    return out.decode()


async def _exists(client: Client, release: str, namespace: str) -> bool:
    try:
        await client.get_current_revision(release, namespace=namespace)
    except errors.ReleaseNotFoundError:
        return False
    return True


async def deploy(
    target: HelmTarget,
    release: str,
    namespace: str,
    values: dict[str, Any],
    *,
    upgrade: bool,
    install_missing: bool = False,
    wait: bool = True,
    helm_timeout: str = "10m",
) -> Release:
    """`helm install` (``upgrade=False``) or `helm upgrade` of the stack, with ``--wait``.

    ``install_missing`` makes an upgrade of a release that is not there an install
    (`helm upgrade --install`), for scripts that must work the first time and every time.
    """
    command = _command(target)
    client = Client(command, executable=str(target.helm))
    verb = "upgrade" if upgrade else "install"
    try:
        exists = await _exists(client, release, namespace)
        if exists and not upgrade:
            raise LlmopsError(
                f"release {release}", f"is already installed in {namespace}", "llmops upgrade"
            )
        if upgrade and not exists and not install_missing:
            raise LlmopsError(
                f"release {release}", f"is not installed in {namespace}", "llmops install"
            )
        async with prepared_stack(command) as stack:
            chart = await client.get_chart(stack)
            revision = await client.install_or_upgrade_release(
                release, chart, values, namespace=namespace, wait=wait, timeout=helm_timeout
            )
    except errors.Error as err:
        raise LlmopsError(f"helm {verb}", summarize_helm_error(str(err))) from None
    return Release(release, namespace, revision.revision, revision.status.value)


async def uninstall(target: HelmTarget, release: str, namespace: str, *, wait: bool = True) -> None:
    """`helm uninstall`; a release that is not there is not an error."""
    client = Client(_command(target), executable=str(target.helm))
    try:
        await client.uninstall_release(release, namespace=namespace, wait=wait)
    except errors.Error as err:
        raise LlmopsError("helm uninstall", summarize_helm_error(str(err))) from None


async def run_tests(
    target: HelmTarget, release: str, namespace: str, helm_timeout: str = "5m"
) -> str:
    """`helm test` (pyhelm3 has no wrapper for it); returns Helm's report."""
    command = _command(target)
    try:
        out: bytes = await command.run(
            ["test", release, "--namespace", namespace, "--timeout", helm_timeout]
        )
    except errors.Error as err:
        raise LlmopsError("helm test", summarize_helm_error(str(err))) from None
    return out.decode()
