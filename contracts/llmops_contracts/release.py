"""The release manifest: what a promotion shipped, and the pure comparisons behind
``llmops release verify`` (the manifest against what runs) and ``llmops release replay``
(recorded deterministic metrics against a re-run).

One definition for both sides: the operator builds a manifest when a revision becomes stable
(`llmops_operator.core.registry.manifest`), and ``verify`` builds one the same way from what
the cluster shows now, so the two are compared field by field (`differences`). What only the
registry or the gates know (the weights' digest, prompt-template versions from the model
version's tags, the reports) is recorded, not verified: the cluster cannot show it.

Wire format: JSON, camelCase, ``kind`` = `MANIFEST_KIND`. Its identity is `manifest_digest`
(SHA-256 of the canonical JSON), kept next to every reference to it.

Workloads are the Helm-managed llmops Deployments of the ModelDeployment's namespace (the
gateway, the operator, a chart-installed model: ``app.kubernetes.io/part-of=llmops``), each
with its chart (``helm.sh/chart``), its values hash (the ``llmops.dev/values-hash``
annotation every llmops chart renders from ``.Values``) and its containers' images, and the
stable revision's Deployment the operator runs. Image digests come from the pods' status
(``imageID``), absent while no pod has pulled its image. The route and the retrieval settings
are the gateway's routing-table entry of the alias (`route_of`), so a table edited to point
elsewhere (another collection, another backend) is a difference too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from llmops_contracts.evaluation import (
    EvaluationGatePlan,
    EvaluationGateReport,
    FairnessReport,
    RagEvalReport,
)
from llmops_contracts.routing import RoutingTableError, parse_routing_table

MANIFEST_KIND = "llmops.dev/release-manifest/v1"
CHART_LABEL = "helm.sh/chart"
PART_OF_LABEL = "app.kubernetes.io/part-of"
VALUES_HASH_ANNOTATION = "llmops.dev/values-hash"
ABSENT = "<absent>"
# The evaluation gate's records (a JSON list of `EvaluationRecord`): a file next to its
# report.json, and a key of its verdict ConfigMap, where the operator reads them.
EVALUATIONS_KEY = "evaluations.json"
# An `EvaluationRecord.dataset` read from the cluster: ``configmap:NAME/KEY``.
CONFIGMAP_DATASET = "configmap:"


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


class ImageRef(_Model):
    image: str
    digest: str = ""  # sha256:<hex> of what the pods pulled; empty until one has


class Workload(_Model):
    """One Deployment: its chart, values hash and each container's image."""

    name: str
    chart: str = ""  # helm.sh/chart, e.g. rag-gateway-0.1.0; empty: not a chart's
    values_hash: str = ""
    images: dict[str, ImageRef] = Field(default_factory=dict)  # container name -> image


class ModelRecord(_Model):
    name: str
    revision: str
    uri: str
    mlflow_ref: str = ""  # models:/NAME@ALIAS or models:/NAME/VERSION as the spec named it
    version: str = ""  # the registered version it pinned
    digest: str = ""  # llmops.model.digest of that version (recorded, not verified)


class RagRecord(_Model):
    collection: str
    embedder: str
    template: str
    top_k: int


class RouteRecord(_Model):
    """The gateway's routing-table entry of the alias: where its stable traffic goes."""

    alias: str
    url: str = ""
    model: str = ""


class ReportRef(_Model):
    uri: str
    verdict: str = ""
    seed: int | None = None


class EvaluationRecord(_Model):
    """One evaluation the release passed, with what ``replay`` needs to run it again."""

    kind: Literal["rag", "fairness"]
    report_uri: str = ""
    dataset: str  # the golden set or probe set (a path or URI replay reads)
    dataset_version: str
    dataset_sha256: str
    seed: int
    model: str
    top_k: int | None = None  # rag only
    max_tokens: int
    metrics: dict[str, float]  # the deterministic metrics only (no latency)
    passed: bool


