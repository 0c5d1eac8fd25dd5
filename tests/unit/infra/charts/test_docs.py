"""Chart READMEs: parsing `# --` comments, rendering the values table, every README current."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from llmops.app import main
from llmops_infra.charts import CHARTS_DIR
from llmops_infra.charts.docs import (
    END_MARKER,
    FIX_COMMAND,
    START_MARKER,
    ValueRow,
    chart_dirs,
    chart_doc,
    load_chart,
    parse_values,
    render_readme,
    render_section,
    render_values_table,
    splice_readme,
)
from llmops_infra.errors import LlmopsError

CHARTS = [path.name for path in chart_dirs(CHARTS_DIR)]


def rows(values_yaml: str, schema: dict[str, Any] | None = None) -> dict[str, tuple[str, str, str]]:
    return {
        r.key: (r.type, r.default, r.description) for r in parse_values(values_yaml, schema).rows
    }


def test_should_join_a_description_over_several_comment_lines() -> None:
    values = """
# -- What to render: `deployment` or
# `kserve` (KServe must be
#   installed).
mode: deployment
"""

    assert (
        rows(values)["mode"][2]
        == "What to render: `deployment` or `kserve` (KServe must be installed)."
    )


def test_should_start_the_description_at_the_last_doc_comment_of_the_block() -> None:
    values = """
# A section comment, not documentation.
# -- Replicas when autoscaling is off.
replicaCount: 1
"""

    assert rows(values)["replicaCount"][2] == "Replicas when autoscaling is off."


def test_should_name_nested_keys_by_their_dotted_path_in_file_order() -> None:
    values = """
image:
  # -- Image repository.
  repository: vllm/vllm-openai
  # -- Pinned tag.
  tag: v0.11.0
metrics:
  serviceMonitor:
    # -- Render a ServiceMonitor.
    enabled: false
"""

    assert list(rows(values)) == ["image.repository", "image.tag", "metrics.serviceMonitor.enabled"]


def test_should_render_defaults_as_compact_json() -> None:
    values = """
# -- Access modes.
accessModes: [ReadWriteOnce]
# -- Flags.
extraArgs:
  - --enable-prefix-caching
  - --max-num-seqs=128
# -- Labels.
labels:
  prometheus_rule: "1"
# -- No limit.
maxModelLen: null
# -- Fraction.
utilisation: 0.9
"""

    assert {key: default for key, (_, default, _) in rows(values).items()} == {
        "accessModes": '["ReadWriteOnce"]',
        "extraArgs": '["--enable-prefix-caching","--max-num-seqs=128"]',
        "labels": '{"prometheus_rule":"1"}',
        "maxModelLen": "null",
        "utilisation": "0.9",
    }


def test_should_report_a_key_without_a_doc_comment_with_its_line() -> None:
    values = """# -- Documented.
enabled: true
image:
  # Only a plain comment.
  tag: v1
# -- Separated by a blank line, so it documents nothing.

tolerations: []
"""

    doc = parse_values(values)

    assert [(r.key, r.line, r.description) for r in doc.undocumented] == [
        ("image.tag", 5, ""),
        ("tolerations", 8, ""),
    ]
    assert [r.key for r in doc.rows] == ["enabled", "image.tag", "tolerations"]


def test_should_cover_the_undocumented_keys_inside_a_documented_mapping() -> None:
    values = """
# -- The RAG gateway, wired to this release.
rag-gateway:
  enabled: true
  inference:
    # -- The first model's name.
    defaultModel: gemma
"""

    doc = parse_values(values)

    assert doc.undocumented == ()
    assert rows(values) == {
        "rag-gateway": (
            "object",
            '{"enabled":true,"inference":{"defaultModel":"gemma"}}',
            "The RAG gateway, wired to this release.",
        ),
        "rag-gateway.inference.defaultModel": ("string", '"gemma"', "The first model's name."),
    }


def test_should_take_types_from_the_schema_and_infer_the_rest() -> None:
    schema = {
        "definitions": {"quantity": {"type": ["string", "integer"]}},
        "properties": {
            "mode": {"enum": ["deployment", "kserve"]},
            "quantization": {"enum": [None, "awq"]},
            "count": {"type": ["null", "integer"]},
            "size": {"$ref": "#/definitions/quantity"},
            "sizeLimit": {"anyOf": [{"const": ""}, {"$ref": "#/definitions/quantity"}]},
            "ttft": {"type": "number"},
            "removed": {"description": "declared, but no type"},
        },
    }
    values = """
# -- a
mode: deployment
# -- b
quantization: null
# -- c
count: null
# -- d
size: 50Gi
# -- e
sizeLimit: ""
# -- f
ttft: 2
# -- g
removed: 1
# -- h
undeclared: true
"""

    assert {key: type_ for key, (type_, _, _) in rows(values, schema).items()} == {
        "mode": "string",
        "quantization": "string or null",
        "count": "int or null",
        "size": "string or int",
        "sizeLimit": "string or int",
        "ttft": "float",
        "removed": "int",
        "undeclared": "bool",
    }


def test_should_quote_key_parts_that_are_not_plain_names() -> None:
    values = """
networkPolicy:
  labels:
    # -- The namespace label.
    kubernetes.io/metadata.name: monitoring
