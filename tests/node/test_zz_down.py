"""`llmops cluster down` leaves nothing behind, and `up` comes back warm.

This module's name sorts last in the tier on purpose: it takes the session's cluster down
and brings it up again (the tiers after it find it healthy, as before).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from llmops_infra import cluster
from llmops_infra.cluster import lifecycle, node, node_spec
from llmops_infra.settings import LocalSettings, base_env
from tests.cluster.kube import Kube


def _out(*argv: str) -> str:
    return subprocess.run(list(argv), capture_output=True, text=True, check=False).stdout


def leftovers(settings: LocalSettings) -> list[str]:
    """Everything of the node's still on this machine: what `up` looks for before it
    starts (mounts, network namespaces, iptables chains, cgroups), and more."""
    layout = node.node_layout(settings, lifecycle.build_layout(settings))
    found = node.leftovers(layout)
    if Path(f"/sys/class/net/{node_spec.BRIDGE}").exists():
        found.append(f"bridge {node_spec.BRIDGE}")
    veths = _out("ip", "-o", "link", "show", "type", "veth").splitlines()
    found += [f"veth {line.split(':')[1].strip()}" for line in veths]
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(settings.cluster_dir) in cmdline and "pytest" not in cmdline:
                found.append(f"process {proc.name}: {cmdline[:120]}")
    return found


def test_should_leave_nothing_behind_on_down_and_come_back_up_warm(
    node_kube: Kube, settings: LocalSettings
) -> None:
    record = settings.node_dir / "sysctl-before.json"
    recorded = json.loads(record.read_text())  # what `up` found, to be put back

    cluster.down(settings)

    assert leftovers(settings) == []
    after = {n: Path("/proc/sys", n).read_text().strip() for n in node_spec.SYSCTLS}
    assert after == recorded
    cluster.up(settings, base_env())
    assert cluster.status(settings).is_healthy
    assert node_kube.kubectl("get", "node", node_spec.NODE_NAME).returncode == 0
