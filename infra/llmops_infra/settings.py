"""The one settings object of the local tooling (the `llmops` CLI and the test fixtures).

Every value can be set from the environment with the ``LLMOPS_`` prefix, e.g.
``LLMOPS_CACHE_DIR=/big/disk/llmops``. Nothing else in `llmops` reads ``os.environ``
(tests and the CLI pass the object along).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class LocalSettings(BaseSettings):
    """Where the local platform keeps its binaries, state and ports."""

    model_config = SettingsConfigDict(env_prefix="LLMOPS_", extra="ignore")

    repo_root: Path = Field(default=REPO_ROOT, description="Checkout of this repository.")
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "llmops",
        description="Built binaries, downloaded wheels and the engine venv; shared by checkouts.",
    )
    tools_dir: Path = Field(
        default=REPO_ROOT / ".tools",
        description="Project-local helm and kubectl (put on PATH by the CLI and the tests).",
    )

    # -- local cluster -------------------------------------------------------------
    cluster_name: str = "llmops"
    etcd_client_port: int = 12379
    etcd_peer_port: int = 12380
    apiserver_port: int = 16443
    controller_manager_port: int = 20257
    scheduler_port: int = 20259
    kwok_port: int = 20247
    kwok_nodes: int = 2
    volume_pool_size: int = Field(
        default=16, description="PersistentVolumes pre-made for claims (no provisioner here)."
    )
    cluster_up_timeout_s: float = 90.0

    # -- the real node (containerd + kubelet; needs root) -----------------------------
    real_node: bool = Field(
        default=True,
        description="Run one real node (containerd, kubelet, kube-proxy, CoreDNS) beside the "
        "kwok nodes. Needs root; set LLMOPS_REAL_NODE=false for a kwok-only cluster.",
    )
    containerd_metrics_port: int = 20338
    kubelet_port: int = 20250
    kubelet_healthz_port: int = 20248
    kube_proxy_healthz_port: int = 20256
    kube_proxy_metrics_port: int = 20249
    node_up_timeout_s: float = Field(
        default=180.0, description="From containerd's start to CoreDNS Ready on the real node."
    )

    # -- an existing cluster instead of the local one ------------------------------
    use_existing_cluster: bool = False
    kubeconfig: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("LLMOPS_KUBECONFIG", "KUBECONFIG"),
        description="Kubeconfig of an existing cluster (used only with use_existing_cluster).",
    )
    allowed_contexts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Contexts of an existing cluster that llmops may touch (comma separated).",
    )

    @field_validator("allowed_contexts", mode="before")
    @classmethod
    def _split_contexts(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    # -- inference engine (vLLM on the CPU) ----------------------------------------
    engine_generate_port: int = 18000
    engine_embed_port: int = 18001
    engine_otlp_traces_endpoint: str = Field(
        default="",
        description="OTLP/gRPC endpoint the generate server exports its request spans to "
        "(`llmops engine up --otlp-traces-endpoint`, e.g. http://127.0.0.1:4317).",
    )

    # -- the local trace store (`llmops traces up`; loopback only) -------------------
    otelcol_grpc_port: int = 4317
    otelcol_http_port: int = 4318
    jaeger_otlp_grpc_port: int = 14317
    jaeger_otlp_http_port: int = 14318
    jaeger_query_port: int = 16686
    jaeger_query_grpc_port: int = 16685

    @property
    def bin_dir(self) -> Path:
        """Project-local executables: helm, kubectl."""
        return self.tools_dir / "bin"

    @property
    def cluster_dir(self) -> Path:
        """State of the local cluster: certificates, data, logs, pid files, kubeconfig."""
        return self.cache_dir / "clusters" / self.cluster_name

    @property
    def admin_kubeconfig(self) -> Path:
        return self.cluster_dir / "admin.kubeconfig"

    @property
    def node_dir(self) -> Path:
        """State of the real node: containerd's and kubelet's roots, CNI config, logs."""
        return self.cluster_dir / "node"

    @property
    def volumes_dir(self) -> Path:
        """Folders behind the pre-made PersistentVolumes (pods on the real node write here)."""
        return self.cluster_dir / "volumes"

    @property
    def containerd_socket(self) -> Path:
        """containerd's CRI socket on the real node (`ctr -a` and kubelet use it)."""
        return self.node_dir / "containerd.sock"

    @property
    def images_dir(self) -> Path:
        """Images built here (OCI archives keyed by content hash), shared by checkouts."""
        return self.cache_dir / "images"


def base_env() -> dict[str, str]:
    """A copy of this process's environment, the base of every child process's env.

    The one place outside the settings object that reads the environment: child
    processes (Go, helm, kubectl, the control plane) need PATH, HOME and friends.
    """
    return dict(os.environ)
