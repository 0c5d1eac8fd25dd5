"""Pure manifest builders: a revision's Deployment and Service, and the routing table.

Workload layout (consistent with charts/llm-inference): one Deployment + one Service per
revision, named ``<modeldeployment>-<hash>``, labelled ``llmops.dev/model`` (served name),
``llmops.dev/revision`` (the revision label), ``llmops.dev/revision-hash`` and
``llmops.dev/modeldeployment``; the selector holds the last two, so revisions never share
pods. Engine flags are rendered exactly like the chart's ``llm-inference.args``.

The routing table is the gateway's format (services/llmops_gateway/domain/routing.py, read
there, never imported): ``routes.<alias>.backends[]`` with ``name url model revision weight
chat rag``; `build_routing_table` replaces only the alias this ModelDeployment owns, and
`build_released_routing_table` removes it again (only an entry this ModelDeployment wrote).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmops_operator.core.decision import TrafficShare
from llmops_operator.core.spec import RevisionTemplate

LABEL_MD = "llmops.dev/modeldeployment"
LABEL_HASH = "llmops.dev/revision-hash"
LABEL_MODEL = "llmops.dev/model"
LABEL_REVISION = "llmops.dev/revision"


def workload_name(md_name: str, revision_hash: str) -> str:
    """``<md>-<hash>``: a DNS-1035 label (the CRD keeps names short enough)."""
    return f"{md_name}-{revision_hash}"


def is_workload_of(name: str, md_name: str) -> bool:
    """True for a `workload_name` of ``md_name`` (``chat-1a2b3c4d`` is chat's, not chat-b's:
    a hash never contains a dash)."""
    owner, _, revision_hash = name.rpartition("-")
    return owner == md_name and bool(revision_hash)


def build_labels(md_name: str, revision_hash: str, template: RevisionTemplate) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "llm-inference",
        "app.kubernetes.io/instance": md_name,
        "app.kubernetes.io/component": "inference",
        "app.kubernetes.io/part-of": "llmops",
        "app.kubernetes.io/managed-by": "llmops-operator",
        LABEL_MODEL: template.model.name,
        LABEL_REVISION: template.label,
        LABEL_HASH: revision_hash,
        LABEL_MD: md_name,
    }


def build_engine_args(template: RevisionTemplate, model_arg: str) -> list[str]:
    """The chart's ``llm-inference.args``, flag for flag."""
    engine = template.engine
    args = [
        f"--model={model_arg}",
        f"--served-model-name={template.model.name}",
        "--host=0.0.0.0",
        f"--port={template.port}",
        f"--tensor-parallel-size={engine.tensor_parallel_size}",
        f"--dtype={engine.dtype}",
        f"--gpu-memory-utilization={engine.gpu_memory_utilization or 0.9}",
    ]
    if engine.max_model_len is not None:
        args.append(f"--max-model-len={engine.max_model_len}")
    if engine.quantization:
        args.append(f"--quantization={engine.quantization}")
    if model_arg.startswith("s3://"):
        args.append("--load-format=runai_streamer")
    return [*args, *engine.extra_args]


def model_arg_of(uri: str) -> str:
    """``hf://org/name`` -> ``org/name``; ``pvc://claim/path`` -> the mount path."""
    if uri.startswith("hf://"):
        return uri.removeprefix("hf://")
    if uri.startswith("pvc://"):
        rest = uri.removeprefix("pvc://").split("/", 1)
        return "/mnt/model-source/" + (rest[1] if len(rest) > 1 else "")
    return uri