class ReleaseManifest(_Model):
    kind: str = MANIFEST_KIND
    model_deployment: str  # namespace/name
    revision: str
    revision_hash: str
    recorded_at: str = ""  # RFC 3339; empty in a manifest built from the cluster by verify
    model: ModelRecord
    engine_args: dict[str, str] = Field(default_factory=dict)
    prompt_templates: dict[str, str] = Field(default_factory=dict)
    rag: RagRecord | None = None
    route: RouteRecord | None = None  # None: not routed through the gateway's table
    workloads: list[Workload] = Field(default_factory=list)
    load_test: ReportRef | None = None
    evaluations: list[EvaluationRecord] = Field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True, indent=2)


class Difference(_Model):
    field: str
    expected: str
    actual: str

    def __str__(self) -> str:
        return f"{self.field}: manifest {self.expected}, running {self.actual}"


def manifest_digest(manifest: ReleaseManifest) -> str:
    """``sha256:<hex>`` of the canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(
        manifest.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":")
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def parse_manifest(text: str) -> ReleaseManifest:
    """Raises ValueError (pydantic's, naming the field) for a document that is not one."""
    return ReleaseManifest.model_validate_json(text)


# -- reading workloads from the Kubernetes API's JSON (kubectl's and the client's alike) ----


def digest_of(image_id: str) -> str:
    """``sha256:<hex>`` out of a pod's ``imageID`` (``docker.io/x@sha256:...`` or bare)."""
    _, _, digest = image_id.rpartition("@")
    return digest if digest.startswith("sha256:") else ""


def workload_of(deployment: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> Workload:
    """A Deployment as a `Workload`; digests from its pods (those its selector matches)."""
    meta = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    digests: dict[tuple[str, str], str] = {}
    for pod in pods:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            continue
        for seen in (pod.get("status") or {}).get("containerStatuses") or []:
            found = digest_of(str(seen.get("imageID") or ""))
            if found:
                digests.setdefault((str(seen.get("name")), str(seen.get("image"))), found)
    images = {}
    for container in containers:
        name, image = str(container.get("name")), str(container.get("image"))
        digest = digests.get((name, image), "")
        if not digest:  # the runtime may report the image normalized (docker.io/...)
            digest = next((d for (n, _), d in digests.items() if n == name), "")
        images[name] = ImageRef(image=image, digest=digest)
    return Workload(
        name=str(meta.get("name", "")),
        chart=str((meta.get("labels") or {}).get(CHART_LABEL, "")),
        values_hash=str((meta.get("annotations") or {}).get(VALUES_HASH_ANNOTATION, "")),
        images=images,
    )


def workloads_of(
    deployments: Iterable[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]]
) -> list[Workload]:
    """Every Deployment as a `Workload`, sorted by name."""
    pod_list = list(pods)
    return sorted((workload_of(d, pod_list) for d in deployments), key=lambda w: w.name)


def route_of(table: Any, alias: str) -> tuple[RouteRecord | None, RagRecord | None]:
    """The alias's stable backend in a decoded routing table, and the retrieval settings the
    gateway uses for it (None, None: no such entry, or not a table the gateway would load)."""
    try:
        route = parse_routing_table(table).routes.get(alias)
    except RoutingTableError:
        return None, None
    stable = next((b for b in route.backends if b.revision == "stable"), None) if route else None
    if stable is None:
        return None, None
    rag = stable.rag
    return RouteRecord(alias=alias, url=stable.url, model=stable.model), (
        RagRecord(
            collection=rag.collection, embedder=rag.embedder, template=rag.template, top_k=rag.top_k
        )
        if rag is not None
        else None
    )


# -- verify ----------------------------------------------------------------------------


def _show(value: object) -> str:
    return ABSENT if value in (None, "") else repr(value)


def _compare_maps(
    label: str, want: Mapping[str, str], have: Mapping[str, str], out: list[Difference]
) -> None:
    for key in sorted(set(want) | set(have)):
        if want.get(key) != have.get(key):
            out.append(
                Difference(
                    field=f"{label}.{key}",
                    expected=_show(want.get(key)),
                    actual=_show(have.get(key)),
                )
            )


def _compare_workload(want: Workload, have: Workload, out: list[Difference]) -> None:
    prefix = f"workloads.{want.name}"
    for name in ("chart", "values_hash"):
        if getattr(want, name) != getattr(have, name):
            out.append(
                Difference(
                    field=f"{prefix}.{to_camel(name)}",
                    expected=_show(getattr(want, name)),
                    actual=_show(getattr(have, name)),
                )
            )
    for container in sorted(set(want.images) | set(have.images)):
        w, h = want.images.get(container), have.images.get(container)
        field = f"{prefix}.images.{container}"
        if w is None or h is None or w.image != h.image:
            out.append(
                Difference(field=field, expected=_show(w and w.image), actual=_show(h and h.image))
            )
        elif w.digest and w.digest != h.digest:
            # The same tag pulled anew to other content; a digest not known yet is a difference
            # too (the pods that would show it are not running).
            out.append(
                Difference(
                    field=f"{field}.digest", expected=_show(w.digest), actual=_show(h.digest)
                )
            )


def differences(manifest: ReleaseManifest, running: ReleaseManifest) -> list[Difference]:
    """Each verifiable field where ``running`` (built from the cluster) departs from
    ``manifest``, in a stable order; empty when what runs is what was released."""
    found: list[Difference] = []
    pairs: list[tuple[str, object, object]] = [
        ("modelDeployment", manifest.model_deployment, running.model_deployment),
        ("revision", manifest.revision, running.revision),
        ("revisionHash", manifest.revision_hash, running.revision_hash),
        ("model.uri", manifest.model.uri, running.model.uri),
        ("model.mlflowRef", manifest.model.mlflow_ref, running.model.mlflow_ref),
        ("model.version", manifest.model.version, running.model.version),
    ]
    for field, want, have in pairs:
        if want != have:
            found.append(Difference(field=field, expected=_show(want), actual=_show(have)))
    _compare_maps("engineArgs", manifest.engine_args, running.engine_args, found)
    want_route = manifest.route.model_dump(by_alias=True) if manifest.route else {}
    have_route = running.route.model_dump(by_alias=True) if running.route else {}
    _compare_maps("route", want_route, have_route, found)
    want_rag = manifest.rag.model_dump(by_alias=True) if manifest.rag else {}
    have_rag = running.rag.model_dump(by_alias=True) if running.rag else {}
    _compare_maps(
        "rag",
        {k: str(v) for k, v in want_rag.items()},
        {k: str(v) for k, v in have_rag.items()},
        found,
    )
    have_by_name = {w.name: w for w in running.workloads}
    want_by_name = {w.name: w for w in manifest.workloads}
    for name in sorted(set(want_by_name) | set(have_by_name)):
        want_w, have_w = want_by_name.get(name), have_by_name.get(name)
        if want_w is None or have_w is None:
            found.append(
                Difference(
                    field=f"workloads.{name}",
                    expected="present" if want_w else ABSENT,
                    actual="present" if have_w else ABSENT,
                )
            )
            continue
        _compare_workload(want_w, have_w, found)
    return found


# -- replay ----------------------------------------------------------------------------


class MetricMismatch(_Model):
    evaluation: str  # rag | fairness
    metric: str
    recorded: float | None
    replayed: float | None

    def __str__(self) -> str:
        return (
            f"{self.evaluation} {self.metric}: recorded {_show(self.recorded)}, "
            f"replayed {_show(self.replayed)}"
        )


def metric_mismatches(
    kind: str, recorded: Mapping[str, float], replayed: Mapping[str, float]
) -> list[MetricMismatch]:
    """Exact comparison: deterministic metrics of the same inputs are the same numbers."""
    return [
        MetricMismatch(
            evaluation=kind, metric=m, recorded=recorded.get(m), replayed=replayed.get(m)
        )
        for m in sorted(set(recorded) | set(replayed))
        if recorded.get(m) != replayed.get(m)
    ]


RAG_DETERMINISTIC = ("items", "errors", "error_ratio", "hit_rate", "recall_at_k", "mrr", "token_f1")
FAIRNESS_DETERMINISTIC = (
    "refusal_rate_gap",
    "length_ratio_gap",
    "sentiment_gap",
    "content_overlap",
)


def rag_metrics_of(report: RagEvalReport) -> dict[str, float]:
    """The metrics a fixed golden set, seed and temperature-0 target reproduce (latency is
    left out: it is a measurement, not a function of the inputs)."""
    values = report.metrics.model_dump()
    return {name: float(values[name]) for name in RAG_DETERMINISTIC}


def fairness_metrics_of(report: FairnessReport) -> dict[str, float]:
    """``<attribute>.<gap>`` for every attribute the probe set compares."""
    return {
        f"{attr.attribute}.{name}": float(getattr(attr, name))
        for attr in report.attributes
        for name in FAIRNESS_DETERMINISTIC
    }


def evaluation_record_of(
    report: RagEvalReport | FairnessReport, *, dataset: str, max_tokens: int, report_uri: str = ""
) -> EvaluationRecord:
    """What a manifest keeps of an evaluation report (``dataset``: where replay reads it)."""
    if isinstance(report, RagEvalReport):
        return EvaluationRecord(
            kind="rag",
            report_uri=report_uri,
            dataset=dataset,
            dataset_version=report.dataset_version,
            dataset_sha256=report.dataset_sha256,
            seed=report.seed,
            model=report.model,
            top_k=report.top_k,
            max_tokens=max_tokens,
            metrics=rag_metrics_of(report),
            passed=report.passed,
        )
    return EvaluationRecord(
        kind="fairness",
        report_uri=report_uri,
        dataset=dataset,
        dataset_version=report.dataset_version,
        dataset_sha256=report.dataset_sha256,
        seed=report.seed,
        model=report.model,
        max_tokens=max_tokens,
        metrics=fairness_metrics_of(report),
        passed=report.passed,
    )


def gate_evaluation_records(
    report: EvaluationGateReport, plan: EvaluationGatePlan, *, report_uri: str = ""
) -> list[EvaluationRecord]:
    """What a manifest keeps of an evaluation gate run: one record per evaluation, its
    dataset where the plan says it lives (else the file the gate wrote it to)."""
    records = []
    if report.rag is not None and plan.rag is not None:
        records.append(
            evaluation_record_of(
                report.rag,
                dataset=plan.rag.source or "golden.yaml",
                max_tokens=plan.rag.max_tokens,
                report_uri=report_uri,
            )
        )
    if report.fairness is not None and plan.fairness is not None:
        records.append(
            evaluation_record_of(
                report.fairness,
                dataset=plan.fairness.source or "probes.yaml",
                max_tokens=plan.fairness.max_tokens,
                report_uri=report_uri,
            )
        )
    return records


def records_to_json(records: Iterable[EvaluationRecord]) -> str:
    return json.dumps([r.model_dump(mode="json", by_alias=True) for r in records], indent=2)


def parse_evaluation_records(text: str) -> list[EvaluationRecord]:
    """`records_to_json`'s output back (ValueError, or pydantic's, when it is not that)."""
    raw = json.loads(text)
    if not isinstance(raw, list):
        raise ValueError("not a JSON list of evaluation records")
    return [EvaluationRecord.model_validate(item) for item in raw]


def configmap_dataset(dataset: str) -> tuple[str, str] | None:
    """``(name, key)`` of a ``configmap:NAME/KEY`` dataset; None for a path."""
    if not dataset.startswith(CONFIGMAP_DATASET):
        return None
    name, _, key = dataset.removeprefix(CONFIGMAP_DATASET).partition("/")
    if not name or not key:
        raise ValueError(f"{dataset!r}: a ConfigMap dataset is configmap:NAME/KEY")
    return name, key
