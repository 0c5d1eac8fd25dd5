"""The Grafana dashboards, built with grafana-foundation-sdk (typed builders, no hand JSON).

Panels read the recorded series of `llmops_operator.core.signals` (the numbers the alerts and
the rollout analysis judge), raw metrics only where nothing is recorded. Every dashboard has
the same variables: ``datasource`` (a Prometheus), ``namespace``; per-model ones add ``model``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dm

from llmops_operator.core.signals.series import DRIFT_REFERENCE_WINDOW, signal

DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
NS = 'namespace=~"$namespace"'
MODEL = f'{NS},model=~"$model"'


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


def rec(key: str, matchers: str = MODEL, window: str | None = None) -> str:
    """A recorded signal's series, filtered by the dashboard's variables."""
    return f"{signal(key).record(window)}{{{matchers}}}"


def _target(query: Query, ref: str) -> prometheus.Dataquery:
    target = prometheus.Dataquery().expr(query.expr).ref_id(ref).datasource(DATASOURCE)
    return target.legend_format(query.legend) if query.legend else target


def series(title: str, unit: str, *queries: Query, width: int = 12) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).unit(unit).span(width).height(8)
    for index, query in enumerate(queries):
        panel = panel.with_target(_target(query, chr(ord("A") + index)))
    return panel.datasource(DATASOURCE)


def number(title: str, unit: str, query: Query, width: int = 6) -> stat.Panel:
    panel = stat.Panel().title(title).unit(unit).span(width).height(4)
    return panel.with_target(_target(query, "A")).datasource(DATASOURCE)


def _variables(board: gd.Dashboard, *, model: bool) -> gd.Dashboard:
    board = board.with_variable(
        gd.DatasourceVariable("datasource").label("Prometheus").type("prometheus")
    )
    board = board.with_variable(
        gd.QueryVariable("namespace")
        .label("Namespace")
        .datasource(DATASOURCE)
        .query("label_values(llmops_gateway_requests_total, namespace)")
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )
    if model:
        board = board.with_variable(
            gd.QueryVariable("model")
            .label("Model")
            .datasource(DATASOURCE)
            .query(f"label_values({rec('request-rate', NS)}, model)")
            .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .include_all(True)
            .all_value(".*")
        )
    return board


def _board(uid: str, title: str, description: str, *, model: bool) -> gd.Dashboard:
    board = (
        gd.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["llmops"])
        .time("now-1h", "now")
        .refresh("30s")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
    )
    return _variables(board, model=model)


REV = "{{model}} {{revision}}"


def fleet() -> gd.Dashboard:
    board = _board(
        "llmops-fleet",
        "llmops / fleet overview",
        "Every model and revision at a glance: traffic, errors, latency, saturation, spend.",
        model=True,
    )
    return (
        board.with_row(gd.Row("Clients (gateway)"))
        .with_panel(series("Requests / s", "reqps", Query(rec("request-rate"), REV)))
        .with_panel(series("Error ratio", "percentunit", Query(rec("error-rate"), REV)))
        .with_panel(series("TTFT p95", "s", Query(rec("ttft-p95"), REV)))
        .with_panel(series("End-to-end p95", "s", Query(rec("e2e-p95"), REV)))
        .with_panel(
            series(
                "Tokens / s",
                "short",
                Query(rec("tokens-in-rate"), f"in {REV}"),
                Query(rec("tokens-out-rate"), f"out {REV}"),
            )
        )
        .with_panel(
            series(
                "Rate-limit rejections / s",
                "reqps",
                Query(rec("rate-limit-rejections", NS), "{{route}}"),
            )
        )
        .with_panel(
            series(
                "Drift indicator (largest shift from the stable's 7 days)",
                "short",
                Query(rec("drift"), REV),
                width=24,
            )
        )
        .with_row(gd.Row("Engines (vLLM)"))
        .with_panel(
            series(
                "Requests waiting / running",
                "short",
                Query(rec("requests-waiting"), f"waiting {REV}"),
                Query(rec("requests-running"), f"running {REV}"),
            )
        )
        .with_panel(
            series(
                "KV-cache use (fullest replica)", "percentunit", Query(rec("kv-cache-usage"), REV)
            )
        )
        .with_row(gd.Row("Spend"))
        .with_panel(
            series(
                "Tokens / s by team",
                "short",
                Query(rec("team-tokens-rate", NS), "{{team}} {{direction}}"),
                width=24,
            )
        )
    )


def _side_by_side(title: str, key: str, unit: str) -> list[stat.Panel]:
    return [
        number(f"{title} - {role}", unit, Query(rec(key, f'{MODEL},revision="{role}"')))
        for role in ("stable", "canary")
    ]


DRIFT_KEYS = ("prompt-length", "retrieval-score", "unanswered-ratio", "feedback-score")


def _reference(key: str) -> str:
    """The drift reference of ``key``: the stable over the reference window."""
    return rec(key, f'{MODEL},revision="stable"', DRIFT_REFERENCE_WINDOW)


def model() -> gd.Dashboard:
    board = _board(
        "llmops-model",
        "llmops / model: stable and canary",
        "One model's revisions side by side: the signals the rollout analysis judges.",
        model=True,
    ).with_row(gd.Row("Now: stable | canary"))
    for title, key, unit in (
        ("TTFT p95", "ttft-p95", "s"),
        ("Error ratio", "error-rate", "percentunit"),
        ("Requests / s", "request-rate", "reqps"),
        ("Drift (1h vs the stable's 7d)", "drift", "short"),
    ):
        for panel in _side_by_side(title, key, unit):
            board = board.with_panel(panel)
    role = "{{revision}}"
    return (
        board.with_panel(
            number(
                "TTFT SLO: slow share, 1h (budget 1 %)",
                "percentunit",
                Query(f"max({rec('ttft-slow-ratio', MODEL, '1h')})"),
            )
        )
        .with_panel(
            number(
                "TTFT SLO: slow share, 5m",
                "percentunit",
                Query(f"max({rec('ttft-slow-ratio', MODEL, '5m')})"),
            )
        )
        .with_row(gd.Row("Gateway, by role"))
        .with_panel(
            series(
                "Time to first token",
                "s",
                Query(rec("ttft-p50"), f"p50 {role}"),
                Query(rec("ttft-p95"), f"p95 {role}"),
                Query(rec("ttft-p99"), f"p99 {role}"),
            )
        )
        .with_panel(series("Inter-token latency p95", "s", Query(rec("itl-p95"), role)))
        .with_panel(series("End-to-end p95", "s", Query(rec("e2e-p95"), role)))
        .with_panel(series("Error ratio", "percentunit", Query(rec("error-rate"), role)))
        .with_row(gd.Row("Drift and feedback (now: 1h; reference: the stable over 7d)"))
        .with_panel(
            series(
                "Drift by signal",
                "short",
                *(Query(rec(f"{key}-drift"), f"{key} {role}") for key in DRIFT_KEYS),
            )
        )
        .with_panel(
            series(
                "Feedback score (share of up ratings)",
                "percentunit",
                Query(rec("feedback-score"), f"now {role}"),
                Query(_reference("feedback-score"), "reference"),
            )
        )
        .with_panel(
            series(
                "Prompt length (mean tokens)",
                "short",
                Query(rec("prompt-length"), f"now {role}"),
                Query(_reference("prompt-length"), "reference"),
            )
        )
        .with_panel(
            series(
                "Retrieval: best hit's similarity (mean)",
                "short",
                Query(rec("retrieval-score"), f"now {role}"),
                Query(_reference("retrieval-score"), "reference"),
            )
        )
        .with_panel(
            series(
                "Unanswered share (empty or refusal)",
                "percentunit",
                Query(rec("unanswered-ratio"), f"now {role}"),
                Query(_reference("unanswered-ratio"), "reference"),
                width=24,
            )
        )
        .with_row(gd.Row("Engine, by revision label"))
        .with_panel(
            series(
                "vLLM TTFT and ITL p95",
                "s",
                Query(rec("engine-ttft-p95"), "TTFT {{revision}}"),
                Query(rec("engine-itl-p95"), "ITL {{revision}}"),
            )
        )
        .with_panel(
            series(
                "vLLM tokens / s",
                "short",
                Query(rec("engine-tokens-in-rate"), "in {{revision}}"),
                Query(rec("engine-tokens-out-rate"), "out {{revision}}"),
            )
        )
        .with_panel(
            series(
                "Queue",
                "short",
                Query(rec("requests-waiting"), "waiting {{revision}}"),
                Query(rec("requests-running"), "running {{revision}}"),
            )
        )
        .with_panel(
            series("KV-cache use", "percentunit", Query(rec("kv-cache-usage"), "{{revision}}"))
        )
    )


def rag() -> gd.Dashboard:
    board = _board(
        "llmops-rag",
        "llmops / RAG pipeline",
        "Retrieval (embedding and search), generation and guardrails of RAG requests.",
        model=True,
    )
    return (
        board.with_row(gd.Row("Retrieval"))
        .with_panel(series("Retrieval p95 (embed + search)", "s", Query(rec("retrieval-p95"), REV)))
        .with_panel(series("Retrievals / s", "reqps", Query(rec("retrieval-rate"), REV)))
        .with_panel(
            series(
                "Best hit's similarity (mean, 1h)",
                "short",
                Query(rec("retrieval-score"), REV),
            )
        )
        .with_panel(
            series(
                "Embedding: engine end-to-end p95 (every served model)",
                "s",
                Query(rec("engine-e2e-p95", NS), "{{model}} {{revision}}"),
            )
        )
        .with_panel(
            series(
                "Chunks ingested / s",
                "short",
                Query(
                    "sum by (collection, result) "
                    f"(rate(llmops_gateway_ingested_chunks_total{{{NS}}}[5m]))",
                    "{{collection}} {{result}}",
                ),
            )
        )
        .with_row(gd.Row("Generation"))
        .with_panel(series("TTFT p95 (after retrieval)", "s", Query(rec("ttft-p95"), REV)))
        .with_panel(series("Completion tokens / s", "short", Query(rec("tokens-out-rate"), REV)))
        .with_row(gd.Row("Guardrails"))
        .with_panel(
            series(
                "Blocked / s by check",
                "reqps",
                Query(rec("guardrail-blocks", f'{NS},model=~"$model"'), "{{model}} {{check}}"),
            )
        )
        .with_panel(
            series(
                "Decisions / s by check and action",
                "reqps",
                Query(
                    "sum by (check, action) (rate("
                    f"llmops_gateway_guardrail_decisions_total{{{MODEL}}}[5m]))",
                    "{{check}} {{action}}",
                ),
            )
        )
    )


_MD = f'{NS},modeldeployment=~"$modeldeployment"'


def rollouts() -> gd.Dashboard:
    board = _board(
        "llmops-rollouts",
        "llmops / rollouts",
        "What the operator did: weights, steps, analysis results and gate verdicts over time.",
        model=False,
    ).with_variable(
        gd.QueryVariable("modeldeployment")
        .label("ModelDeployment")
        .datasource(DATASOURCE)
        .query(f"label_values(llmops_operator_canary_weight_percent{{{NS}}}, modeldeployment)")
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .include_all(True)
        .all_value(".*")
    )
    return (
        board.with_panel(
            series(
                "Canary weight",
                "percent",
                Query(
                    f"max by (modeldeployment) (llmops_operator_canary_weight_percent{{{_MD}}})",
                    "{{modeldeployment}}",
                ),
                width=24,
            )
        )
        .with_panel(
            series(
                "Steps and transitions (per 5m)",
                "short",
                Query(
                    "sum by (modeldeployment, reason) (increase("
                    f"llmops_operator_transitions_total{{{_MD}}}[5m]))",
                    "{{modeldeployment}} {{reason}}",
                ),
            )
        )
        .with_panel(
            series(
                "Analysis measurements (per 5m)",
                "short",
                Query(
                    "sum by (metric, result) (increase("
                    f"llmops_operator_analysis_measurements_total{{{_MD}}}[5m]))",
                    "{{metric}} {{result}}",
                ),
            )
        )
        .with_panel(
            series(
                "Gate verdicts (per 5m)",
                "short",
                Query(
                    "sum by (modeldeployment, reason) (increase(llmops_operator_transitions_total"
                    f'{{{_MD},reason=~"Analysis.*|LoadTest.*|Promoted.*|ProgressDeadlineExceeded"}}[5m]))',
                    "{{modeldeployment}} {{reason}}",
                ),
            )
        )
        .with_panel(
            series(
                "Operator: leader and tick duration",
                "s",
                Query("sum(llmops_operator_leader)", "replicas leading"),
                Query(
                    "max by (modeldeployment) "
                    f"(llmops_operator_last_tick_duration_seconds{{{_MD}}})",
                    "tick {{modeldeployment}}",
                ),
            )
        )
    )


def loadtests() -> gd.Dashboard:
    board = _board(
        "llmops-loadtests",
        "llmops / load tests",
        "A load test's effect as the platform measured it (gateway and vLLM), with the "
        "load-test gates' verdicts. Locust's own report is the run's HTML/MLflow artefact.",
        model=True,
    )
    return (
        board.with_panel(
            series(
                "Load-test gates (per 5m)",
                "short",
                Query(
                    "sum by (modeldeployment, reason) (increase(llmops_operator_transitions_total"
                    f'{{{NS},reason=~"LoadTest.*"}}[5m]))',
                    "{{modeldeployment}} {{reason}}",
                ),
                width=24,
            )
        )
        .with_panel(series("Throughput: requests / s", "reqps", Query(rec("request-rate"), REV)))
        .with_panel(
            series("Throughput: tokens out / s", "short", Query(rec("tokens-out-rate"), REV))
        )
        .with_panel(
            series(
                "TTFT p50 / p95 / p99",
                "s",
                Query(rec("ttft-p50"), f"p50 {REV}"),
                Query(rec("ttft-p95"), f"p95 {REV}"),
                Query(rec("ttft-p99"), f"p99 {REV}"),
            )
        )
        .with_panel(series("Inter-token latency p95", "s", Query(rec("itl-p95"), REV)))
        .with_panel(series("Errors", "percentunit", Query(rec("error-rate"), REV)))
        .with_panel(
            series(
                "Saturation: waiting, running, KV cache",
                "short",
                Query(rec("requests-waiting"), f"waiting {REV}"),
                Query(rec("requests-running"), f"running {REV}"),
                Query(f"100 * {rec('kv-cache-usage')}", f"KV % {REV}"),
            )
        )
    )


DASHBOARDS = {
    "llmops-fleet.json": fleet,
    "llmops-model.json": model,
    "llmops-rag.json": rag,
    "llmops-rollouts.json": rollouts,
    "llmops-loadtests.json": loadtests,
}


def build_dashboards() -> dict[str, dm.Dashboard]:
    return {name: build().build() for name, build in DASHBOARDS.items()}


def render_dashboards() -> dict[str, str]:
    """``{file name: JSON}`` as the chart ships them (stable order, 2-space indent)."""
    return {
        name: json.dumps(board, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"
        for name, board in build_dashboards().items()
    }
