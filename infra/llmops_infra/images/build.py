"""Build the catalogue's images daemonless (mmdebstrap, buildah, go) into OCI archives.

Layout under ``LocalSettings().cache_dir``::

    images/
      <name>-<tag>-<key>.tar     one OCI archive per image and content key (the cache)
      logs/<name>.log            output of that image's last build
      work/                      scratch space of a running build (removed after)
    buildah/root, buildah/run    buildah's storage (overlay driver), shared by all builds

An image whose archive exists is a cache hit: only its inputs are hashed. The archive is
written under a temporary name and renamed, so it is complete whenever it exists. The
archive's image is named ``docker.io/llmops/<name>:<tag>``, the name `load` gives containerd.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from llmops_infra.errors import LlmopsError
from llmops_infra.images.spec import (
    BUILD_REGISTRY,
    CHART_OF,
    Containerfile,
    GoBinary,
    HostBinary,
    ImageSpec,
    Rootfs,
    build_cache_key,
    build_catalog,
    build_config_flags,
    build_mmdebstrap_command,
    is_input_file,
    parse_app_version,
    plan_builds,
    resolve_build_args,
)
from llmops_infra.settings import LocalSettings, base_env

STORAGE_DRIVER = "overlay"  # works on these machines' ext4; vfs copies every layer in full
# The host's trust store, mounted over the image's during RUN steps only: pip inside a build
# must trust what the host trusts (e.g. an egress proxy's CA); the image keeps Debian's.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
_TAIL_LINES = 3

StepCallback = Callable[[str], None]

_INSTALL_FIX = {
    "buildah": "apt-get install buildah",
    "mmdebstrap": "apt-get install mmdebstrap",
    "go": "install Go 1.22 or newer from go.dev/dl",
}


@dataclass(frozen=True)
class BuiltImage:
    name: str
    ref: str  # docker.io/llmops/<name>:<tag>
    key: str
    archive: Path
    seconds: float
    cached: bool


def catalog(settings: LocalSettings) -> dict[str, ImageSpec]:
    """The catalogue with the charts' appVersions of this checkout."""
    versions = {}
    for chart in CHART_OF.values():
        chart_yaml = settings.repo_root / "charts" / chart / "Chart.yaml"
        versions[chart] = parse_app_version(chart_yaml.read_text(encoding="utf-8"))
    return build_catalog(versions)


def image_ref(name: str, settings: LocalSettings) -> str:
    """The full reference the cluster uses for image `name`, e.g. docker.io/llmops/pause:0.1.0."""
    images = catalog(settings)
    if name not in images:
        raise LlmopsError(f"image {name}", "not in the catalogue", f"one of {', '.join(images)}")
    return images[name].ref


def build_images(
    settings: LocalSettings,
    names: Sequence[str] = (),
    *,
    coredns_binary: Path | None = None,
    force: bool = False,
    console: Console | None = None,
) -> list[BuiltImage]:
    """Build `names` (every image when empty, coredns only with `coredns_binary`).

    Parents are built (or found in the cache) first. Returns one entry per image, in
    build order, parents included.
    """
    images = catalog(settings)
    wanted = list(names) or [n for n in images if n != "coredns" or coredns_binary is not None]
    if "coredns" in wanted and coredns_binary is None:
        raise LlmopsError("image coredns", "needs the coredns binary", "--coredns-binary PATH")
    try:
        plan = plan_builds(images, wanted)
    except ValueError as err:
        raise LlmopsError("llmops images", str(err), "llmops images build --help") from err
    builder = _Builder(settings, images, coredns_binary, force)
    results: list[BuiltImage] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(
        *columns, TimeElapsedColumn(), console=console or Console(stderr=True), transient=True
    ) as progress:
        overall = progress.add_task("images", total=len(plan))
        for name in plan:
            progress.update(overall, description=f"image {name}")

            def on_step(step: str, image: str = name) -> None:
                progress.update(overall, description=f"image {image}: {step}")

            built = builder.ensure(name, on_step)
            results.append(built)
            how = "cached" if built.cached else "built"
            progress.console.print(
                f"[green]✓[/] {built.ref} {how} ({built.seconds:.1f} s, "
                f"{built.archive.stat().st_size / 1e6:.0f} MB)",
                highlight=False,
            )
            progress.advance(overall)
    return results


# Archives kept per image: the newest few (another checkout may still use an older key; a
# missing one is rebuilt). Without pruning every source change leaves ~270 MB behind.
KEEP_ARCHIVES = 3


def stale_builds(listed: str, name: str, key: str) -> list[str]:
    """From ``buildah images`` lines (``repository:tag``), the builds of image `name` other
    than the one with content key `key`: each rebuild leaves one (about 0.5 GB for the
    gateway and the operator), and their archives stay (`_prune`) if one is needed again."""
    repository = f"{BUILD_REGISTRY}/{name}"
    refs = (line.strip() for line in listed.splitlines())
    return [
        ref for ref in refs if ref.rpartition(":")[0] == repository and ref != f"{repository}:{key}"
    ]


