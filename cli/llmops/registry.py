"""What `llmops model` says to and reads from the MLflow model registry (pure: no HTTP).

A version is registered with what serving needs, as tags the operator reads when a
ModelDeployment names it (`spec.model.mlflow`): ``llmops.model.uri`` (where the weights are),
``llmops.engine.*`` (engine settings that fill the spec's defaults) and, for people and
release records, ``llmops.model.digest``, ``llmops.serving.*`` (tokenizer, context length,
hardware) and ``llmops.prompt.<template>`` (prompt-template versions). When a rollout of a
version succeeds the operator records ``llmops.release.*`` tags on it, when one is rolled back
``llmops.rollback.*`` (`history` reads both).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from llmops_contracts.errors import LlmopsError
from llmops_operator.core.registry.resolution import (
    DIGEST_TAG,
    ENGINE_TAG_PREFIX,
    LOADABLE_SCHEMES,
    PROMPT_TAG_PREFIX,
    RELEASE_TAG_PREFIX,
    ROLLBACK_TAG_PREFIX,
    URI_TAG,
)

SERVING_TAG_PREFIX = "llmops.serving."
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_REF = re.compile(rf"^(?:models:/)?(?P<name>{_NAME})(?:@(?P<alias>{_NAME})|/(?P<version>\d+))$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class VersionRef:
    """``NAME@ALIAS`` or ``NAME/VERSION`` (``models:/`` in front is accepted)."""

    name: str
    alias: str = ""
    version: str = ""

    def __str__(self) -> str:
        return f"{self.name}@{self.alias}" if self.alias else f"{self.name}/{self.version}"


def parse_ref(text: str) -> VersionRef:
    match = _REF.match(text.strip())
    if match is None:
        raise LlmopsError(
            "llmops model",
            f"{text!r} names no model version",
            "write NAME@ALIAS (e.g. gemma@production) or NAME/VERSION (e.g. gemma/3)",
        )
    return VersionRef(match["name"], match["alias"] or "", match["version"] or "")


@dataclass(frozen=True)
class ServingNeeds:
    """What a registered version says about serving it."""

    source: str
    digest: str = ""
    engine_args: Sequence[str] = ()
    context_length: int | None = None
    tokenizer: str = ""
    gpus: int | None = None
    gpu_memory_gib: int | None = None
    prompt_templates: Mapping[str, str] | None = None


def parse_prompt_templates(pairs: Sequence[str]) -> dict[str, str]:
    """``NAME=VERSION`` pairs."""
    found: dict[str, str] = {}
    for pair in pairs:
        name, sep, version = pair.partition("=")
        if not sep or not re.fullmatch(_NAME, name) or not version.strip():
            raise LlmopsError(
                "llmops model register",
                f"--prompt-template {pair!r} is not NAME=VERSION",
                "e.g. --prompt-template rag-answer=3",
            )
        found[name] = version.strip()
    return found


def build_version_tags(needs: ServingNeeds) -> dict[str, str]:
    """The tags of a new version; raises `LlmopsError` naming a value the engine cannot use."""
    if not needs.source.startswith(LOADABLE_SCHEMES) or needs.source.endswith("://"):
        raise LlmopsError(
            "llmops model register",
            f"--source {needs.source!r} is not a location the engine loads",
            f"use one of {', '.join(s + '...' for s in LOADABLE_SCHEMES)}",
        )
    if needs.digest and not _DIGEST.match(needs.digest):
        raise LlmopsError(
            "llmops model register",
            f"--digest {needs.digest!r} is not sha256:<64 hex digits>",
            "e.g. sha256sum of the weights' manifest, written sha256:<hex>",
        )
    for value, flag in ((needs.context_length, "--context-length"), (needs.gpus, "--gpus"),
                        (needs.gpu_memory_gib, "--gpu-memory-gib")):  # fmt: skip
        if value is not None and value < (0 if flag == "--gpus" else 1):
            raise LlmopsError("llmops model register", f"{flag} {value} is out of range",
                              f"give {flag} a positive number")  # fmt: skip
    tags = {URI_TAG: needs.source}
    if needs.digest:
        tags[DIGEST_TAG] = needs.digest
    if needs.engine_args:
        tags[ENGINE_TAG_PREFIX + "extraArgs"] = shlex.join(needs.engine_args)
    if needs.context_length is not None:
        tags[ENGINE_TAG_PREFIX + "maxModelLen"] = str(needs.context_length)
        tags[SERVING_TAG_PREFIX + "contextLength"] = str(needs.context_length)
    if needs.tokenizer:
        tags[SERVING_TAG_PREFIX + "tokenizer"] = needs.tokenizer
    if needs.gpus is not None:
        tags[SERVING_TAG_PREFIX + "gpus"] = str(needs.gpus)
    if needs.gpu_memory_gib is not None:
        tags[SERVING_TAG_PREFIX + "gpuMemoryGiB"] = str(needs.gpu_memory_gib)
    for name, version in (needs.prompt_templates or {}).items():
        tags[PROMPT_TAG_PREFIX + name] = version
    return tags


@dataclass(frozen=True)
class Release:
    """One promotion (``alias`` set) or rollback (``reason`` set) the operator recorded
    against a version."""

    version: str
    at: str
    alias: str
    modeldeployment: str
    revision_hash: str
    analysis: str
    load_test: str
    report: str
    reason: str = ""

    @property
    def outcome(self) -> str:
        return "rolled back" if self.reason else f"released as {self.alias}"


def releases_of(versions: Sequence[Mapping[str, object]]) -> list[Release]:
    """The operator's records (promotions and rollbacks) among ``versions`` (MLflow's
    model-version objects), oldest first."""
    found = []
    for version in versions:
        tags = tags_of(version)
        for prefix in (RELEASE_TAG_PREFIX, ROLLBACK_TAG_PREFIX):
            record = {k.removeprefix(prefix): v for k, v in tags.items() if k.startswith(prefix)}
            if not record:
                continue
            found.append(
                Release(
                    version=str(version.get("version", "")),
                    at=record.get("at", ""),
                    alias=record.get("alias", ""),
                    modeldeployment=record.get("modeldeployment", ""),
                    revision_hash=record.get("revision_hash", ""),
                    analysis=record.get("analysis", ""),
                    load_test=record.get("loadtest.verdict", ""),
                    report=record.get("loadtest.report", ""),
                    reason=record.get("reason", "") if prefix == ROLLBACK_TAG_PREFIX else "",
                )
            )
    return sorted(found, key=lambda r: r.at)


def tags_of(version: Mapping[str, object]) -> dict[str, str]:
    raw = version.get("tags") or []
    if not isinstance(raw, list):
        return {}
    return {str(t["key"]): str(t["value"]) for t in raw if isinstance(t, dict)}
