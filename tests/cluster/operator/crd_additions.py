"""The ModelDeployment CRD the operator needs: the chart's CRD plus the fields listed here.

These additions are the operator's request to the chart (charts/llmops-operator/crds); the
cluster tests install the chart CRD merged with them, so that once the chart carries them
this merge changes nothing. Each addition says which part of the operator needs it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

CHART_CRD = (
    Path(__file__).parents[3] / "charts/llmops-operator/crds/modeldeployments.llmops.dev.yaml"
)
DURATION = {"type": "string", "pattern": "^[0-9]+(s|m|h)$"}
TIME = {"type": "string", "format": "date-time"}
LOAD_TEST = {
    "type": "object",
    "required": ["users", "duration"],
    "properties": {
        "users": {"type": "integer", "minimum": 1},
        "spawnRate": {"type": "number", "minimum": 0.1},
        "duration": DURATION,
        "profile": {"type": "string", "enum": ["chat", "rag", "long-context"], "default": "chat"},
    },
}

SPEC_ADDITIONS: dict[str, Any] = {
    # spec.paused: `kubectl llmops pause/resume` and plain `kubectl patch` (Argo habit).
    "paused": {"type": "boolean", "default": False},
    # Seconds after the model-load budget a new revision may take to become Ready.
    "progressDeadlineSeconds": {"type": "integer", "minimum": 1, "default": 600},
}
ENGINE_ADDITIONS: dict[str, Any] = {
    # The model-load budget the progress deadline adds (chart: probes.startupBudgetSeconds).
    "loadBudgetSeconds": {"type": "integer", "minimum": 0, "default": 1800},
}
ROUTE_ADDITIONS: dict[str, Any] = {
    # Traffic router: the gateway routing table (default), an HTTPRoute, or KServe.
    "router": {"type": "string", "enum": ["gateway", "httpRoute", "kserve"], "default": "gateway"},
    "alias": {
        "type": "string",
        "minLength": 1,
        "description": "Gateway alias; default model.name.",
    },
    "inferenceService": {"type": "string", "minLength": 1},
    "chat": {"type": "string", "enum": ["native", "completion"], "default": "native"},
    "rag": {
        "type": "object",
        "required": ["collection", "embedder"],
        "properties": {
            "collection": {"type": "string", "minLength": 1},
            "topK": {"type": "integer", "minimum": 1, "maximum": 50},
            "template": {"type": "string"},
            "embedder": {"type": "string", "minLength": 1},
            "minScore": {"type": "number"},
        },
    },
}
ANALYSIS_ADDITIONS: dict[str, Any] = {
    "inconclusiveLimit": {"type": "integer", "minimum": 0, "default": 0},
    "window": {**DURATION, "default": "5m"},
    "metrics": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["name", "query"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "query": {"type": "string", "minLength": 1},
                "max": {"type": "number"},
                "min": {"type": "number"},
            },
        },
    },
}
CANARY_ADDITIONS: dict[str, Any] = {
    "maxSurge": {"type": "integer", "minimum": 1, "default": 1},
    "warmupSeconds": {"type": "integer", "minimum": 0, "default": 0},
    "scaleDownDelaySeconds": {"type": "integer", "minimum": 0, "default": 30},
}
BLUE_GREEN_ADDITIONS: dict[str, Any] = {
    "autoPromotionSeconds": {"type": "integer", "minimum": 0, "default": 0},
    "prePromotionLoadTest": LOAD_TEST,
    "warmupSeconds": {"type": "integer", "minimum": 0, "default": 0},
}
STATUS_ADDITIONS: dict[str, Any] = {
    "stableHash": {"type": "string"},
    "canaryHash": {"type": "string"},
    "rolloutStartedAt": TIME,
    "canaryCreatedAt": TIME,
    "canaryReadyAt": TIME,
    "scaleDownHash": {"type": "string"},
    "scaleDownAt": TIME,
    "lastCommand": {"type": "string"},
    "loadTest": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "step": {"type": "integer"},
            "startedAt": TIME,
            "verdict": {"type": "string", "enum": ["Running", "Passed", "Failed"]},
            "reportUrl": {"type": "string"},
            "message": {"type": "string"},
        },
    },
    "history": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "revision": {"type": "string"},
                "hash": {"type": "string"},
                "result": {"type": "string"},
                "at": TIME,
                "message": {"type": "string"},
                "template": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        },
    },
}
ANALYSIS_RUN_ADDITIONS: dict[str, Any] = {
    "result": {"type": "string", "enum": ["Successful", "Failed", "Inconclusive"]},
    "message": {"type": "string"},
}


def merged_crd() -> dict[str, Any]:
    """The chart's CRD with the additions above (no-op for fields it already has)."""
    crd = copy.deepcopy(yaml.safe_load(CHART_CRD.read_text()))
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    spec = schema["spec"]["properties"]
    _add(spec, SPEC_ADDITIONS)
    _add(spec["engine"]["properties"], ENGINE_ADDITIONS)
    spec["route"].pop("required", None)  # httpRoute only when route.router is httpRoute
    _add(spec["route"]["properties"], ROUTE_ADDITIONS)
    strategy = spec["strategy"]["properties"]
    _add(strategy["canary"]["properties"], CANARY_ADDITIONS)
    _add(strategy["blueGreen"]["properties"], BLUE_GREEN_ADDITIONS)
    _add(
        strategy["canary"]["properties"]["steps"]["items"]["properties"]["analysis"]["properties"],
        ANALYSIS_ADDITIONS,
    )
    _add(
        strategy["blueGreen"]["properties"]["prePromotionAnalysis"]["properties"],
        ANALYSIS_ADDITIONS,
    )
    _add(schema["status"]["properties"], STATUS_ADDITIONS)
    _add(
        schema["status"]["properties"]["analysisRuns"]["items"]["properties"],
        ANALYSIS_RUN_ADDITIONS,
    )
    return crd


def _add(properties: dict[str, Any], additions: dict[str, Any]) -> None:
    for key, value in additions.items():
        properties.setdefault(key, copy.deepcopy(value))
