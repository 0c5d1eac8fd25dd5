"""Chart rendering tests: the pinned helm renders each chart once per set of values."""

from __future__ import annotations

import pytest

from llmops_infra.charts import CHARTS_DIR
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings
from llmops_infra.toolchain import ensure_tools
from tests.integration.charts.render import Charts


@pytest.fixture(scope="session")
def charts(tmp_path_factory: pytest.TempPathFactory) -> Charts:
    settings = LocalSettings()
    try:
        ensure_tools(settings)
    except LlmopsError as err:
        pytest.fail(f"chart tests need the pinned helm: {err.one_line()}", pytrace=False)
    return Charts(settings.bin_dir / "helm", CHARTS_DIR, tmp_path_factory.mktemp("charts"))
