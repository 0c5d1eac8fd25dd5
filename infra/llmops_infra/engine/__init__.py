"""A real inference engine for the tests and the local default: vLLM on the CPU.

Two OpenAI-compatible servers run as background processes from their own virtualenv:
``gemma-3-270m`` (completions) and ``all-minilm-l6-v2`` (embeddings). Public surface:

- `build_engine(settings)`: build the venv and convert the models (cached, idempotent);
- `start_engines(settings) -> EngineHandle`, `wait_ready(handle, timeout)`;
- `stop_engines(settings, names=None)`, `engine_status(settings)`;
- `start_server(settings, spec)`, `stop_server(settings, server)`: one more server
  beside the shared pair (e.g. a generate server that traces, for a test).
"""

from llmops_infra.engine.build import BuildReport, build_engine
from llmops_infra.engine.launcher import (
    EngineHandle,
    RunningServer,
    ServerStatus,
    engine_status,
    start_engines,
    start_server,
    stop_engines,
    stop_server,
    wait_ready,
)
from llmops_infra.engine.servers import EMBED, EMBED_MODEL, GENERATE, GENERATE_MODEL, ServerSpec

__all__ = [
    "EMBED",
    "EMBED_MODEL",
    "GENERATE",
    "GENERATE_MODEL",
    "BuildReport",
    "EngineHandle",
    "RunningServer",
    "ServerSpec",
    "ServerStatus",
    "build_engine",
    "engine_status",
    "start_engines",
    "start_server",
    "stop_engines",
    "stop_server",
    "wait_ready",
]
