"""The local trace store: an OpenTelemetry Collector and Jaeger, built from pinned Go modules.

- `ensure_trace_binaries(settings, env, progress)`: build both (cached by content);
- `start_traces(...)`, `wait_traces_ready(handle)`, `stop_traces(run_dir)`,
  `traces_status(run_dir, ports)`: the two processes on loopback;
- `TracePorts`: where spans go in (`otlp_http_traces_url`, `otlp_grpc_url`) and where
  traces are read (`query_url`).
"""

from llmops_infra.traces.build import (
    COLLECTOR_VERSION,
    JAEGER_VERSION,
    TraceBinaries,
    ensure_trace_binaries,
)
from llmops_infra.traces.processes import (
    TracePorts,
    TracesHandle,
    TraceStatus,
    build_process_specs,
    config_dir,
    run_dir,
    start_traces,
    stop_traces,
    trace_ports,
    traces_status,
    wait_traces_ready,
)

__all__ = [
    "COLLECTOR_VERSION",
    "JAEGER_VERSION",
    "TraceBinaries",
    "TracePorts",
    "TraceStatus",
    "TracesHandle",
    "build_process_specs",
    "config_dir",
    "ensure_trace_binaries",
    "run_dir",
    "start_traces",
    "stop_traces",
    "trace_ports",
    "traces_status",
    "wait_traces_ready",
]
