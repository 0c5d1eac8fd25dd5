"""`llmops doctor`: every prerequisite, whether it is there, and the command that fixes it.

Each check is a small function returning a `Check`; none of them changes anything.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from llmops.cluster import build, lifecycle, processes, spec
from llmops.errors import LlmopsError
from llmops.settings import LocalSettings


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


def check_ports(settings: LocalSettings, _env: Mapping[str, str]) -> list[Check]:
    """A port is fine if it is free, or held by our own running component."""
    layout = lifecycle.build_layout(settings)
    checks = []
    for component in spec.build_components(layout):
        ours = processes.running_pid(layout, component.name) is not None
        free = ours or processes.is_port_free(component.port)
        detail = "used by our running cluster" if ours else ("free" if free else "in use")
        fix = "" if free else f"free port {component.port} or set another LLMOPS_*_PORT"
        checks.append(Check(f"port {component.port} ({component.name})", free, detail, fix))
    return checks


def check_binary(name: str, fix: str) -> CheckFn:
    """A binary on the tools PATH that answers `--version`-like calls."""

    def check(settings: LocalSettings, env: Mapping[str, str]) -> list[Check]:
        path = shutil.which(name, path=f"{settings.bin_dir}:{env.get('PATH', '')}")
        if path is None:
            return [Check(name, False, "not found", fix)]
        args = {"helm": ["version", "--short"], "kubectl": ["version", "--client"]}
        out = subprocess.run(
            [path, *args.get(name, ["--version"])],
            capture_output=True,
            text=True,
            check=False,
            env=dict(env),
        )
        first = (out.stdout or out.stderr).strip().splitlines()[:1]
        return [Check(name, out.returncode == 0, f"{path}: {' '.join(first)}", fix)]

    return check


CHECKS: list[CheckFn] = [
    check_python,
    check_go,
    check_binary("helm", "llmops tools install"),
    check_binary("kubectl", "llmops tools install"),
    check_control_plane,
    check_ports,
]


def run_checks(settings: LocalSettings, env: Mapping[str, str]) -> list[Check]:
    return [result for check in CHECKS for result in check(settings, env)]
