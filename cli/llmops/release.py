"""`llmops release verify | replay`: a promotion's manifest against the cluster, and its
evaluations run again (thin I/O around `llmops_contracts.release` and the operator's
`core.manifests.release_manifest`; the cluster is read with kubectl, MLflow through the
project's REST client).

A MANIFEST is one of:

- a file (the JSON the operator wrote, e.g. saved with
  ``kubectl get cm NAME-release-HASH -o jsonpath='{.data.manifest\\.json}'``);
- ``md/NAME``: the one the ModelDeployment's ``.status.releaseManifest`` names (its ConfigMap);
- ``models:/NAME/VERSION``: the one recorded against that model version in MLflow.

A manifest read from the cluster or MLflow must hash to the digest its reference records;
one that does not was changed after the operator wrote it and is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console

from llmops.registry import parse_ref
from llmops_contracts.errors import LlmopsError
from llmops_contracts.release import (
    CONFIGMAP_DATASET,
    EvaluationRecord,
    MetricMismatch,
    ReleaseManifest,
    configmap_dataset,
    differences,
    fairness_metrics_of,
    manifest_digest,
    metric_mismatches,
    parse_manifest,
    rag_metrics_of,
)
from llmops_infra.settings import LocalSettings
from llmops_loadtest.errors import LoadtestError
from llmops_loadtest.fairness_eval import load_probes, run_fairness_eval
from llmops_loadtest.rag_eval import load_golden_set, run_rag_eval
from llmops_operator.clients.mlflow import MlflowRegistry, RegistryError
from llmops_operator.core.manifests.release_manifest import build_running_manifest
from llmops_operator.core.registry.manifest import MANIFEST_KEY
from llmops_operator.settings import OperatorSettings

app = typer.Typer(
    help="Release manifests: check what runs against one, re-run its evaluations.",
    no_args_is_help=True,
)
_console = Console(soft_wrap=True, highlight=False)
_WHAT = "llmops release"
# Where the operator writes the routing table, at its defaults.
ROUTING_CONFIGMAP = str(OperatorSettings.model_fields["routing_configmap"].default)
ROUTING_KEY = str(OperatorSettings.model_fields["routing_key"].default)
_MANIFEST = typer.Argument(
    metavar="MANIFEST", help="A manifest file, md/NAME (its ConfigMap) or models:/NAME/VERSION."
)
_NAMESPACE = typer.Option(
    "--namespace", "-n", help="Namespace (default: the manifest's, or for md/NAME kubectl's)."
)
_TRACKING = typer.Option(
    "--tracking-uri", envvar="MLFLOW_TRACKING_URI", help="MLflow server (for models:/...)."
)


@dataclass(frozen=True)
class Loaded:
    manifest: ReleaseManifest
    source: str
    digest: str


def _kubectl(*args: str) -> dict[str, Any]:
    pinned = LocalSettings().bin_dir / "kubectl"
    binary = str(pinned) if pinned.is_file() else shutil.which("kubectl")
    if binary is None:
        raise LlmopsError(_WHAT, "kubectl is not installed", "make install, or put it on PATH")
    done = subprocess.run(
        [binary, *args, "-o", "json"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )
    if done.returncode != 0:
        raise LlmopsError(f"kubectl {' '.join(args)}", done.stderr.strip() or "failed")
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def _parse(text: str, source: str) -> ReleaseManifest:
    try:
        return parse_manifest(text)
    except ValidationError as err:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'document'}: {e['msg']}"
            for e in err.errors()[:3]
        )
        raise LlmopsError(
            source,
            f"is not a release manifest ({fields})",
            "give the JSON the operator wrote (see docs/releases.md)",
        ) from None


def _checked(text: str, source: str, recorded: str) -> Loaded:
    manifest = _parse(text, source)
    digest = manifest_digest(manifest)
    if recorded and recorded != digest:
        raise LlmopsError(
            source,
            f"hashes to {digest}, not the {recorded} recorded with it: it was changed "
            "after the operator wrote it",
            "read the manifest again from where it was recorded",
        )
    return Loaded(manifest, source, digest)


def load_manifest(ref: str, *, namespace: str | None, tracking_uri: str) -> Loaded:
    """The manifest ``ref`` names (see the module's docstring)."""
    if ref.startswith("models:/"):
        if not tracking_uri:
            raise LlmopsError(
                _WHAT,
                f"{ref} needs the MLflow server",
                "pass --tracking-uri or set MLFLOW_TRACKING_URI",
            )
        version = parse_ref(ref)
        if not version.version:
            raise LlmopsError(
                _WHAT,
                f"{ref}: name a version (models:/NAME/VERSION), not an alias",
                "llmops model show NAME@ALIAS gives its version",
            )
        try:
            text, digest = MlflowRegistry(tracking_uri, 30).read_release_manifest(
                version.name, version.version
            )
        except RegistryError as err:
            raise LlmopsError(_WHAT, err.one_line()) from None
        return _checked(text, ref, digest)
    if ref.startswith("md/"):
        ns = ["-n", namespace] if namespace else []
        md = _kubectl("get", "modeldeployment", ref.removeprefix("md/"), *ns)
        recorded = (md.get("status") or {}).get("releaseManifest") or {}
        if not recorded.get("configMap"):
            raise LlmopsError(
                ref,
                "has no release manifest yet (.status.releaseManifest)",
                "wait until a revision of it is stable",
            )
        cm_ns = md["metadata"]["namespace"]
        cm = _kubectl("get", "configmap", recorded["configMap"], "-n", cm_ns)
        text = (cm.get("data") or {}).get(MANIFEST_KEY, "")
        return _checked(
            text, f"configmap {cm_ns}/{recorded['configMap']}", recorded.get("digest", "")
        )
    path = Path(ref)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise LlmopsError(
            ref,
            f"cannot be read ({err.strerror or err})",
            "give a manifest file, md/NAME or models:/NAME/VERSION",
        ) from None
    return _checked(text, ref, "")


def _routing_table(namespace: str) -> Any:
    """The gateway's routing table of the namespace, decoded (empty when there is none)."""
    listed = _kubectl(
        "get",
        "configmaps",
        "-n",
        namespace,
        "--field-selector",
        f"metadata.name={ROUTING_CONFIGMAP}",
    )
    for item in listed.get("items", []):
        return yaml.safe_load((item.get("data") or {}).get(ROUTING_KEY) or "") or {}
    return {}


def read_running(manifest: ReleaseManifest, namespace: str | None) -> ReleaseManifest:
    """The manifest of what runs now where ``manifest`` was released (or in ``namespace``)."""
    released_ns, _, name = manifest.model_deployment.partition("/")
    ns = namespace or released_ns
    md = _kubectl("get", "modeldeployment", name, "-n", ns)
    deployments = _kubectl("get", "deployments", "-n", ns, "-l", "app.kubernetes.io/part-of=llmops")
    pods = _kubectl("get", "pods", "-n", ns)
    running = build_running_manifest(
        md, deployments.get("items", []), pods.get("items", []), _routing_table(ns)
    )
    if namespace and namespace != released_ns:
        # compared in another namespace on purpose: the namespace itself is no difference
        running = running.model_copy(update={"model_deployment": manifest.model_deployment})
    return running


@app.command()
def verify(
    manifest_ref: Annotated[str, _MANIFEST],
    namespace: Annotated[str | None, _NAMESPACE] = None,
    tracking_uri: Annotated[str, _TRACKING] = "",
) -> None:
    """Check that what runs in the cluster is what MANIFEST released; name each difference.

    Exit 0 when it matches, 1 with a difference (each printed as field, manifest, running),
    2 when the manifest or the cluster cannot be read."""
    loaded = load_manifest(manifest_ref, namespace=namespace, tracking_uri=tracking_uri)
    m = loaded.manifest
    _console.print(
        f"manifest {loaded.source} ({loaded.digest}): {m.model_deployment} revision "
        f"{m.revision} ({m.revision_hash}), recorded {m.recorded_at or '-'}"
    )
    found = differences(m, read_running(m, namespace))
    if not found:
        images = sum(len(w.images) for w in m.workloads)
        _console.print(
            f"[bold green]matches[/]: {len(m.workloads)} workloads, {images} images, "
            "charts, values and the revision are as released"
        )
        return
    width = max(len(d.field) for d in found)
    _console.print(f"[bold red]{len(found)} difference{'s' if len(found) > 1 else ''}[/]")
    _console.print(f"  {'field':<{width}}  manifest -> running", markup=False)
    for d in found:
        _console.print(f"  {d.field:<{width}}  {d.expected} -> {d.actual}", markup=False)
    raise typer.Exit(1)


def _dataset_path(record: EvaluationRecord, root: Path | None, namespace: str, work: Path) -> Path:
    """Where to read the record's dataset: ``configmap:NAME/KEY`` is read from ``namespace``
    into ``work``; a relative path is under ``root`` when given."""
    try:
        in_cluster = configmap_dataset(record.dataset)
    except ValueError as err:
        raise LlmopsError(_WHAT, str(err)) from None
    if in_cluster is not None:
        name, key = in_cluster
        data = _kubectl("get", "configmap", name, "-n", namespace).get("data") or {}
        if key not in data:
            raise LlmopsError(
                f"configmap {namespace}/{name}",
                f"has no key {key!r} (the {record.kind} dataset the release was evaluated on)",
                "restore the ConfigMap as it was when the release was evaluated",
            )
        path = work / f"{record.kind}-{key}"
        path.write_text(data[key], encoding="utf-8")
        return path
    path = Path(record.dataset)
    return path if path.is_absolute() or root is None else root / path


def replay_one(
    record: EvaluationRecord, *, target: str, root: Path | None, namespace: str = "default"
) -> list[MetricMismatch]:
    """Run one recorded evaluation again on the same inputs; its exact mismatches."""
    with tempfile.TemporaryDirectory(prefix="llmops-replay-") as work:
        return _replay(record, target, _dataset_path(record, root, namespace, Path(work)))


def _replay(record: EvaluationRecord, target: str, path: Path) -> list[MetricMismatch]:
    try:
        if record.kind == "rag":
            golden, sha256 = load_golden_set(path)
            _same_dataset(record, path, sha256)
            rag = run_rag_eval(
                target,
                golden,
                sha256,
                model=record.model,
                top_k=record.top_k or 4,
                seed=record.seed,
                max_tokens=record.max_tokens,
            )
            replayed = rag_metrics_of(rag)
        else:
            probes, sha256 = load_probes(path)
            _same_dataset(record, path, sha256)
            fairness = run_fairness_eval(
                target,
                probes,
                sha256,
                model=record.model,
                seed=record.seed,
                max_tokens=record.max_tokens,
            )
            replayed = fairness_metrics_of(fairness)
    except LoadtestError as err:
        raise LlmopsError(_WHAT, f"{record.kind} replay: {err.one_line()}") from None
    return metric_mismatches(record.kind, record.metrics, replayed)


def _same_dataset(record: EvaluationRecord, path: Path, sha256: str) -> None:
    if sha256 != record.dataset_sha256:
        in_cluster = record.dataset.startswith(CONFIGMAP_DATASET)
        raise LlmopsError(
            record.dataset if in_cluster else str(path),
            f"has SHA-256 {sha256}, not the {record.dataset_sha256} of the "
            f"{record.kind} dataset {record.dataset_version!r} the release was evaluated on",
            "restore the ConfigMap's key as it was when the release was evaluated"
            if in_cluster
            else "give the dataset as it was (--dataset-root names the folder it is in)",
        )


@app.command()
def replay(
    manifest_ref: Annotated[str, _MANIFEST],
    target: Annotated[str, typer.Option("--target", "-t", help="Gateway or engine base URL.")],
    dataset_root: Annotated[
        Path | None, typer.Option(help="Folder relative dataset paths are read from.")
    ] = None,
    namespace: Annotated[str | None, _NAMESPACE] = None,
    tracking_uri: Annotated[str, _TRACKING] = "",
) -> None:
    """Re-run the evaluations MANIFEST recorded (same dataset, seed and settings) against
    TARGET; every deterministic metric must come out exactly as recorded.

    Exit 0 when all reproduce, 1 on a mismatch (each named) or when the manifest records no
    evaluation to replay, 2 when one cannot run (changed dataset, unreachable target)."""
    loaded = load_manifest(manifest_ref, namespace=namespace, tracking_uri=tracking_uri)
    records = loaded.manifest.evaluations
    if not records:
        _console.print(
            f"[bold yellow]nothing to replay[/]: {loaded.source} records no "
            "evaluation (only a load test, which is a measurement, not a "
            "deterministic metric)"
        )
        raise typer.Exit(1)
    failed = False
    released_ns = loaded.manifest.model_deployment.partition("/")[0]
    for record in records:
        found = replay_one(
            record, target=target, root=dataset_root, namespace=namespace or released_ns
        )
        if found:
            failed = True
            _console.print(
                f"[bold red]{record.kind}[/]: {len(found)} of {len(record.metrics)} metrics differ"
            )
            for mismatch in found:
                _console.print(f"  {mismatch}", markup=False)
        else:
            _console.print(
                f"[bold green]{record.kind}[/]: {len(record.metrics)} metrics "
                f"reproduced exactly (seed {record.seed}, dataset "
                f"{record.dataset_version})"
            )
    if failed:
        raise typer.Exit(1)
