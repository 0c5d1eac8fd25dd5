"""Pure manifest builders: a revision's Deployment and Service, and the routing table.

Workload layout (consistent with charts/llm-inference): one Deployment + one Service per
revision, named ``<modeldeployment>-<hash>``, labelled ``llmops.dev/model`` (served name),
``llmops.dev/revision`` (the revision label), ``llmops.dev/revision-hash`` and
``llmops.dev/modeldeployment``; the selector holds the last two, so revisions never share
pods. Engine flags are rendered exactly like the chart's ``llm-inference.args``.

The routing table's format is defined once, in `llmops_contracts.routing` (the gateway parses
it with the same models): ``routes.<alias>.backends[]`` with ``name url model revision weight
chat rag``. `build_backends` makes this ModelDeployment's backends as those models;
`build_routing_table` replaces only the alias it owns, keeping every other alias as written,
and `build_released_routing_table` removes it again (only an entry this ModelDeployment
wrote).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from llmops_contracts.routing import Backend, RagSettings, Route
from llmops_loadtest.k8s.security import (
    build_restricted_container_security_context,
    build_restricted_pod_security_context,
)
from llmops_operator.core.rollout.interface import TrafficShare
from llmops_operator.core.spec.schema import RevisionTemplate

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


MODEL_SOURCE = "/mnt/model-source"


def _pvc_parts(uri: str) -> tuple[str, str] | None:
    """``pvc://claim/path`` -> (claim, path); None for any other scheme."""
    if not uri.startswith("pvc://"):
        return None
    claim, _, path = uri.removeprefix("pvc://").partition("/")
    return claim, path


def model_arg_of(uri: str) -> str:
    """``hf://org/name`` -> ``org/name``; ``pvc://claim/path`` -> the path on the claim's mount
    (`MODEL_SOURCE`, what the chart's ``llm-inference.modelArg`` gives)."""
    if uri.startswith("hf://"):
        return uri.removeprefix("hf://")
    pvc = _pvc_parts(uri)
    return uri if pvc is None else f"{MODEL_SOURCE}/{pvc[1]}".rstrip("/")