"""

    assert list(rows(values)) == ['networkPolicy.labels."kubernetes.io/metadata.name"']


def test_should_render_a_helm_docs_table_escaping_pipes() -> None:
    table = render_values_table([ValueRow("a.b", "string", '"x|y"', "One | two.", 3)])

    assert table.splitlines() == [
        "| Key | Type | Default | Description |",
        "|-----|------|---------|-------------|",
        '| `a.b` | string | `"x\\|y"` | One \\| two. |',
    ]


def test_should_render_the_chart_facts_above_the_values() -> None:
    chart = {
        "name": "llmops-stack",
        "description": "One install of llmops.",
        "version": "0.1.0",
        "appVersion": "0.1.0",
        "dependencies": [
            {"name": "milvus", "version": "0.1.0", "repository": "file://../milvus"},
        ],
    }

    section = render_section(chart, parse_values("# -- On.\nenabled: true\n"))

    assert section.index("# llmops-stack") < section.index("One install of llmops.")
    assert "**Version:** `0.1.0`" in section
    assert "**AppVersion:** `0.1.0`" in section
    assert "| file://../milvus | milvus | 0.1.0 |  |" in section
    assert section.index("## Requirements") < section.index("## Values")
    assert section.endswith("| `enabled` | bool | `true` | On. |")


def test_should_write_a_new_readme_as_the_generated_part_alone() -> None:
    assert splice_readme(None, "generated") == f"{START_MARKER}\ngenerated\n{END_MARKER}\n"


def test_should_keep_the_prose_outside_the_markers() -> None:
    existing = (
        f"Intro prose.\n\n{START_MARKER}\nold table\n{END_MARKER}\n\n## Usage\n\nMore prose.\n"
    )

    assert splice_readme(existing, "new table") == (
        f"Intro prose.\n\n{START_MARKER}\nnew table\n{END_MARKER}\n\n## Usage\n\nMore prose.\n"
    )


def test_should_put_the_generated_part_above_a_readme_without_markers() -> None:
    assert splice_readme("Hand-written.\n", "table") == (
        f"{START_MARKER}\ntable\n{END_MARKER}\n\nHand-written.\n"
    )


@pytest.mark.parametrize(
    "existing",
    [
        f"{START_MARKER}\nno end\n",
        f"{END_MARKER}\n{START_MARKER}\n",
        f"{START_MARKER}\n{END_MARKER}\n{START_MARKER}\n{END_MARKER}\n",
    ],
)
def test_should_refuse_markers_that_do_not_pair(existing: str) -> None:
    with pytest.raises(LlmopsError, match="values:start"):
        splice_readme(existing, "table", "charts/x/README.md")


def test_should_find_every_chart() -> None:
    assert set(CHARTS) == {
        "llm-inference",
        "milvus",
        "mlflow",
        "rag-gateway",
        "llmops-operator",
        "llmops-stack",
    }


@pytest.mark.parametrize("chart", CHARTS)
def test_should_keep_every_chart_readme_current(chart: str) -> None:
    sources = load_chart(CHARTS_DIR / chart)

    assert sources.readme == render_readme(sources), (
        f"charts/{chart}/README.md is stale: run `{FIX_COMMAND}`"
    )


@pytest.mark.parametrize("chart", CHARTS)
def test_should_document_every_key_of_every_chart(chart: str) -> None:
    undocumented = chart_doc(load_chart(CHARTS_DIR / chart)).undocumented

    assert [f"values.yaml:{r.line}: {r.key}" for r in undocumented] == []


def run(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr("sys.argv", ["llmops", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    return int(exit_.value.code or 0)


@pytest.fixture
def chart_copy(tmp_path: Path) -> Path:
    charts = tmp_path / "charts"
    shutil.copytree(
        CHARTS_DIR / "milvus", charts / "milvus", ignore=shutil.ignore_patterns("templates")
    )
    return charts


def test_should_fail_the_check_naming_the_stale_readme_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], chart_copy: Path
) -> None:
    readme = chart_copy / "milvus" / "README.md"
    readme.write_text(readme.read_text().replace("Size of the data volume", "Old words"))
    before = readme.read_text()

    code = run(monkeypatch, "charts", "docs", "--check", "--charts-dir", str(chart_copy))

    err = capsys.readouterr().err
    assert code == 1
    assert f"{readme}: run `llmops charts docs`" in err
    assert readme.read_text() == before, "--check writes nothing"


def test_should_write_the_readme_keeping_its_prose_and_then_pass_the_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], chart_copy: Path
) -> None:
    readme = chart_copy / "milvus" / "README.md"
    readme.write_text(f"Prose.\n\n{START_MARKER}\nold\n{END_MARKER}\n\nMore prose.\n")

    written = run(monkeypatch, "charts", "docs", "--charts-dir", str(chart_copy))
    checked = run(monkeypatch, "charts", "docs", "--check", "--charts-dir", str(chart_copy))

    text = readme.read_text()
    assert (written, checked) == (0, 0)
    assert text.startswith(f"Prose.\n\n{START_MARKER}\n")
    assert text.endswith(f"{END_MARKER}\n\nMore prose.\n")
    assert '| `persistence.whenDeleted` | string | `"Retain"` |' in text
    assert "chart READMEs are current" in capsys.readouterr().out


def test_should_warn_about_an_undocumented_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], chart_copy: Path
) -> None:
    values = chart_copy / "milvus" / "values.yaml"
    values.write_text(values.read_text() + "extra: 1\n")

    code = run(monkeypatch, "charts", "docs", "--charts-dir", str(chart_copy))

    assert code == 0
    assert "extra has no `# --` description" in capsys.readouterr().err
