"""The operator's one settings object (env prefix ``LLMOPS_OPERATOR_``; Helm values -> env)."""

from __future__ import annotations

import ipaddress
import json
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class OperatorSettings(BaseSettings):
    """Everything the operator process is configured with; nothing else reads the env."""

    model_config = SettingsConfigDict(env_prefix="LLMOPS_OPERATOR_", extra="ignore")

    prometheus_url: str = Field(
        default="http://prometheus-server.monitoring.svc:80",
        description="Prometheus HTTP API base URL that analysis queries.",
    )
    prometheus_timeout_s: float = Field(
        default=5.0, description="Per-query timeout; a timeout is an inconclusive measurement."
    )
    routing_configmap: str = Field(
        default="llmops-routing",
        description="ConfigMap (in each ModelDeployment's namespace) holding the gateway table.",
    )
    routing_key: str = Field(default="routing.yaml", description="Key of the table in it.")
    tick_interval_s: float = Field(
        default=2.0, description="How often each ModelDeployment's rollout is advanced."
    )
    error_backoff_s: float = Field(
        default=5.0,
        gt=0,
        description="A tick that failed (e.g. the API server refused a write) runs again this "
        "soon instead of kopf's 60 s; the error is logged and posted as an Event.",
    )
    loadtest_gateway_url: str = Field(
        default="",
        description="Load-test gates go through this llmops gateway (the spec's alias, the "
        "revision pinned with x-llmops-revision); empty: straight to the revision's Service.",
    )
    loadtest_runner: Literal["process", "job"] = Field(
        default="process",
        description="How load-test gates run: `process`, a child process of the operator "
        "(lost if it restarts; the gate starts again), or `job`, an in-cluster Job per run "
        "(survives restarts; needs loadtest_image and the chart's Job rights).",
    )
    loadtest_image: str = Field(
        default="",
        description="Image of the gate Jobs (it must carry `llmops-loadtest`: the operator's "
        "own image does). Required with loadtest_runner=job.",
    )
    loadtest_node_selector: dict[str, str] = Field(
        default_factory=dict, description="nodeSelector of the gate Jobs' pods (JSON)."
    )
    loadtest_tolerations: list[dict[str, Any]] = Field(
        default_factory=list, description="Tolerations of the gate Jobs' pods (JSON)."
    )
    loadtest_verify_table_s: float = Field(
        default=120.0,
        ge=0,
        description="A gate run through the gateway starts once the gateway's /readyz "
        "reports the routing table version the operator wrote (a mounted ConfigMap reaches "
        "the pod a minute or so after it changes); after this long it starts anyway, with a "
        "warning Event. 0: do not wait.",
    )
    loadtest_grace_s: float = Field(
        default=300.0,
        gt=0,
        description="A gate run still going this long after its duration is stopped and fails.",
    )
    report_dir: str = Field(
        default="/tmp/llmops-reports",  # noqa: S108 -- an emptyDir in the pod
        description="Folder of the load-test gates' inputs, logs and reports.",
    )
    bind_address: str = Field(
        default="127.0.0.1",
        description="IP address the operator's HTTP endpoints (/metrics and kopf's /healthz) "
        "listen on. Loopback by default: nothing outside the host or pod reaches them; the "
        "chart sets the pod's IP (its probes and Prometheus come from outside the pod); "
        "0.0.0.0 or :: listens on every interface.",
    )
    metrics_port: int = Field(default=9090, description="Port of the operator's /metrics.")
    serve_metrics: bool = Field(default=True, description="Serve /metrics at start-up.")
    # -- MLflow registry (spec.model.mlflow) -----------------------------------------------
    mlflow_tracking_uri: str = Field(
        default="", description="MLflow server for references without trackingUri; empty: none."
    )
    mlflow_timeout_s: float = Field(default=5.0, gt=0, description="Per-call timeout.")
    mlflow_retry_s: float = Field(
        default=30.0, gt=0, description="Delay before an unreachable MLflow is asked again."
    )
    mlflow_release_alias: str = Field(
        default="production", description="Alias moved to a version once its rollout succeeds."
    )
    # -- How the process runs (`python -m llmops_operator`; the chart sets these) ----------
    namespaces: str = Field(
        default="", description="Comma-separated namespaces to watch; empty: every namespace."
    )
    health_port: int = Field(default=8080, description="Port of kopf's /healthz (liveness).")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO")
    leader_election: bool = Field(
        default=False, description="Act only while holding the Lease (one active replica)."
    )
    lease_name: str = Field(default="llmops-operator", description="Name of that Lease.")
    lease_namespace: str = Field(default="default", description="Namespace of that Lease.")
    pod_name: str = Field(
        default="", description="This replica's identity in the Lease; empty: host name + pid."
    )
    lease_duration_s: int = Field(
        default=15, ge=1, description="A standby takes over this long after the last renewal."
    )
    renew_deadline_s: float = Field(
        default=10.0, gt=0, description="A leader that cannot renew this long stops acting."
    )
    retry_period_s: float = Field(default=2.0, gt=0, description="How often the Lease is tried.")
    # -- Traces ----------------------------------------------------------------------------
    otlp_endpoint: str = Field(
        default="",
        description="OTLP/HTTP traces endpoint (http://collector:4318/v1/traces): a span per "
        "rollout tick and per step of it; empty: no traces.",
    )
    service_name: str = Field(default="llmops-operator", description="service.name of spans.")

    @field_validator("bind_address")
    @classmethod
    def _ip_address(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise ValueError(
                f"{value!r} is not an IP address (e.g. 127.0.0.1, 0.0.0.0, ::)"
            ) from None

    @property
    def bind_host(self) -> str:
        """``bind_address`` as a URL's host: an IPv6 address in brackets."""
        address = ipaddress.ip_address(self.bind_address)
        return f"[{address}]" if address.version == 6 else str(address)

    @model_validator(mode="after")
    def _lease_timing(self) -> OperatorSettings:
        # The old leader must stop acting before anyone else may take the Lease.
        if self.renew_deadline_s >= self.lease_duration_s:
            raise ValueError("renew_deadline_s must be shorter than lease_duration_s")
        return self

    @field_validator("loadtest_node_selector", "loadtest_tolerations", mode="before")
    @classmethod
    def _from_json(cls, value: object) -> object:
        # The chart passes them as JSON text (what the environment carries).
        return json.loads(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _job_image(self) -> OperatorSettings:
        if self.loadtest_runner == "job" and not self.loadtest_image:
            raise ValueError(
                "loadtest_runner=job needs loadtest_image (LLMOPS_OPERATOR_LOADTEST_IMAGE), an "
                "image that carries llmops-loadtest, e.g. the operator's own"
            )
        return self

    @property
    def watched_namespaces(self) -> list[str]:
        return [ns.strip() for ns in self.namespaces.split(",") if ns.strip()]
