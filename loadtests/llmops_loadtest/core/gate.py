"""SLO gates: parse ``ttft_p95_s <= 0.5`` and judge a run, one verdict per SLO.

A gate file (YAML)::

    slos:                     # absolute SLOs on the measured window
      - ttft_p95_s <= 0.5
      - error_ratio <= 0.01
      - goodput_ratio >= 0.95
    request_slo:              # what makes one request count towards goodput
      ttft_s: 1.0
      tpot_s: 0.2
    ratios:                   # compare mode only: candidate / baseline
      - ttft_p95_s <= 1.2
    min_requests: 5           # fewer measured requests fails the gate: not enough evidence

The verdict passes only when every SLO passes; a metric without samples fails its SLO.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from llmops_loadtest.core.metrics import Metrics, metric_names
from llmops_loadtest.core.stats import RequestSlo

Op = Literal["<=", "<", ">=", ">"]
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}
_EXPRESSION = re.compile(r"^\s*([a-z0-9_]+)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")


class Slo(BaseModel):
    """One objective: ``metric op threshold``."""

    model_config = ConfigDict(frozen=True)

    metric: str
    op: Op
    threshold: float

    @property
    def expression(self) -> str:
        return f"{self.metric} {self.op} {self.threshold:g}"


def parse_slo(text: str) -> Slo:
    """``"ttft_p95_s <= 0.5"`` -> `Slo`; a readable `ValueError` for anything else."""
    match = _EXPRESSION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not 'metric <=|<|>=|> number'")
    metric, op, raw = match.groups()
    if metric not in metric_names():
        raise ValueError(
            f"{text!r}: unknown metric {metric!r} (known: {', '.join(metric_names())})"
        )
    try:
        threshold = float(raw)
    except ValueError:
        raise ValueError(f"{text!r}: {raw!r} is not a number") from None
    return Slo(metric=metric, op=op, threshold=threshold)  # type: ignore[arg-type]


class RequestSloSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ttft_s: float | None = Field(default=None, gt=0)
    tpot_s: float | None = Field(default=None, gt=0)
    e2e_s: float | None = Field(default=None, gt=0)

    def to_request_slo(self) -> RequestSlo:
        return RequestSlo(ttft_s=self.ttft_s, tpot_s=self.tpot_s, e2e_s=self.e2e_s)


class Gate(BaseModel):
    """The SLOs a release must meet (see the module docstring for the file format)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slos: tuple[Slo, ...] = ()
    ratios: tuple[Slo, ...] = ()
    request_slo: RequestSloSpec | None = None
    min_requests: int = Field(default=1, ge=1)

    @field_validator("slos", "ratios", mode="before")
    @classmethod
    def _parse_expressions(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(parse_slo(item) if isinstance(item, str) else item for item in value)
        return value

    @model_validator(mode="after")
    def _goodput_needs_targets(self) -> Gate:
        uses_goodput = any(slo.metric.startswith("goodput_") for slo in (*self.slos, *self.ratios))
        if uses_goodput and self.request_slo is None:
            raise ValueError("goodput SLOs need 'request_slo' (ttft_s/tpot_s/e2e_s per request)")
        if not self.slos and not self.ratios:
            raise ValueError("a gate needs at least one SLO under 'slos' or 'ratios'")
        return self


@dataclass(frozen=True, slots=True)
class SloResult:
    """The verdict on one SLO; ``observed`` is ``None`` when the metric had no samples."""

    expression: str
    metric: str
    op: str
    threshold: float
    observed: float | None
    passed: bool
    scope: str = "absolute"  # "absolute" or "ratio" (candidate / baseline)
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    passed: bool
    results: tuple[SloResult, ...]

    @property
    def failed(self) -> tuple[SloResult, ...]:
        return tuple(result for result in self.results if not result.passed)

    def headline(self) -> str:
        """One line: ``PASS (4/4 SLOs)`` or ``FAIL: ttft_p95_s <= 0.5 (observed 1.2)``."""
        if self.passed:
            return f"PASS ({len(self.results)}/{len(self.results)} SLOs met)"
        parts = [f"{result.expression} ({_observed(result)})" for result in self.failed]
        return f"FAIL: {'; '.join(parts)}"


def _observed(result: SloResult) -> str:
    if result.observed is None:
        return result.reason or "no samples"
    return f"observed {result.observed:.4g}"


def evaluate_slos(slos: Sequence[Slo], metrics: Metrics, scope: str) -> list[SloResult]:
    results = []
    for slo in slos:
        observed = metrics.get(slo.metric)
        if observed is None:
            passed, reason = False, "no samples"
        else:
            passed, reason = _OPS[slo.op](observed, slo.threshold), ""
        results.append(
            SloResult(
                expression=slo.expression,
                metric=slo.metric,
                op=slo.op,
                threshold=slo.threshold,
                observed=observed,
                passed=passed,
                scope=scope,
                reason=reason,
            )
        )
    return results


def evaluate_gate(gate: Gate, metrics: Metrics, ratios: Metrics | None = None) -> Verdict:
    """Judge ``metrics`` (and, in compare mode, candidate/baseline ``ratios``) against ``gate``.

    Too few measured requests adds a failing ``requests >= min_requests`` result, so a run
    that measured nothing can never pass.
    """
    results = evaluate_slos(gate.slos, metrics, "absolute")
    if ratios is not None:
        results += evaluate_slos(gate.ratios, ratios, "ratio")
    requests = metrics.get("requests") or 0.0
    if requests < gate.min_requests:
        results.insert(
            0,
            SloResult(
                expression=f"requests >= {gate.min_requests}",
                metric="requests",
                op=">=",
                threshold=float(gate.min_requests),
                observed=requests,
                passed=False,
                reason="not enough measured requests",
            ),
        )
    return Verdict(passed=all(result.passed for result in results), results=tuple(results))
