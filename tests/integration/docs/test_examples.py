"""The examples the pages carry are valid: values files render with Helm against the charts'
strict schemas into objects that pass their Kubernetes (or CRD) schemas, and ModelDeployments
pass the CRD's schema (the unit tier parses them with the operator's spec model too)."""

from __future__ import annotations

from typing import Any

import pytest

from llmops_infra.charts import CHARTS_DIR
from llmops_infra.settings import LocalSettings
from llmops_infra.toolchain import ensure_tools
from tests.integration.charts.render import Charts, find, validate
from tests.unit.docs.pages import handwritten_pages, modeldeployment_examples, values_examples

EXAMPLES = [(block.page, values) for block, values in values_examples(handwritten_pages())]


@pytest.fixture(scope="module")
def charts(tmp_path_factory: pytest.TempPathFactory) -> Charts:
    settings = LocalSettings()
    ensure_tools(settings)
    return Charts(settings.bin_dir / "helm", CHARTS_DIR, tmp_path_factory.mktemp("charts"))


def test_should_find_the_gpu_cluster_example() -> None:
    assert "gpu-cluster.md" in [page for page, _ in EXAMPLES]


@pytest.mark.parametrize(("page", "values"), EXAMPLES, ids=[page for page, _ in EXAMPLES])
def test_should_render_every_values_example_into_valid_objects(
    charts: Charts, page: str, values: dict[str, Any]
) -> None:
    docs = charts.render("llmops-stack", values)

    for doc in docs:
        validate(doc)
    engine = find(docs, "Deployment", "r-llm-inference")["spec"]["template"]["spec"]
    resources = engine["containers"][0]["resources"]
    gpu = values["llm-inference"]["gpu"]
    assert resources["limits"][gpu["resourceName"]] == gpu["count"]


@pytest.mark.parametrize(
    "example",
    [doc for _, doc in modeldeployment_examples(handwritten_pages())],
    ids=lambda doc: doc["metadata"]["name"],
)
def test_should_carry_modeldeployments_the_crd_accepts(example: dict[str, Any]) -> None:
    assert validate(example).startswith("CRD")