def _probes(template: RevisionTemplate) -> dict[str, Any]:
    """The chart's ``llm-inference.probes``: the startup probe holds the model-load budget."""
    period = template.pod.probes.period_seconds
    health = {"path": "/health", "port": "http"}
    budget = template.engine.load_budget_seconds
    return {
        # The same number the progress deadline adds up (at least one try).
        "startupProbe": {
            "httpGet": dict(health),
            "periodSeconds": period,
            "failureThreshold": max(1, -(-budget // period)),
        },
        "readinessProbe": {"httpGet": dict(health), "periodSeconds": period, "failureThreshold": 3},
        "livenessProbe": {
            "httpGet": dict(health),
            "periodSeconds": period,
            "failureThreshold": template.pod.probes.liveness_failure_threshold,
            "timeoutSeconds": 5,
        },
    }


def _resources(template: RevisionTemplate) -> dict[str, Any]:
    """``pod.resources`` with one GPU per shard (or ``engine.gpus``) added to requests and
    limits, as the chart adds ``gpu.count``."""
    engine = template.engine
    gpus = engine.tensor_parallel_size if engine.gpus is None else engine.gpus
    resources = {key: dict(value) for key, value in template.pod.resources.items()}
    if gpus > 0:
        for key in ("requests", "limits"):
            # a quantity is a string in the API (the chart's integer is the same quantity)
            resources[key] = {"nvidia.com/gpu": str(gpus), **resources.get(key, {})}
    return resources


def build_pod_spec(template: RevisionTemplate, uri: str) -> dict[str, Any]:
    """The revision's pod: what charts/llm-inference renders for the same values (deployment
    mode), so a revision the operator starts runs like the release the chart installed.
    tests/integration/charts/test_operator_pod.py renders both and compares them."""
    engine, pod = template.engine, template.pod
    pvc = _pvc_parts(uri)
    env = [
        {"name": "HOME", "value": "/home/vllm"},
        {"name": "XDG_CACHE_HOME", "value": "/home/vllm/.cache"},
        {"name": "HF_HOME", "value": "/models/hf"},
        {"name": "VLLM_NO_USAGE_STATS", "value": "1"},
        {"name": "DO_NOT_TRACK", "value": "1"},
        *({"name": var.name, "value": var.value} for var in engine.extra_env),
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "model-cache", "mountPath": "/models"},
        {"name": "home", "mountPath": "/home/vllm"},
        {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir, not the host's
        {"name": "dshm", "mountPath": "/dev/shm"},  # noqa: S108 - an in-memory emptyDir
    ]
    cache: dict[str, Any] = (
        {"persistentVolumeClaim": {"claimName": pod.model_cache_claim}}
        if pod.model_cache_claim
        else {"emptyDir": {}}
    )
    volumes: list[dict[str, Any]] = [
        {"name": "model-cache", **cache},
        {"name": "home", "emptyDir": {}},
        {"name": "tmp", "emptyDir": {}},
        {
            "name": "dshm",
            "emptyDir": {
                "medium": "Memory",
                "sizeLimit": pod.shared_memory_size_limit or f"{2 * engine.tensor_parallel_size}Gi",
            },
        },
    ]
    if pvc is not None:
        mounts.append({"name": "model-source", "mountPath": MODEL_SOURCE, "readOnly": True})
        volumes.append(
            {
                "name": "model-source",
                "persistentVolumeClaim": {"claimName": pvc[0], "readOnly": True},
            }
        )
    container: dict[str, Any] = {
        "name": "vllm",
        "image": engine.image,
        "imagePullPolicy": engine.image_pull_policy,
        "command": ["python3", "-m", "vllm.entrypoints.openai.api_server"],
        "args": build_engine_args(template, model_arg_of(uri)),
        "env": env,
    }
    if template.model.credentials_secret:
        container["envFrom"] = [{"secretRef": {"name": template.model.credentials_secret}}]
    container |= {
        "ports": [{"name": "http", "containerPort": template.port, "protocol": "TCP"}],
        **_probes(template),
        "resources": _resources(template),
        "securityContext": build_restricted_container_security_context(),
        "volumeMounts": [*mounts, *(dict(mount) for mount in pod.extra_volume_mounts)],
    }
    security = pod.pod_security
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "securityContext": build_restricted_pod_security_context(
            security.run_as_user, run_as_group=security.run_as_group, fs_group=security.fs_group
        ),
    }
    if pod.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": name} for name in pod.image_pull_secrets]
    if pod.runtime_class_name:
        spec["runtimeClassName"] = pod.runtime_class_name
    if pod.node_selector:
        spec["nodeSelector"] = dict(pod.node_selector)
    if pod.tolerations:
        spec["tolerations"] = [dict(toleration) for toleration in pod.tolerations]
    if pod.affinity:
        spec["affinity"] = dict(pod.affinity)
    spec["containers"] = [container]
    spec["volumes"] = [*volumes, *(dict(volume) for volume in pod.extra_volumes)]
    return spec


def build_deployment_spec(
    md_name: str, revision_hash: str, template: RevisionTemplate, replicas: int, uri: str
) -> dict[str, Any]:
    """The revision's Deployment (no namespace, no owner: the shell adds those)."""
    labels = build_labels(md_name, revision_hash, template)
    selector = {LABEL_MD: md_name, LABEL_HASH: revision_hash}
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
            # The chart's: a GPU is rarely free for a surge pod, replace one replica at a time.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
            },
            "template": {
                "metadata": {"labels": labels},
                "spec": build_pod_spec(template, uri),
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


def build_backends(md_name: str, namespace: str, traffic: Sequence[TrafficShare]) -> list[Backend]:
    """The alias's backends (shares without a template are skipped: a backend needs the
    served model name)."""
    backends: list[Backend] = []
    for share in traffic:
        if share.template is None:
            continue
        rag = share.template.rag
        backends.append(
            Backend(
                name=workload_name(md_name, share.revision_hash),
                url=service_url(md_name, share.revision_hash, namespace, share.template.port),
                model=share.template.model.name,
                revision=share.role,
                weight=share.weight,
                chat=share.template.chat,
                rag=None
                if rag is None
                else RagSettings(
                    collection=rag.collection,
                    top_k=rag.top_k,
                    template=rag.template,
                    embedder=rag.embedder,
                    min_score=rag.min_score,
                ),
            )
        )
    return backends


class RoutingTableConflictError(ValueError):
    """The table this alias would produce would be rejected by the gateway."""


def build_routing_table(
    current: Mapping[str, Any] | None, alias: str, backends: Sequence[Backend], version: str
) -> dict[str, Any]:
    """``current`` with ``routes[alias]`` replaced (removed when no backend is left).

    Raises `RoutingTableConflictError` when a backend's ``rag.embedder`` is not an alias of the
    table, or the alias's route is not one the gateway would accept: the gateway would reject
    the whole file, taking every alias down with it.
    """
    routes = dict((current or {}).get("routes") or {})
    if backends:
        kind = (routes.get(alias) or {}).get("kind", "generate")
        try:
            route = Route(kind=kind, backends=tuple(backends))
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise RoutingTableConflictError(f"routes.{alias}.{where}: {first['msg']}") from None
        routes[alias] = route.model_dump(mode="json", exclude_none=True)
    else:
        routes.pop(alias, None)
    for backend in backends:
        if backend.rag is not None and backend.rag.embedder not in routes:
            raise RoutingTableConflictError(
                f"route.rag.embedder {backend.rag.embedder!r} is not an alias of the routing table"
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
