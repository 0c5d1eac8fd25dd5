"""What runs: the two vLLM OpenAI servers, as pure data and pure builders (no I/O).

- ``generate``: Gemma 3 270M (converted to float32), served as ``gemma-3-270m``;
- ``embed``: all-MiniLM-L6-v2 (384 dimensions), served as ``all-minilm-l6-v2``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

GENERATE = "generate"
EMBED = "embed"
GENERATE_MODEL = "gemma-3-270m"
EMBED_MODEL = "all-minilm-l6-v2"
HOST = "127.0.0.1"

# Present in the pinned vLLM (checked with `--help=all`): usage reports the prompt's
# cached tokens and streaming responses carry usage, which the gateway's metrics read.
USAGE_FLAGS = ("--enable-prompt-tokens-details", "--enable-force-include-usage")


@dataclass(frozen=True)
class ServerSpec:
    """One vLLM server: which model, where it listens, how it uses the CPU."""

    name: str
    served_model_name: str
    model_path: Path
    port: int
    runner: str
    # None lets vLLM derive it from the model (MiniLM allows 256, no more).
    max_model_len: int | None
    # GiB of KV cache (VLLM_CPU_KVCACHE_SPACE); vLLM's default would take a large share of RAM.
    kv_cache_gib: int
    # VLLM_CPU_OMP_THREADS_BIND: which cores the model worker's OpenMP threads use.
    cpu_bind: str
    # -O0 skips torch.compile: start-up is dominated by imports, not by warm-up.
    optimization_level: int = 0
    host: str = HOST
    # OTLP/gRPC endpoint of a collector (http://127.0.0.1:4317): vLLM then exports a span
    # per request (``llm_request``, GenAI attributes), parented to the caller's traceparent.
    otlp_traces_endpoint: str = ""

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def build_server_specs(
    generate_model: Path,
    embed_model: Path,
    generate_port: int,
    embed_port: int,
    otlp_traces_endpoint: str = "",
) -> tuple[ServerSpec, ServerSpec]:
    """The generative and the embedding server.

    vLLM's automatic binding reserves one core for its scheduler and puts the worker on
    the other, so two servers on a 2-core machine would both compute on core 0. Binding
    each worker to its own core lets them start and serve side by side. Only the
    generative server traces (when `otlp_traces_endpoint` is set): the pooling runner would
    make an ``llm_request`` span per embeddings batch as well (the pods' embedder does),
    which nothing on the host reads.
    """
    generate = ServerSpec(
        name=GENERATE,
        served_model_name=GENERATE_MODEL,
        model_path=generate_model,
        port=generate_port,
        runner="generate",
        max_model_len=2048,
        kv_cache_gib=2,
        cpu_bind="0",
        otlp_traces_endpoint=otlp_traces_endpoint,
    )
    embed = ServerSpec(
        name=EMBED,
        served_model_name=EMBED_MODEL,
        model_path=embed_model,
        port=embed_port,
        runner="pooling",
        max_model_len=None,
        kv_cache_gib=1,
        cpu_bind="1",
    )
    return generate, embed


def build_server_command(python: Path, spec: ServerSpec) -> list[str]:
    """The command line of one server (the `vllm` console script fails for `vllm-cpu`)."""
    command = [
        str(python),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(spec.model_path),
        "--served-model-name",
        spec.served_model_name,
        "--runner",
        spec.runner,
        "--host",
        spec.host,
        "--port",
        str(spec.port),
        # bfloat16 kernels die with "Illegal instruction" on these CPUs.
        "--dtype",
        "float32",
        "--optimization-level",
        str(spec.optimization_level),
        "--disable-uvicorn-access-log",
    ]
    if spec.max_model_len is not None:
        command += ["--max-model-len", str(spec.max_model_len)]
    if spec.runner == "generate":
        command += USAGE_FLAGS
    if spec.otlp_traces_endpoint:
        # Checked with the pinned vLLM's `--help=all`; OTLP/gRPC unless
        # OTEL_EXPORTER_OTLP_TRACES_PROTOCOL says otherwise (see build_server_env).
        command += ["--otlp-traces-endpoint", spec.otlp_traces_endpoint]
    return command


def build_server_env(spec: ServerSpec, vllm_cache: Path) -> dict[str, str]:
    """Variables a server needs on top of the inherited environment."""
    env = {
        "VLLM_CPU_KVCACHE_SPACE": str(spec.kv_cache_gib),
        "VLLM_CPU_OMP_THREADS_BIND": spec.cpu_bind,
        "VLLM_CACHE_ROOT": str(vllm_cache),
        # Nothing may be fetched at run time: fail fast instead of waiting on the network.
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
        "PYTHONUNBUFFERED": "1",
    }
    if spec.otlp_traces_endpoint:
        # vLLM's resource has no service name of its own ("unknown_service" in Jaeger).
        env["OTEL_SERVICE_NAME"] = f"vllm-{spec.name}"
        env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = "grpc"
    return env


def is_server_command(command: list[str], spec: ServerSpec) -> bool:
    """Whether a process command line is this server (guards against recycled pids)."""
    if "vllm.entrypoints.openai.api_server" not in command:
        return False
    try:
        return command[command.index("--port") + 1] == str(spec.port)
    except (ValueError, IndexError):
        return False


_LOG_PREFIX = re.compile(r"^\((?:APIServer|EngineCore\w*|VllmWorker[-\w]*|Worker\w*) pid=\d+\)\s?")
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b:?")
_NOISE = ("For further information visit", "See root cause above")


def pick_log_excerpt(log: str, max_lines: int = 3) -> str:
    """The lines of a server log that say why it died, joined with `` | ``.

    Exception lines (and a pydantic-style indented detail right after one) and ERROR log
    lines are kept; traceback frames and generic follow-ups are dropped. Without such
    lines, the last non-empty lines are returned.
    """
    lines = [_LOG_PREFIX.sub("", raw).rstrip() for raw in log.splitlines()]
    lines = [line for line in lines if line.strip()]
    picked: list[str] = []
    for index, line in enumerate(lines):
        if any(noise in line for noise in _NOISE):
            continue
        if _EXCEPTION.match(line) or " ERROR " in f" {line}":
            picked.append(line.strip())
            detail = lines[index + 1] if index + 1 < len(lines) else ""
            is_detail = detail.startswith("  ") and not detail.lstrip().startswith(("File ", "^"))
            if is_detail and not any(noise in detail for noise in _NOISE):
                picked.append(detail.strip())
    if not picked:
        picked = [line.strip() for line in lines]
    unique = list(dict.fromkeys(picked))
    return " | ".join(unique[-max_lines:])
