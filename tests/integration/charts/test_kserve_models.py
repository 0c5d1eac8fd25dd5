"""llm-inference in KServe mode renders an InferenceService the kserve SDK's models accept."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from llmops_infra.charts.kserve_check import check_inference_services
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings, base_env
from tests.integration.charts.render import Charts, find

KSERVE_VALUES: list[dict[str, Any]] = [
    {"mode": "kserve"},
    {
        "mode": "kserve",
        "engine": {"tensorParallelSize": 2, "maxModelLen": 4096, "extraArgs": ["--enforce-eager"]},
        "model": {"name": "m", "revision": "3", "uri": "s3://bucket/m/v3"},
        "kserve": {"serviceAccountName": "s3-reader"},
        "autoscaling": {"maxReplicas": 8},
        "nodeSelector": {"gpu": "a100"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "runtimeClassName": "nvidia",
        "resources": {"requests": {"cpu": "4", "memory": "32Gi"}},
    },
]


@pytest.fixture(scope="module")
def problems(charts: Charts) -> list[list[str]]:
    """The checker's verdicts: each KSERVE_VALUES render, then one with a misspelt field."""
    services = [find(charts.render("llm-inference", v), "InferenceService") for v in KSERVE_VALUES]
    broken = copy.deepcopy(services[0])
    broken["spec"]["predictor"]["containers"][0]["resourcs"] = {"limits": {"cpu": "1"}}
    broken["spec"]["predictor"]["minReplicas"] = "1"
    try:
        return check_inference_services(LocalSettings(), base_env(), [*services, broken])
    except LlmopsError as err:
        pytest.fail(f"the kserve models could not run: {err.one_line()}", pytrace=False)


@pytest.mark.parametrize("index", range(len(KSERVE_VALUES)))
def test_should_render_an_inference_service_the_kserve_models_accept(
    problems: list[list[str]], index: int
) -> None:
    assert problems[index] == []


def test_should_report_an_unknown_field_and_a_wrong_type_with_their_paths(
    problems: list[list[str]],
) -> None:
    assert problems[-1] == [
        "spec.predictor.minReplicas: expected int, got string",
        "spec.predictor.containers[0].resourcs: unknown field of V1Container",
    ]
