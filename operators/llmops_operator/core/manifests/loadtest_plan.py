"""What the load-test gate runs (pure): the profile and gate files and the target.

The gate is ``llmops-loadtest run`` (the load-test package's own command, the same command as its
in-cluster Job) against one revision. Two ways to reach it:

- straight to the revision's Service (default): the revision's served model name, the
  engine's own endpoints; ``chat`` falls back to completions for a revision served with
  ``route.chat: completion`` (its engine has no chat template);
- through the llmops gateway (the operator's ``loadtest_gateway_url``): the spec's alias
  with the gateway's revision pin (``x-llmops-revision: canary|preview``), so the run sees
  what users will see, RAG retrieval included. The ``rag`` profile needs this way.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from llmops_operator.core.manifests.workloads import service_url
from llmops_operator.core.rollout.interface import Role
from llmops_operator.core.spec.schema import LoadTestSpec, RevisionTemplate, parse_duration

REVISION_PIN_HEADER = "x-llmops-revision"

# profile -> (api, input tokens, output tokens)
PROFILES: dict[str, tuple[str, int, int]] = {
    "chat": ("chat", 128, 64),
    "completions": ("completions", 128, 64),
    "long-context": ("completions", 2048, 32),
    "rag": ("rag_query", 32, 64),
}


class LoadTestPlanError(ValueError):
    """The gate cannot run as configured; the message says what to change."""


@dataclass(frozen=True)
class LoadTestPlan:
    """Everything one gate run needs: ``llmops-loadtest run --target T --profile P --gate G``
    (+ ``--mlflow-uri U --mlflow-model NAME/VERSION`` when the revision is a registry version:
    the report becomes an MLflow run linked to it, which is where people open it)."""

    target: str
    profile: dict[str, Any]
    gate: dict[str, Any]
    timeout_s: float
    mlflow: tuple[str, str] | None = None
    # The `llmops-loadtest` subcommand: ("eval", "gate") for an evaluation step
    # (`core.manifests.evaluation_plan`), with the same files and flags.
    command: tuple[str, ...] = ("run",)


def plan_load_test(
    spec: LoadTestSpec,
    *,
    name: str,
    md_name: str,
    namespace: str,
    alias: str,
    revision_hash: str,
    role: Role,
    template: RevisionTemplate,
    gateway_url: str,
    grace_s: float,
    mlflow_version: tuple[str, str, str] | None = None,
) -> LoadTestPlan:
    """The plan for gate run ``name`` of revision ``revision_hash`` (in role ``role``);
    ``mlflow_version`` is (tracking URI, model name, version) of a registry revision."""
    api, input_tokens, output_tokens = PROFILES[spec.profile]
    through_gateway = bool(gateway_url)
    if api == "rag_query" and not through_gateway:
        raise LoadTestPlanError(
            "the rag load-test profile needs the gateway (retrieval happens there): set the "
            "operator chart's loadTest.gatewayUrl (LLMOPS_OPERATOR_LOADTEST_GATEWAY_URL)"
        )
    if api == "chat" and not through_gateway and template.chat == "completion":
        api = "completions"  # the engine has no chat template; the gateway renders it
    if through_gateway:
        target, model = gateway_url.rstrip("/"), alias
        headers = {REVISION_PIN_HEADER: role}
    else:
        url = service_url(md_name, revision_hash, namespace, template.port)
        target, model, headers = url.removesuffix("/v1"), template.model.name, {}
    duration_s = parse_duration(spec.duration)
    profile: dict[str, Any] = {
        "name": name,
        "api": api,
        "model": model,
        "stream": True,
        "prompts": {
            "kind": "fixed",
            "input_tokens": spec.input_tokens or input_tokens,
            "output_tokens": spec.output_tokens or output_tokens,
        },
        "load": {"shape": "fixed_concurrency", "users": spec.users, "duration_s": duration_s},
        "warmup_s": parse_duration(spec.warmup),
        "seed": zlib.crc32(revision_hash.encode()),  # same prompts on every retry
        "headers": headers,
    }
    mlflow = None
    if mlflow_version is not None:
        tracking_uri, model_name, version = mlflow_version
        mlflow = (tracking_uri, f"{model_name}/{version}")
    return LoadTestPlan(target, profile, spec.gate_document(), duration_s + grace_s, mlflow)


@dataclass(frozen=True)
class TableCheck:
    """Whether a gate run through the gateway may start (`check_served_table`)."""

    start: bool
    note: str = ""  # why it waits, or the warning it starts with
    warning: bool = False


def check_served_table(
    written: str, served: str | None, *, waited_s: float, limit_s: float
) -> TableCheck:
    """Argo Rollouts' ``verifyWeight`` for the gateway: a run pinned to the candidate starts
    once the gateway serves the routing table the operator wrote (``written``, its
    ``version``), since a mounted ConfigMap reaches the pod a minute or so after it changes,
    and until then the gateway routes by the old one (a candidate it has no backend for
    answers every pinned request with an error). ``served``: what its ``/readyz`` reports
    (None: it did not answer). After ``limit_s`` the run starts anyway, with a warning."""
    if limit_s <= 0 or not written or served == written:
        return TableCheck(start=True)
    now_serving = f"it serves {served}" if served else "its /readyz did not say"
    if waited_s < limit_s:
        return TableCheck(
            start=False,
            note=f"waiting for the gateway to serve routing table {written} ({now_serving})",
        )
    return TableCheck(
        start=True,
        note=(
            f"the gateway did not serve routing table {written} within {limit_s:g} s "
            f"({now_serving}); the gate run starts anyway and may measure the old routing"
        ),
        warning=True,
    )
