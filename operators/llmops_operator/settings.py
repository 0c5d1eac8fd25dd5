"""The operator's one settings object (env prefix ``LLMOPS_OPERATOR_``; Helm values -> env)."""

from __future__ import annotations

from pydantic import Field
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
    loadtest_command: str = Field(
        default="python -m llmops_loadtest run --profile {profile} --target {target} "
        "--users {users} --duration {duration} --report {report}",
        description="Command of the load-test gate; exit 0 = passed. Placeholders as shown.",
    )
    report_dir: str = Field(default="/tmp/llmops-reports", description="Load-test reports.")  # noqa: S108
    metrics_port: int = Field(default=9090, description="Port of the operator's /metrics.")
    serve_metrics: bool = Field(default=True, description="Serve /metrics at start-up.")