def _prune(newest: Path, prefix: str, keep: int) -> None:
    """Delete all but the `keep` newest archives whose names start with `prefix`."""
    archives = sorted(
        (p for p in newest.parent.glob(f"{prefix}*.tar") if p.is_file()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in archives[keep:]:
        old.unlink(missing_ok=True)


class _Builder:
    """The I/O of one `build_images` call: keys, tools, logs, buildah's storage."""

    def __init__(
        self,
        settings: LocalSettings,
        images: Mapping[str, ImageSpec],
        coredns_binary: Path | None,
        force: bool,
    ) -> None:
        self.settings = settings
        self.images = images
        self.coredns_binary = coredns_binary
        self.force = force
        self.keys: dict[str, str] = {}
        self.out_dir = settings.images_dir
        self.log_dir = settings.images_dir / "logs"
        self.storage = settings.cache_dir / "buildah"
        self.env = base_env()

    # -- keys ----------------------------------------------------------------------------
    def key(self, name: str) -> str:
        if name not in self.keys:
            spec = self.images[name]
            parents = {parent: self.key(parent) for parent in spec.parents}
            self.keys[name] = build_cache_key(spec, self._digests(spec), parents, self._facts(spec))
        return self.keys[name]

    def _digests(self, spec: ImageSpec) -> dict[str, str]:
        root = self.settings.repo_root
        digests = {}
        for entry in spec.inputs:
            path = root / entry
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for file in files:
                relative = PurePosixPath(file.relative_to(root).as_posix())
                if is_input_file(relative):
                    digests[str(relative)] = hashlib.sha256(file.read_bytes()).hexdigest()
        return digests

    def _facts(self, spec: ImageSpec) -> dict[str, str]:
        if isinstance(spec.source, GoBinary):
            return {"go": self._output([self._tool("go"), "version"], "go").strip()}
        if isinstance(spec.source, HostBinary):
            binary = self._host_binary()
            return {"binary": hashlib.sha256(binary.read_bytes()).hexdigest()}
        return {}

    def _host_binary(self) -> Path:
        binary = self.coredns_binary
        if binary is None or not binary.is_file():
            raise LlmopsError(
                "image coredns", f"no coredns binary at {binary}", "llmops cluster build"
            )
        return binary

    # -- building -----------------------------------------------------------------------
    def ensure(self, name: str, on_step: StepCallback) -> BuiltImage:
        started = time.monotonic()
        spec = self.images[name]
        key = self.key(name)
        archive = self.out_dir / spec.archive_name(key)
        if archive.is_file() and not self.force:
            return BuiltImage(name, spec.ref, key, archive, time.monotonic() - started, True)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        log.write_text(f"build of {spec.ref} (key {key})\n", encoding="utf-8")
        # Per process: two builds of one image at once must not share scratch files.
        work = self.out_dir / "work" / f"{name}-{key}-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            for parent in spec.parents:
                on_step(f"local {parent}")
                self._ensure_in_storage(parent, log)
            self._build(spec, key, work, log, on_step)
            on_step("write the OCI archive")
            partial = archive.with_name(f"{archive.name}.{os.getpid()}.partial")
            partial.unlink(missing_ok=True)
            self._buildah(["push", spec.build_ref(key), f"oci-archive:{partial}:{spec.ref}"], log)
            partial.rename(archive)
            _prune(archive, spec.archive_name("").removesuffix(".tar"), KEEP_ARCHIVES)
            self._drop_stale_builds(spec, key, log)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return BuiltImage(name, spec.ref, key, archive, time.monotonic() - started, False)

    def _build(
        self, spec: ImageSpec, key: str, work: Path, log: Path, on_step: StepCallback
    ) -> None:
        source = spec.source
        if isinstance(source, Containerfile):
            on_step("buildah bud")
            self._bud(spec, source, key, log)
            return
        if isinstance(source, Rootfs):
            on_step("mmdebstrap")
            rootfs = work / "rootfs.tar"
            self._run(build_mmdebstrap_command(self._tool("mmdebstrap"), source, rootfs), log)
            contents = [(rootfs, "/")]
        elif isinstance(source, GoBinary):
            on_step("go build")
            binary = work / PurePosixPath(source.dest).name
            self._go_build(self.settings.repo_root / source.module, source, binary, log)
            contents = [(binary, source.dest)]
        else:
            contents = [(self._host_binary(), source.dest)]
        on_step("buildah commit")
        container = self._buildah(["from", "--pull=false", "scratch"], log).strip().splitlines()[-1]
        try:
            for path, dest in contents:
                # `add` unpacks a local tar (a rootfs keeps owners and modes); files keep modes.
                self._buildah(["add", container, str(path), dest], log)
            self._buildah(["config", *build_config_flags(spec.config), container], log)
            self._buildah(["commit", "--rm", container, spec.build_ref(key)], log)
        except LlmopsError:
            self._buildah_try(["rm", container], log)
            raise

    def _bud(self, spec: ImageSpec, source: Containerfile, key: str, log: Path) -> None:
        root = self.settings.repo_root
        parent_ref = self.images[spec.parents[0]].build_ref(self.key(spec.parents[0]))
        command = [
            "bud",
            "--layers",
            "--pull=false",
            "--isolation=chroot",
            "--network=host",
            "-f",
            str(root / source.file),
            "-t",
            spec.build_ref(key),
        ]
        if source.target:
            command += ["--target", source.target]
        for arg, value in resolve_build_args(source, parent_ref):
            command += ["--build-arg", f"{arg}={value}"]
        if HOST_CA_BUNDLE.is_file():
            command += ["-v", f"{HOST_CA_BUNDLE}:/etc/ssl/certs/ca-certificates.crt:ro"]
        self._buildah([*command, str(root / source.context)], log)

    def _drop_stale_builds(self, spec: ImageSpec, key: str, log: Path) -> None:
        """Untag this image's older builds in buildah's storage, then remove the layers only
        they used (the layers of the current build, and its `--layers` cache, stay)."""
        listed = self._buildah_try(["images", "--format", "{{.Name}}:{{.Tag}}"], log) or ""
        stale = stale_builds(listed, spec.name, key)
        if stale:
            self._buildah_try(["rmi", *stale], log)
            # a removed top image leaves its untagged parents dangling, one level at a time
            for _ in range(8):
                if not (self._buildah_try(["rmi", "--prune"], log) or "").strip():
                    break

    def _ensure_in_storage(self, name: str, log: Path) -> None:
        """Make the parent's build present in buildah's storage (it may be only archived)."""
        spec = self.images[name]
        ref = spec.build_ref(self.key(name))
        if self._buildah_try(["inspect", "--type", "image", ref], log) is not None:
            return
        archive = self.out_dir / spec.archive_name(self.key(name))
        if not archive.is_file():
            raise LlmopsError(
                f"image {name}", "parent archive missing", f"llmops images build {name}"
            )
        image_id = self._buildah(["pull", "-q", f"oci-archive:{archive}"], log).strip()
        self._buildah(["tag", image_id.splitlines()[-1], ref], log)

    def _go_build(self, module: Path, source: GoBinary, binary: Path, log: Path) -> None:
        env = {
            **self.env,
            "CGO_ENABLED": "0",
            "GOTOOLCHAIN": "local",
            "GOFLAGS": "-mod=readonly",
        }
        command = [
            self._tool("go"),
            "build",
            "-trimpath",
            "-ldflags",
            "-s -w",
            *(["-tags", ",".join(source.tags)] if source.tags else []),
            "-o",
            str(binary),
            source.package,
        ]
        self._run(command, log, cwd=module, env=env)

    # -- processes ----------------------------------------------------------------------
    def _tool(self, name: str) -> str:
        found = shutil.which(name, path=self.env.get("PATH"))
        if found is None:
            raise LlmopsError(name, "not found on PATH", _INSTALL_FIX[name])
        return found

    def _buildah(self, args: list[str], log: Path) -> str:
        result = self._buildah_try(args, log, check=True)
        assert result is not None  # check=True raises instead
        return result

    def _buildah_try(self, args: list[str], log: Path, *, check: bool = False) -> str | None:
        storage = [
            "--root",
            str(self.storage / "root"),
            "--runroot",
            str(self.storage / "run"),
            "--storage-driver",
            STORAGE_DRIVER,
        ]
        return self._run(
            [self._tool("buildah"), *storage, *args], log, check=check, piece=f"buildah {args[0]}"
        )

    def _output(self, command: list[str], piece: str) -> str:
        result = subprocess.run(command, capture_output=True, text=True, env=self.env, check=False)
        if result.returncode != 0:
            raise LlmopsError(piece, result.stderr.strip() or f"exit {result.returncode}")
        return result.stdout

    def _run(
        self,
        command: list[str],
        log: Path,
        *,
        check: bool = True,
        piece: str = "",
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> str | None:
        """Run `command` with its output appended to `log`; its stdout, or None if it failed.

        With `check`, a failure raises `LlmopsError` naming `piece` (else the program) with
        the last lines of the log.
        """
        piece = piece or Path(command[0]).name
        with log.open("a", encoding="utf-8") as sink:
            sink.write(f"\n$ {' '.join(command)}\n")
            sink.flush()
            result = subprocess.run(
                command,
                cwd=cwd,
                env=dict(env or self.env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=sink,
                text=True,
                check=False,
            )
            sink.write(result.stdout)
        if result.returncode == 0:
            return result.stdout
        if not check:
            return None
        lines = [line.strip() for line in log.read_text(encoding="utf-8").splitlines()]
        tail = " | ".join([line for line in lines if line][-_TAIL_LINES:])
        raise LlmopsError(
            f"image build ({piece})",
            f"failed: {tail} (log: {log})",
            "read the log; `llmops images build --force` redoes the build",
        )
