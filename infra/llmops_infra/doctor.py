"""`llmops doctor`: every prerequisite, whether it is there, and the command that fixes it.

Each check is a small function returning a `Check`; none of them changes anything.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from llmops_infra.cluster import build, lifecycle, node, processes, spec
from llmops_infra.engine import engine_status
from llmops_infra.engine.layout import engine_layout
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings
from llmops_infra.toolchain import tools_status


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


CheckFn = Callable[[LocalSettings, Mapping[str, str]], list[Check]]


def check_python(_settings: LocalSettings, _env: Mapping[str, str]) -> list[Check]:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 11)
    return [Check("python", ok, version, "" if ok else "install Python 3.11 or newer")]


def check_go(_settings: LocalSettings, env: Mapping[str, str]) -> list[Check]:
    try:
        return [Check("go", True, build.go_version(env))]
    except LlmopsError as err:
        return [Check("go", False, err.problem, err.fix)]


def check_control_plane(settings: LocalSettings, env: Mapping[str, str]) -> list[Check]:
    try:
        binaries = build.locate(settings, env)
    except LlmopsError as err:
        return [Check("control-plane binaries", False, err.problem, err.fix)]
    if binaries.is_complete():
        return [Check("control-plane binaries", True, f"{build.KUBERNETES_VERSION} built")]
    return [
        Check(
            "control-plane binaries",
            False,
            f"{build.KUBERNETES_VERSION} not built yet (~20 min on 2 cores, once)",
            "llmops cluster up",
        )
    ]


def check_real_node(settings: LocalSettings, _env: Mapping[str, str]) -> list[Check]:
    """What the real node needs from the machine (skipped, and said so, when it is off)."""
    if not settings.real_node:
        return [Check("real node", True, "off (LLMOPS_REAL_NODE=false): kwok nodes only")]
    return [
        Check(f"real node: {p.name}", p.ok, p.detail, "" if p.ok else p.fix)
        for p in node.prerequisites()
    ]


IMAGE_TOOLS = ("mmdebstrap", "buildah", "umoci")


def check_image_tools(_settings: LocalSettings, env: Mapping[str, str]) -> list[Check]:
    """The daemonless image builders `llmops images build` runs (no Docker engine here)."""
    checks = []
    for tool in IMAGE_TOOLS:
        where = shutil.which(tool, path=env.get("PATH"))
        checks.append(
            Check(
                f"image tool: {tool}",
                where is not None,
                where or "not found",
                "" if where else f"apt-get install {tool} (or: make system-packages)",
            )
        )
    return checks


def check_ports(settings: LocalSettings, _env: Mapping[str, str]) -> list[Check]:
    """A port is fine if it is free, or held by our own running component."""
    layout = lifecycle.build_layout(settings)
    checks = []
    wanted = [(c.name, c.port) for c in spec.build_components(layout)]
    if settings.real_node:
        node_layout = node.node_layout(settings, layout)
        wanted += [(c.name, c.port) for c in node.process_specs(node_layout).values()]
        wanted.append(("kubelet", settings.kubelet_port))
    for name, port in wanted:
        ours = processes.running_pid(layout, name) is not None
        free = ours or processes.is_port_free(port)
        detail = "used by our running cluster" if ours else ("free" if free else "in use")
        fix = "" if free else f"free port {port} or set another LLMOPS_*_PORT"
        checks.append(Check(f"port {port} ({name})", free, detail, fix))
    return checks


def check_tools(settings: LocalSettings, _env: Mapping[str, str]) -> list[Check]:
    """The pinned helm and kubectl in the project's tools folder (not whatever is on PATH)."""
    return [
        Check(
            tool.name,
            tool.verified,
            f"{tool.version} at {tool.path}"
            if tool.verified
            else ("differs from its pin" if tool.installed else "not installed"),
            "" if tool.verified else "llmops tools install",
        )
        for tool in tools_status(settings)
    ]


def check_engine(settings: LocalSettings, _env: Mapping[str, str]) -> list[Check]:
    """The vLLM venv and converted model are built; the engine ports are free or ours."""
    layout = engine_layout(settings.cache_dir)
    built = layout.ready_marker.exists() and (layout.gemma_dir / "config.json").exists()
    checks = [
        Check(
            "engine (vLLM on the CPU)",
            built,
            f"venv {layout.venv_name}" if built else "venv or converted model missing",
            "" if built else "make engine (or: llmops engine build)",
        )
    ]
    ours = {s.spec.port for s in engine_status(settings) if s.state != "stopped"}
    for port in (settings.engine_generate_port, settings.engine_embed_port):
        free = port in ours or processes.is_port_free(port)
        detail = "used by our engine" if port in ours else ("free" if free else "in use")
        fix = "" if free else f"free port {port} or set LLMOPS_ENGINE_*_PORT"
        checks.append(Check(f"port {port} (engine)", free, detail, fix))
    return checks


# Real parts the integration tier starts itself (Debian packages), by the program it runs.
TEST_PARTS = {"redis-server": "redis-server", "prometheus": "prometheus", "chromium": "chromium"}


def check_test_parts(_settings: LocalSettings, env: Mapping[str, str]) -> list[Check]:
    """Servers the integration tests start as real parts: Redis (limits shared by gateway
    replicas), Prometheus (rollout analysis), Chromium (the report in a browser)."""
    checks = []
    for program, package in TEST_PARTS.items():
        where = shutil.which(program, path=env.get("PATH"))
        fix = "" if where else f"apt-get install {package} (or: make system-packages)"
        checks.append(Check(f"test part: {program}", where is not None, where or "not found", fix))
    return checks


CHECKS: list[CheckFn] = [
    check_python,
    check_go,
    check_tools,
    check_control_plane,
    check_real_node,
    check_image_tools,
    check_test_parts,
    check_ports,
    check_engine,
]


def run_checks(settings: LocalSettings, env: Mapping[str, str]) -> list[Check]:
    return [result for check in CHECKS for result in check(settings, env)]
