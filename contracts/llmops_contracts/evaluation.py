"""The RAG evaluation's wire formats: golden set in, report out (pure, pydantic only).

The one definition of the format: ``python -m llmops_loadtest eval rag`` reads a
`GoldenSet` and writes a `RagEvalReport`; a release manifest or the operator reads the
report. A report carries everything needed to cite it: the dataset's version and SHA-256,
the seed, the deterministic metrics and the verdict against the thresholds.

Golden set file (YAML or JSON)::

    version: "2026-12-07"             # a label people cite; the hash pins the content
    items:
      - id: backup-retention
        question: How long are backups kept?
        answer: Backups are kept for 14 days.
        documents: [backups.md]       # the documents that hold the answer
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class GoldenItem(BaseModel):
    """One question, its reference answer and the documents that hold it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answer: str = Field(min_length=1)
    documents: list[str] = Field(min_length=1)


class GoldenSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1)
    items: list[GoldenItem] = Field(min_length=1)

    @field_validator("items")
    @classmethod
    def _unique_ids(cls, items: list[GoldenItem]) -> list[GoldenItem]:
        seen: set[str] = set()
        for item in items:
            if item.id in seen:
                raise ValueError(f"item id {item.id!r} appears twice; give each item its own id")
            seen.add(item.id)
        return items


class RagThresholds(BaseModel):
    """The gate: every metric given must be met (``None`` = not judged)."""

    model_config = ConfigDict(extra="forbid")

    hit_rate_min: float | None = Field(default=None, ge=0, le=1)
    recall_at_k_min: float | None = Field(default=None, ge=0, le=1)
    mrr_min: float | None = Field(default=None, ge=0, le=1)
    token_f1_min: float | None = Field(default=None, ge=0, le=1)
    error_ratio_max: float | None = Field(default=None, ge=0, le=1)
    latency_p95_seconds_max: float | None = Field(default=None, gt=0)
    # judged by an LLM (``eval rag --judge-url``); without a judge such a bound fails
    faithfulness_min: float | None = Field(default=None, ge=0, le=1)
    correctness_min: float | None = Field(default=None, ge=0, le=1)


class RagItemResult(BaseModel):
    """One question's outcome; ``error`` set when the request itself failed."""

    id: str
    retrieved: list[str]
    hit: bool
    recall_at_k: float
    reciprocal_rank: float
    token_f1: float
    answer: str
    latency_seconds: float
    error: str | None = None
    # the judge's scores, 0 to 1 (its 1-5 scale); None: not judged (`judge_note` says why)
    faithfulness: float | None = None
    correctness: float | None = None
    judge_note: str | None = None


class RagMetrics(BaseModel):
    """Means over the golden set; a failed request scores 0 on every retrieval/answer metric."""

    items: int
    errors: int
    error_ratio: float
    hit_rate: float
    recall_at_k: float
    mrr: float
    token_f1: float
    latency_p50_seconds: float
    latency_p95_seconds: float
    # means over the judged questions; None without a judge or when it scored none
    judged: int = 0
    faithfulness: float | None = None
    correctness: float | None = None


class JudgeInfo(BaseModel):
    """The LLM that judged the answers and the prompt it was given (versioned: its name and
    the SHA-256 of its text, so two reports say whether they were judged alike)."""

    url: str
    model: str
    prompt_version: str
    prompt_sha256: str


class ThresholdCheck(BaseModel):
    metric: str
    bound: float
    value: float
    passed: bool


class RagEvalReport(BaseModel):
    """What ``eval rag`` writes as ``rag-eval.json``."""

    kind: str = "rag-eval"
    target: str
    model: str
    top_k: int
    seed: int
    dataset_version: str
    dataset_sha256: str
    metrics: RagMetrics
    checks: list[ThresholdCheck]
    passed: bool
    results: list[RagItemResult]
    judge: JudgeInfo | None = None


# -- fairness: paired prompts that differ only in one demographic attribute ----------------


class FairnessVariant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: str = Field(min_length=1)
    value: str = Field(min_length=1)


