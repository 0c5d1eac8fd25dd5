"""The docs site builds with --strict, and --strict catches what it should.

Broken links and missing anchors are errors (mkdocs.yml `validation`, `strict: true`), for
hand-written pages and generated ones alike: an alert whose `runbook_url` names a runbook
section that does not exist fails the build.
"""

from __future__ import annotations

import re
from pathlib import Path

from llmops_infra.docs.pages import rendered_rules
from llmops_infra.docs.rules import parse_rules, site_page
from tests.integration.docs.conftest import mkdocs_build, site_copy

PAGES = [
    "index.html",
    "getting-started/index.html",
    "gpu-cluster/index.html",
    "upgrading/index.html",
    "rollouts/index.html",
    "CONTRIBUTING/index.html",
    "runbooks/index.html",
    "reference/index.html",
    "reference/cli/index.html",
    "reference/kubectl-llmops/index.html",
    "reference/modeldeployment/index.html",
    "reference/metrics/index.html",
    "reference/alerts/index.html",
    "reference/charts/llmops-stack/index.html",
    "reference/charts/llm-inference/index.html",
]


def test_should_build_every_page_with_the_generated_references(site: Path) -> None:
    missing = [page for page in PAGES if not (site / page).is_file()]

    assert missing == []
    nav = (site / "index.html").read_text()
    for page in PAGES[1:]:
        assert f'href="{page.removesuffix("index.html")}"' in nav, f"{page} is not in the nav"


def test_should_pick_up_every_runbook_page_in_the_nav(site: Path) -> None:
    runbooks = sorted((Path(__file__).parents[3] / "docs" / "runbooks").glob("*.md"))
    nav = (site / "index.html").read_text()

    for page in runbooks:
        target = "runbooks/" if page.stem == "index" else f"runbooks/{page.stem}/"
        assert f'href="{target}"' in nav, f"{page.name} is not in the nav"


def test_should_list_every_alert_the_chart_renders_with_its_runbook(site: Path) -> None:
    rules = parse_rules(rendered_rules())
    page = (site / "reference" / "alerts" / "index.html").read_text()

    assert rules.alerts, "the chart renders no alerts"
    for alert in rules.alerts:
        assert f'id="{alert.name.lower()}"' in page, alert.name
        local = site_page(alert.annotations.get("runbook_url", ""))
        if local is not None:
            target = local[0].removesuffix(".md") + "/" + local[1]
            assert f'href="../../{target}"' in page, f"{alert.name}: no link to {target}"
    for record in rules.records:
        assert f"<code>{record.name}</code>" in page, record.name


PLANTED_HOOK = '''
from mkdocs.structure.files import File

from llmops.docs_site import reference_pages

RULES = """
groups:
  - name: planted
    rules:
      - alert: PlantedHigh
        expr: vector(1) > 0
        labels: {severity: warning}
        annotations:
          summary: planted
          runbook_url: https://example.com/o/llmops/blob/main/docs/runbooks/planted.md#planted-high
"""


def on_files(files, config):
    for path, text in reference_pages(rules_yaml=RULES).items():
        files.append(File.generated(config, path, content=text))
    return files
'''


def test_should_fail_on_a_missing_page_anchor_or_runbook_section(tmp_path: Path) -> None:
    config, docs = site_copy(tmp_path, hook=PLANTED_HOOK)
    (docs / "runbooks" / "planted.md").write_text("# Planted\n\n## Some other alert\n")
    (docs / "upgrading.md").write_text(
        (docs / "upgrading.md").read_text()
        + "\nSee [rollouts](rollouts.md#no-such-section) and [x](runbooks/nope.md).\n"
    )

    result = mkdocs_build(config, tmp_path / "site")

    assert result.returncode != 0
    assert re.search(r"'upgrading\.md'.*'rollouts\.md#no-such-section'", result.stderr)
    assert re.search(r"'upgrading\.md'.*'runbooks/nope\.md'", result.stderr)
    assert re.search(r"'reference/alerts\.md'.*'#planted-high'", result.stderr), result.stderr


def test_should_pass_once_the_runbook_section_exists(tmp_path: Path) -> None:
    config, docs = site_copy(tmp_path, hook=PLANTED_HOOK)
    (docs / "runbooks" / "planted.md").write_text("# Planted\n\n## PlantedHigh { #planted-high }\n")

    result = mkdocs_build(config, tmp_path / "site")

    assert result.returncode == 0, result.stderr[-3000:]
    page = (tmp_path / "site" / "reference" / "alerts" / "index.html").read_text()
    assert 'href="../../runbooks/planted/#planted-high"' in page
    assert 'href="runbooks/planted/"' in (tmp_path / "site" / "index.html").read_text()
