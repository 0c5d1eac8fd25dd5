"""Build the control-plane binaries from the Go modules under ``infra/kube/`` into a cache.

Three tiny Go modules pin what we build (see their go.mod files):

- ``infra/kube/controlplane``: kube-apiserver, kube-controller-manager, kube-scheduler
  from ``k8s.io/kubernetes`` with every staging module pinned;
- ``infra/kube/etcd``: the etcd server from ``go.etcd.io/etcd/server/v3``;
- ``infra/kube/kwok``: kwok, which runs fake nodes;
- ``infra/kube/coredns``: CoreDNS, the cluster DNS (a pod on the real node);
- ``infra/kube/critools``: crictl, with which ``cluster down`` removes the node's pods.

kubelet and kube-proxy come from ``infra/kube/controlplane`` like the control plane.

The output lands in ``<cache>/kube/<key>/`` where the key hashes the three go.mod/go.sum
pairs and the Go version, so a change of pin builds a new set and an unchanged pin
reuses the old one. A ``complete.json`` marker is written last: a build cut off halfway
is redone. Go's own build cache makes a rebuild after a small change quick.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings

KUBERNETES_VERSION = "v1.35.4"
MIN_GO = (1, 26)

# name of the binary -> (module folder under infra/kube, package to build)
BINARIES: dict[str, tuple[str, str]] = {
    "etcd": ("etcd", "."),
    "kube-apiserver": ("controlplane", "k8s.io/kubernetes/cmd/kube-apiserver"),
    "kube-controller-manager": ("controlplane", "k8s.io/kubernetes/cmd/kube-controller-manager"),
    "kube-scheduler": ("controlplane", "k8s.io/kubernetes/cmd/kube-scheduler"),
    "kwok": ("kwok", "sigs.k8s.io/kwok/cmd/kwok"),
    # the real node: kubelet and kube-proxy run on this machine, CoreDNS in a pod on it
    "kubelet": ("controlplane", "k8s.io/kubernetes/cmd/kubelet"),
    "kube-proxy": ("controlplane", "k8s.io/kubernetes/cmd/kube-proxy"),
    "coredns": ("coredns", "github.com/coredns/coredns"),
    # crictl: `cluster down` asks containerd's CRI to stop and remove every pod sandbox,
    # which runs the CNI DEL that takes each pod's veth and network namespace away
    "crictl": ("critools", "sigs.k8s.io/cri-tools/cmd/crictl"),
}

# kwok needs Stage objects that say how fake nodes and pods move through their lives.
# kwokctl injects these from kwok's own module; we take the same files from the pinned
# module so they always match the kwok we run.
KWOK_STAGE_FILES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
)

Progress = Callable[[str, int, int], None]
"""Called as ``progress(step, done, total)`` while building."""


@dataclass(frozen=True)
class BuiltBinaries:
    """Where the built binaries of one pinned set live: ``<root>/bin/<name>``, and the
    ``complete.json`` marker written last. Shared with the trace tools' build
    (`llmops_infra.traces`)."""

    root: Path
    names: tuple[str, ...]
    """The binaries a complete set holds."""

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    @property
    def marker(self) -> Path:
        return self.root / "complete.json"

    def path(self, name: str) -> Path:
        return self.bin_dir / name

    def is_complete(self) -> bool:
        return self.marker.is_file() and all(self.path(n).is_file() for n in self.names)


@dataclass(frozen=True)
class ControlPlaneBinaries(BuiltBinaries):
    """The control-plane set (`BINARIES`), and kwok's stages beside it."""

    names: tuple[str, ...] = tuple(BINARIES)

    @property
    def kwok_config(self) -> Path:
        return self.root / "kwok.yaml"


def parse_go_version(text: str) -> tuple[int, int] | None:
    """``go version go1.26.8 linux/amd64`` -> ``(1, 26)``."""
    match = re.search(r"go(\d+)\.(\d+)", text)
    return (int(match[1]), int(match[2])) if match else None


def modules_dir(settings: LocalSettings) -> Path:
    return settings.repo_root / "infra" / "kube"


