"""The umbrella chart's observability files, generated from code (never edited by hand).

- `rules`: the Prometheus rules file (charts/llmops-stack/files/prometheus/llmops.rules.yaml):
  the recording rules of every signal, from the operator's one definition
  (`llmops_operator.core.signals`), and the alerts (`alerts`), each with its runbook section
  in docs/runbooks/;
- `dashboards`: the Grafana dashboards (files/grafana/*.json), built with
  grafana-foundation-sdk (a dev dependency: only `llmops charts observability` imports it).

The rules file is a Helm template (the chart renders it with ``tpl``): thresholds come from
``observability.alerts`` values, and Prometheus' own ``{{ $labels.x }}`` are quoted for Helm.
"""

from __future__ import annotations

from llmops_infra.charts import CHARTS_DIR

STACK_DIR = CHARTS_DIR / "llmops-stack"
RULES_PATH = STACK_DIR / "files" / "prometheus" / "llmops.rules.yaml"
DASHBOARDS_DIR = STACK_DIR / "files" / "grafana"
FIX_COMMAND = "llmops charts observability"
