"""Lay the milvus wheel's server out like the milvusdb/milvus image: /milvus/{bin,lib,configs}.

Run once at image build time by the wheel's own interpreter: decompresses the server and its
libraries (the wheel's `_initialize_data_files` does the same into a data folder at every
start) and renders the wheel's config template with the data paths of the chart's volume
(/var/lib/milvus) and logs on stdout, so the container runs `milvus run standalone` directly.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import milvus

DATA = "/var/lib/milvus"


def main(out: Path) -> None:
    milvus._initialize_data_files(str(out))  # -> out/bin: the server and its libraries
    bin_dir, lib_dir = out / "bin", out / "lib"
    lib_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(bin_dir.iterdir()):
        if path.name.endswith(".md5"):
            path.unlink()
        elif path.name != "milvus":
            shutil.move(str(path), lib_dir / path.name)

    config = milvus.MilvusServerConfig()
    for key, value in {
        "etcd_data_dir": f"{DATA}/etcd",
        "etcd_log_path": "stdout",
        "local_storage_dir": f"{DATA}/data",
        "rocksmq_data_dir": f"{DATA}/rocksmq",
        "system_log_path": "",  # empty: the server logs to stdout
    }.items():
        config.set(key, value)
    missing = [key for key, item in config.configurable_items.items() if item[1] is None]
    if missing:
        raise SystemExit(f"config items without a value: {missing}")
    config.base_data_dir = str(out)
    config.write_config()  # -> out/configs/milvus.yaml and glog.conf


if __name__ == "__main__":
    main(Path(sys.argv[1]))
