"""The vLLM servers' command lines, environments and log excerpts: pure builders."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops_infra.engine.servers import (
    EMBED_MODEL,
    GENERATE_MODEL,
    USAGE_FLAGS,
    build_server_command,
    build_server_env,
    build_server_specs,
    is_server_command,
    pick_log_excerpt,
)

pytestmark = pytest.mark.unit

PYTHON = Path("/venv/bin/python")
GENERATE, EMBED = build_server_specs(Path("/m/gemma"), Path("/m/minilm"), 18000, 18001)


def _option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_servers_run_the_openai_module_not_the_console_script() -> None:
    command = build_server_command(PYTHON, GENERATE)
    assert command[:3] == [str(PYTHON), "-m", "vllm.entrypoints.openai.api_server"]


def test_generate_server_serves_gemma_in_float32_on_its_port() -> None:
    command = build_server_command(PYTHON, GENERATE)
    assert _option(command, "--model") == "/m/gemma"
    assert _option(command, "--served-model-name") == GENERATE_MODEL
    assert _option(command, "--runner") == "generate"
    assert _option(command, "--dtype") == "float32"
    assert _option(command, "--port") == "18000"
    assert _option(command, "--host") == "127.0.0.1"
    assert _option(command, "--max-model-len") == "2048"
    assert set(USAGE_FLAGS) <= set(command)


def test_embed_server_pools_and_lets_vllm_derive_the_length() -> None:
    command = build_server_command(PYTHON, EMBED)
    assert _option(command, "--served-model-name") == EMBED_MODEL
    assert _option(command, "--runner") == "pooling"
    assert _option(command, "--port") == "18001"
    # MiniLM allows 256 positions; a larger --max-model-len makes vLLM refuse to start.
    assert "--max-model-len" not in command
    assert not set(USAGE_FLAGS) & set(command)


def test_server_env_is_offline_small_and_binds_each_worker_to_its_own_core() -> None:
    generate = build_server_env(GENERATE, Path("/c/vllm"))
    embed = build_server_env(EMBED, Path("/c/vllm"))
    for env in (generate, embed):
        assert env["HF_HUB_OFFLINE"] == env["TRANSFORMERS_OFFLINE"] == "1"
        assert env["VLLM_CACHE_ROOT"] == "/c/vllm"
    assert generate["VLLM_CPU_KVCACHE_SPACE"] == "2"
    assert generate["VLLM_CPU_OMP_THREADS_BIND"] != embed["VLLM_CPU_OMP_THREADS_BIND"]


def test_a_pid_counts_as_the_server_only_with_its_module_and_port() -> None:
    command = build_server_command(PYTHON, GENERATE)
    assert is_server_command(command, GENERATE)
    assert not is_server_command(command, EMBED)
    assert not is_server_command(["python", "-m", "http.server", "--port", "18000"], GENERATE)
    assert not is_server_command([], GENERATE)


def test_excerpt_keeps_the_exception_and_its_pydantic_detail() -> None:
    log = """\
(APIServer pid=1) INFO 11-23 15:40:01 [api_utils.py:286] non-default args: {}
Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/vllm/engine/arg_utils.py", line 1955, in create
    return ModelConfig(
           ^^^^^^^^^^^^
pydantic_core._pydantic_core.ValidationError: 1 validation error for ModelConfig
  Value error, User-specified max_model_len (512) is greater than the derived max_model_len
    For further information visit https://errors.pydantic.dev/2.14/v/value_error
"""
    assert pick_log_excerpt(log) == (
        "pydantic_core._pydantic_core.ValidationError: 1 validation error for ModelConfig"
        " | Value error, User-specified max_model_len (512) is greater than the derived"
        " max_model_len"
    )


def test_excerpt_keeps_error_lines_of_engine_processes_and_drops_the_generic_follow_up() -> None:
    log = """\
(EngineCore pid=7) ERROR 11-23 15:41:00 [core.py:900] EngineCore failed to start.
(EngineCore pid=7) ERROR 11-23 15:41:00 [core.py:900] RuntimeError: Illegal instruction
RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}
"""
    excerpt = pick_log_excerpt(log)
    assert "EngineCore failed to start." in excerpt
    assert "Illegal instruction" in excerpt
    assert "See root cause above" not in excerpt


def test_excerpt_falls_back_to_the_last_lines() -> None:
    assert pick_log_excerpt("one\n\ntwo\nthree\nfour\n") == "two | three | four"
    assert pick_log_excerpt("") == ""


def test_should_trace_only_when_an_otlp_endpoint_is_given() -> None:
    traced, embed = build_server_specs(
        Path("/m/gemma"), Path("/m/minilm"), 18000, 18001, otlp_traces_endpoint="http://c:4317"
    )
    command = build_server_command(PYTHON, traced)
    env = build_server_env(traced, Path("/cache"))

    assert _option(command, "--otlp-traces-endpoint") == "http://c:4317"
    assert env["OTEL_SERVICE_NAME"] == "vllm-generate"
    assert env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] == "grpc"
    assert "--otlp-traces-endpoint" not in build_server_command(PYTHON, GENERATE)
    assert "OTEL_SERVICE_NAME" not in build_server_env(GENERATE, Path("/cache"))
    assert "--otlp-traces-endpoint" not in build_server_command(PYTHON, embed)
