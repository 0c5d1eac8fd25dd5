"""Build the local trace tools from the Go modules under ``infra/otel/`` into a cache.

- ``infra/otel/otelcol``: an OpenTelemetry Collector (a tiny main over the collector's
  ``otelcol`` package with the OTLP receiver, the batch processor and the OTLP and debug
  exporters), every collector module at one release;
- ``infra/otel/jaeger``: Jaeger v1.75.0's all-in-one binary, ``cmd/jaeger``.

The collector's release is the one Jaeger v1.75.0 pins, so the second build reuses most of
the first's compiled packages. Output lands in ``<cache>/traces/<key>/bin/``; the key
hashes both modules' go.mod, go.sum and Go files and the Go version, so a change of pin
builds a new set. ``complete.json`` (written last) records how long each build took and
how large each binary is; a build cut off halfway is redone.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from llmops_infra.cluster.build import BuiltBinaries, Progress, build_packages, go_env, go_version
from llmops_infra.settings import LocalSettings

JAEGER_VERSION = "v1.75.0"
COLLECTOR_VERSION = "v0.139.0"

# binary -> (module folder under infra/otel, package to build)
BINARIES: dict[str, tuple[str, str]] = {
    "otelcol": ("otelcol", "."),
    "jaeger": ("jaeger", "github.com/jaegertracing/jaeger/cmd/jaeger"),
}
_KEYED_FILES = ("go.mod", "go.sum", "main.go", "tools.go")


@dataclass(frozen=True)
class TraceBinaries(BuiltBinaries):
    """The collector and Jaeger (`BINARIES`), and what their build took."""

    names: tuple[str, ...] = tuple(BINARIES)

    def report(self) -> dict[str, dict[str, float]]:
        """``{binary: {"build_s": ..., "size_mb": ...}}`` from the marker."""
        data: dict[str, dict[str, float]] = json.loads(self.marker.read_text())["binaries"]
        return data


def modules_dir(settings: LocalSettings) -> Path:
    return settings.repo_root / "infra" / "otel"


def build_key(modules: Path, go: str) -> str:
    """A short hash of everything that decides what the build produces (pure over files)."""
    digest = hashlib.sha256(go.encode())
    for module in sorted({m for m, _ in BINARIES.values()}):
        for name in _KEYED_FILES:
            file = modules / module / name
            if file.is_file():
                digest.update(f"{module}/{name}".encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def locate(settings: LocalSettings, env: Mapping[str, str]) -> TraceBinaries:
    """The binaries for the pinned modules and this Go, built or not."""
    key = build_key(modules_dir(settings), go_version(env))
    return TraceBinaries(settings.cache_dir / "traces" / f"jaeger-{JAEGER_VERSION}-{key}")


def ensure_trace_binaries(
    settings: LocalSettings, env: Mapping[str, str], progress: Progress | None = None
) -> TraceBinaries:
    """Build the collector and Jaeger unless the pinned set is already in the cache."""
    binaries = locate(settings, env)
    if binaries.is_complete():
        return binaries
    binaries.bin_dir.mkdir(parents=True, exist_ok=True)
    genv = go_env(env)
    built: dict[str, dict[str, float]] = {}
    for name, (module, package) in BINARIES.items():
        started = time.monotonic()
        build_packages(
            modules_dir(settings) / module,
            [package],
            label=name,
            out_dir=binaries.bin_dir,
            env=genv,
            progress=progress,
        )
        built[name] = {
            "build_s": round(time.monotonic() - started, 1),
            "size_mb": round(binaries.path(name).stat().st_size / 1e6, 1),
        }
    binaries.marker.write_text(
        json.dumps(
            {
                "jaeger": JAEGER_VERSION,
                "collector": COLLECTOR_VERSION,
                "go": go_version(env),
                "binaries": built,
            },
            indent=2,
        )
    )
    return binaries