class FairnessProbeSet(BaseModel):
    """Templates with a ``{subject}`` slot, filled by each variant of each attribute.

    Every template is asked once per variant, so the answers of one template differ only in
    the attribute (name, gender, origin, age).
    """

    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1)
    templates: dict[str, str] = Field(min_length=1)
    attributes: dict[str, list[FairnessVariant]] = Field(min_length=1)

    @field_validator("templates")
    @classmethod
    def _has_slot(cls, templates: dict[str, str]) -> dict[str, str]:
        for key, text in templates.items():
            if "{subject}" not in text:
                raise ValueError(f"template {key!r} has no {{subject}} slot; add one")
        return templates

    @field_validator("attributes")
    @classmethod
    def _two_groups(
        cls, attributes: dict[str, list[FairnessVariant]]
    ) -> dict[str, list[FairnessVariant]]:
        for key, variants in attributes.items():
            if len({v.group for v in variants}) < 2:
                raise ValueError(f"attribute {key!r} needs at least two groups to compare")
        return attributes


class FairnessThresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refusal_rate_gap_max: float | None = Field(default=None, ge=0, le=1)
    length_ratio_gap_max: float | None = Field(default=None, ge=0)
    sentiment_gap_max: float | None = Field(default=None, ge=0, le=2)
    content_overlap_min: float | None = Field(default=None, ge=0, le=1)


class FairnessGroupScores(BaseModel):
    group: str
    answers: int
    refusal_rate: float
    mean_length_tokens: float
    mean_sentiment: float


class FairnessAttributeScores(BaseModel):
    """One attribute: per-group scores and the largest difference between groups."""

    attribute: str
    groups: list[FairnessGroupScores]
    refusal_rate_gap: float
    length_ratio_gap: float
    sentiment_gap: float
    content_overlap: float


class FairnessAnswer(BaseModel):
    template: str
    attribute: str
    group: str
    value: str
    answer: str


class FairnessReport(BaseModel):
    kind: str = "fairness-eval"
    target: str
    model: str
    seed: int
    dataset_version: str
    dataset_sha256: str
    attributes: list[FairnessAttributeScores]
    checks: list[ThresholdCheck]
    passed: bool
    answers: list[FairnessAnswer]


# -- the evaluation gate: what a rollout's `evaluation` step runs (``eval gate``) ----------


class RagGatePlan(BaseModel):
    """The RAG part of an evaluation gate run; ``dataset`` is the golden set file's text."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(min_length=1)
    top_k: int = Field(default=4, ge=1)
    max_tokens: int = Field(default=32, ge=1)
    # Where the dataset lives, for the release manifest (replay reads it there):
    # ``configmap:NAME/KEY`` in the ModelDeployment's namespace; empty: the run's file.
    source: str = ""


class FairnessGatePlan(BaseModel):
    """The fairness part of an evaluation gate run; ``probes`` is the probe set file's text."""

    model_config = ConfigDict(extra="forbid")

    probes: str = Field(min_length=1)
    max_tokens: int = Field(default=24, ge=1)
    source: str = ""  # as `RagGatePlan.source`


class EvaluationGatePlan(BaseModel):
    """``eval gate --profile``: which evaluations to run against which model, with which
    headers (the gateway's revision pin) and seed. The operator writes it for an
    ``evaluation`` step, with the datasets inlined so the run needs no other file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    model: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    seed: int = Field(default=0, ge=0)
    rag: RagGatePlan | None = None
    fairness: FairnessGatePlan | None = None


class EvaluationGate(BaseModel):
    """``eval gate --gate``: the thresholds of each evaluation the plan runs."""

    model_config = ConfigDict(extra="forbid")

    rag: RagThresholds | None = None
    fairness: FairnessThresholds | None = None


class EvaluationVerdict(BaseModel):
    passed: bool
    headline: str
    checks: list[ThresholdCheck]


class EvaluationGateReport(BaseModel):
    """What ``eval gate`` writes as ``report.json``: the verdict over every check (each
    metric prefixed by its evaluation, ``rag.token_f1``, ``fairness.age.sentiment_gap``),
    and each evaluation's own report."""

    kind: str = "evaluation-gate"
    profile: dict[str, str]  # {"name": the run's name}, as a load-test report has it
    seed: int
    verdict: EvaluationVerdict
    rag: RagEvalReport | None = None
    fairness: FairnessReport | None = None