def build_key(modules: Path, go_version: str) -> str:
    """A short hash of everything that decides what the build produces."""
    digest = hashlib.sha256(go_version.encode())
    for module in sorted({m for m, _ in BINARIES.values()}):
        for name in ("go.mod", "go.sum", "main.go"):
            file = modules / module / name
            if file.is_file():
                digest.update(f"{module}/{name}".encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def go_version(env: Mapping[str, str]) -> str:
    go = shutil.which("go", path=env.get("PATH"))
    if go is None:
        raise LlmopsError("go", "not found on PATH", "install Go 1.26 or newer from go.dev/dl")
    out = subprocess.run(
        [go, "version"], capture_output=True, text=True, env=dict(env), check=False
    )
    found = parse_go_version(out.stdout)
    if found is None or found < MIN_GO:
        raise LlmopsError(
            "go",
            f"{out.stdout.strip() or 'unknown version'} is older than go{MIN_GO[0]}.{MIN_GO[1]}",
            "install Go 1.26 or newer from go.dev/dl",
        )
    return out.stdout.strip()


def locate(settings: LocalSettings, env: Mapping[str, str]) -> ControlPlaneBinaries:
    """The binaries for the pinned modules and this Go, built or not."""
    key = build_key(modules_dir(settings), go_version(env))
    return ControlPlaneBinaries(settings.cache_dir / "kube" / f"{KUBERNETES_VERSION}-{key}")


def go_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment for `go build`: pinned toolchain, go.sum as the only truth."""
    return {
        **env,
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=readonly",
        "CGO_ENABLED": "0",
    }


def ldflags(name: str) -> str:
    flags = ["-s", "-w"]
    if name.startswith("kube"):
        # Without these the binaries report v0.0.0-master, and Helm charts that check
        # .Capabilities.KubeVersion would see a version that does not exist.
        major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
        pkg = "k8s.io/component-base/version"
        flags += [
            f"-X {pkg}.gitVersion={KUBERNETES_VERSION}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return " ".join(flags)


def ensure_binaries(
    settings: LocalSettings, env: Mapping[str, str], progress: Progress | None = None
) -> ControlPlaneBinaries:
    """Build every control-plane binary unless the pinned set is already in the cache."""
    binaries = locate(settings, env)
    if binaries.is_complete():
        return binaries
    binaries.bin_dir.mkdir(parents=True, exist_ok=True)
    genv = go_env(env)
    by_module: dict[str, list[str]] = {}
    for name, (module, _) in BINARIES.items():
        by_module.setdefault(module, []).append(name)
    for module, names in by_module.items():
        _go_build(modules_dir(settings) / module, names, binaries.bin_dir, genv, progress)
    binaries.kwok_config.write_text(_kwok_stages(modules_dir(settings) / "kwok", genv))
    binaries.marker.write_text(
        json.dumps({"kubernetes": KUBERNETES_VERSION, "go": go_version(env)}, indent=2)
    )
    return binaries


def _go_build(
    module: Path,
    names: list[str],
    out_dir: Path,
    env: dict[str, str],
    progress: Progress | None,
) -> None:
    """Build the binaries of one module in one `go build` (they share most packages)."""
    packages = [BINARIES[n][1] for n in names]
    build_packages(
        module,
        packages,
        label=", ".join(names),
        out_dir=out_dir,
        env=env,
        progress=progress,
        flags=ldflags(names[0]),
    )


def build_packages(
    module: Path,
    packages: list[str],
    *,
    label: str,
    out_dir: Path,
    env: dict[str, str],
    progress: Progress | None,
    flags: str = "-s -w",
) -> None:
    """`go build` of `packages` in `module` into `out_dir`, reporting each compiled package.

    Shared with the trace tools' build (`llmops_infra.traces`). Raises `LlmopsError` with
    the telling lines of Go's output when the build fails.
    """
    listed = subprocess.run(
        ["go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", *packages],
        cwd=module,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        _fail(module, label, listed.stderr)
    total = max(1, len([line for line in listed.stdout.splitlines() if line]))
    # `go build -v` names each package as it compiles it: that is our progress.
    cmd = ["go", "build", "-v", "-trimpath", "-ldflags", flags, "-o", f"{out_dir}/"]
    with subprocess.Popen(
        [*cmd, *packages], cwd=module, env=env, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stderr is not None
        lines: list[str] = []
        for line in proc.stderr:
            lines.append(line.rstrip())
            if progress:
                progress(f"building {label}", min(len(lines), total), total)
        code = proc.wait()
    if code != 0:
        _fail(module, label, "\n".join(lines))
    if progress:
        progress(f"built {label}", total, total)


def _fail(module: Path, label: str, stderr: str) -> None:
    errors = [line for line in stderr.strip().splitlines() if ": " in line or "error" in line]
    tail = " | ".join((errors or stderr.strip().splitlines() or ["no output"])[-3:])
    raise LlmopsError(
        f"go build ({label})",
        f"failed: {tail}",
        f"run `go build ./...` in {module} to see the whole error",
    )


def _kwok_stages(module: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        ["go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kwok"],
        cwd=module,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    source = Path(result.stdout.strip())
    if result.returncode != 0 or not source.is_dir():
        raise LlmopsError("kwok stages", f"cannot find the kwok module: {result.stderr.strip()}")
    docs = [(source / name).read_text().strip() for name in KWOK_STAGE_FILES]
    return "\n---\n".join(docs) + "\n"