def build_deployment_spec(
    md_name: str, revision_hash: str, template: RevisionTemplate, replicas: int, uri: str
) -> dict[str, Any]:
    """The revision's Deployment (no namespace, no owner: the shell adds those)."""
    labels = build_labels(md_name, revision_hash, template)
    selector = {LABEL_MD: md_name, LABEL_HASH: revision_hash}
    engine = template.engine
    gpus = engine.tensor_parallel_size if engine.gpus is None else engine.gpus
    resources: dict[str, Any] = {}
    if gpus > 0:
        quantity = {"nvidia.com/gpu": str(gpus)}  # quantities are strings in the API
        resources = {"requests": quantity, "limits": dict(quantity)}
    container = {
        "name": "vllm",
        "image": engine.image,
        "command": ["python3", "-m", "vllm.entrypoints.openai.api_server"],
        "args": build_engine_args(template, model_arg_of(uri)),
        "env": [
            {"name": "HOME", "value": "/home/vllm"},
            {"name": "HF_HOME", "value": "/models/hf"},
            {"name": "VLLM_NO_USAGE_STATS", "value": "1"},
        ],
        "ports": [{"name": "http", "containerPort": template.port, "protocol": "TCP"}],
        "startupProbe": {
            "httpGet": {"path": "/health", "port": "http"},
            "periodSeconds": 10,
            # The model-load budget: the same number the progress deadline adds up.
            "failureThreshold": max(1, -(-engine.load_budget_seconds // 10)),
        },
        "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 10},
        "resources": resources,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "models", "mountPath": "/models"},
            {"name": "home", "mountPath": "/home/vllm"},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir, not the host's
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": workload_name(md_name, revision_hash),
            "labels": labels,
            "annotations": {"llmops.dev/model-uri": uri},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
            },
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 1000,
                        "fsGroup": 1000,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [
                        {"name": "models", "emptyDir": {}},
                        {"name": "home", "emptyDir": {}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        },
    }


def build_service_spec(
    md_name: str, revision_hash: str, template: RevisionTemplate
) -> dict[str, Any]:
    """The revision's ClusterIP Service: what the routing table points at."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": workload_name(md_name, revision_hash),
            "labels": build_labels(md_name, revision_hash, template),
        },
        "spec": {
            "type": "ClusterIP",
            "selector": {LABEL_MD: md_name, LABEL_HASH: revision_hash},
            "ports": [{"name": "http", "port": template.port, "targetPort": "http"}],
        },
    }


def service_url(md_name: str, revision_hash: str, namespace: str, port: int) -> str:
    return f"http://{workload_name(md_name, revision_hash)}.{namespace}.svc:{port}/v1"


def build_backends(
    md_name: str, namespace: str, traffic: Sequence[TrafficShare]
) -> list[dict[str, Any]]:
    """The alias's backends in the gateway's format (shares without a template are skipped:
    a backend needs the served model name)."""
    backends: list[dict[str, Any]] = []
    for share in traffic:
        if share.template is None:
            continue
        backend: dict[str, Any] = {
            "name": workload_name(md_name, share.revision_hash),
            "url": service_url(md_name, share.revision_hash, namespace, share.template.port),
            "model": share.template.model.name,
            "revision": share.role,
            "weight": share.weight,
            "chat": share.template.chat,
        }
        if share.template.rag is not None:
            rag = share.template.rag
            backend["rag"] = {
                "collection": rag.collection,
                "top_k": rag.top_k,
                "template": rag.template,
                "embedder": rag.embedder,
                "min_score": rag.min_score,
            }
        backends.append(backend)
    return backends


class RoutingTableConflictError(ValueError):
    """The table this alias would produce would be rejected by the gateway."""


def build_routing_table(
    current: Mapping[str, Any] | None, alias: str, backends: list[dict[str, Any]], version: str
) -> dict[str, Any]:
    """``current`` with ``routes[alias]`` replaced (removed when no backend is left).

    Raises `RoutingTableConflictError` when a backend's ``rag.embedder`` is not an alias of the
    table: the gateway would reject the whole file, taking every alias down with it.
    """
    routes = dict((current or {}).get("routes") or {})
    if backends:
        kind = (routes.get(alias) or {}).get("kind", "generate")
        routes[alias] = {"kind": kind, "backends": backends}
    else:
        routes.pop(alias, None)
    for backend in backends:
        embedder = (backend.get("rag") or {}).get("embedder")
        if embedder is not None and embedder not in routes:
            raise RoutingTableConflictError(
                f"route.rag.embedder {embedder!r} is not an alias of the routing table"
            )
    return {"version": version, "routes": routes}


def build_released_routing_table(
    current: Mapping[str, Any] | None, alias: str, md_name: str
) -> dict[str, Any] | None:
    """``current`` without ``routes[alias]`` when ``md_name`` wrote it (every backend is one
    of its revision Services); None when there is nothing of its to remove.

    Raises `RoutingTableConflictError` when another alias uses this one as its
    ``rag.embedder``: without it the gateway would reject the whole file.
    """
    routes = dict((current or {}).get("routes") or {})
    backends = (routes.get(alias) or {}).get("backends") or []
    names = [str(backend.get("name", "")) for backend in backends]
    if not names or not all(is_workload_of(name, md_name) for name in names):
        return None
    del routes[alias]
    users = sorted(
        other
        for other, route in routes.items()
        if any(((b.get("rag") or {}).get("embedder")) == alias for b in route.get("backends", []))
    )
    if users:
        raise RoutingTableConflictError(
            f"routes.{alias} is kept: {', '.join(f'routes.{u}' for u in users)} use it as "
            "rag.embedder (the gateway would reject the table without it)"
        )
    return {"version": "", "routes": routes}
