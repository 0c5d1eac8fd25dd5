"""Platform config -> llmops-stack values, and Helm's errors as one line. Pure."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from llmops.charts import parse_sets
from llmops_infra.charts import build_stack_values, load_platform_config
from llmops_infra.charts.config import parse_platform_config
from llmops_infra.charts.helm import summarize_helm_error
from llmops_infra.charts.values import merge_values
from llmops_infra.errors import LlmopsError


def test_should_install_a_default_stack_without_a_config_file() -> None:
    values = build_stack_values(load_platform_config(None))

    assert values["llm-inference"]["model"]["uri"] == "hf://google/gemma-3-270m"
    assert values["milvus"]["enabled"] is True
    assert values["rag-gateway"]["inference"]["defaultModel"] == "gemma-3-270m"


def test_should_request_gpus_and_tensor_parallelism_from_the_model_block() -> None:
    config = parse_platform_config({"model": {"tensorParallelSize": 2, "gpus": 4}})

    inference = build_stack_values(config)["llm-inference"]
    assert inference["engine"] == {"tensorParallelSize": 2}
    assert inference["gpu"] == {"count": 4}


def test_should_point_the_gateway_at_external_milvus_and_skip_the_chart() -> None:
    config = parse_platform_config({"milvus": {"external": {"host": "milvus.db.svc"}}})

    values = build_stack_values(config)
    assert values["milvus"] == {"enabled": False}
    assert values["rag-gateway"]["milvus"] == {"host": "milvus.db.svc", "port": 19530}


def test_should_use_the_storage_class_for_every_claim() -> None:
    values = build_stack_values(parse_platform_config({"storageClass": "fast"}))

    assert values["llm-inference"]["modelCache"]["storageClassName"] == "fast"
    assert values["milvus"]["persistence"]["storageClassName"] == "fast"


def test_should_merge_raw_values_last() -> None:
    config = parse_platform_config({"values": {"llm-inference": {"engine": {"dtype": "half"}}}})

    engine = build_stack_values(config)["llm-inference"]["engine"]
    assert engine == {"tensorParallelSize": 1, "dtype": "half"}


def test_should_replace_lists_when_merging_like_helm() -> None:
    assert merge_values({"a": [1, 2], "b": {"c": 1}}, {"a": [3], "b": {"d": 2}}) == {
        "a": [3],
        "b": {"c": 1, "d": 2},
    }


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"model": {"uri": "ftp://x"}}, "model.uri"),
        ({"model": {"tensorParallelSize": 0}}, "model.tensorParallelSize"),
        ({"gateway": {"replicas": "two"}}, "gateway.replicas"),
        ({"operator": {"scope": "galaxy"}}, "operator.scope"),
        ({"modle": {}}, "modle"),
        ({"release": "Bad_Name"}, "release"),
    ],
)
def test_should_name_the_bad_key_in_one_line(data: object, key: str) -> None:
    with pytest.raises(LlmopsError) as err:
        parse_platform_config(data, "platform.yaml")

    assert err.value.one_line().startswith(f"platform.yaml: {key}: ")
    assert "\n" not in err.value.one_line()


def test_should_say_when_the_config_file_is_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text("model: [unclosed\n")

    with pytest.raises(LlmopsError, match="is not YAML"):
        load_platform_config(path)


def test_should_summarize_a_schema_error_on_one_line_keeping_the_key() -> None:
    stderr = (
        "Error: values don't meet the specifications of the schema(s) in the following chart(s):\n"
        "llm-inference:\n- at '/engine/tensorParallelSize': got string, want integer\n"
    )

    assert summarize_helm_error(stderr) == (
        "llm-inference: - at '/engine/tensorParallelSize': got string, want integer"
    )


def test_should_drop_helms_debug_hint() -> None:
    stderr = (
        "Error: execution error at (x): gpu.count: 0 GPU(s)\n\n"
        "Use --debug flag to render out invalid YAML\n"
    )

    assert summarize_helm_error(stderr) == "execution error at (x): gpu.count: 0 GPU(s)"


def test_should_nest_set_pairs_with_yaml_values() -> None:
    values = parse_sets(["llm-inference.engine.tensorParallelSize=2", "milvus.enabled=false"])

    assert values == {
        "llm-inference": {"engine": {"tensorParallelSize": 2}},
        "milvus": {"enabled": False},
    }


def test_should_refuse_a_set_without_a_value() -> None:
    with pytest.raises(typer.BadParameter):
        parse_sets(["milvus.enabled"])
