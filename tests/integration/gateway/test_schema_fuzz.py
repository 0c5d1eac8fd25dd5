"""Schemathesis over the gateway's own OpenAPI schema, in-process against the ASGI app (with
its lifespan: real routing table, Milvus Lite, a real *test* upstream process behind it).

Every operation gets schema-valid (positive) and schema-violating (negative) cases; bodies
that name a model are pointed at a served alias most of the time, so cases reach the
services and the upstream instead of stopping at 404. Held: no response is a server error,
no case raises out of the app, and every 4xx is in OpenAI's error shape. Each finding is
collected (not only the first) and the counts are printed for the report.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from llmops_gateway.app import create_app
from llmops_gateway.settings import GatewaySettings
from tests.integration.gateway.procs import backend, upstream, write_table

EXAMPLES_PER_OPERATION = 250  # per generation mode: about 3,800 cases, about a minute
ALIASES = ("chat", "emb", None)  # None: keep what schemathesis generated


@dataclass
class Tally:
    cases: int = 0
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    findings: list[str] = field(default_factory=list)


def is_openai_error(body: Any) -> bool:
    error = body.get("error") if isinstance(body, dict) else None
    return (
        isinstance(error, dict)
        and isinstance(error.get("message"), str)
        and bool(error["message"])
        and isinstance(error.get("type"), str)
        and "code" in error
    )


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("schema-fuzz")
    with upstream(tmp, "up") as up:
        table = write_table(
            tmp / "routing.json",
            {
                "chat": {"backends": [backend("up", up.url)]},
                "emb": {"kind": "embeddings", "backends": [backend("emb", up.url)]},
            },
        )
        app = create_app(
            GatewaySettings(
                routing_table=table,
                milvus_uri=str(tmp / "rag.db"),
                default_embedder="emb",
                feedback_file=tmp / "feedback.jsonl",
            )
        )
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
        schemathesis.python.asgi.shutdown_lifespans()


def steer(case: Any, alias: str | None) -> None:
    """Point a generated case at a served alias, so it gets past the 404."""
    if alias is None:
        return
    if isinstance(case.body, dict):
        if "model" in case.body:
            case.body["model"] = alias
        if "embedder" in case.body:
            case.body["embedder"] = "emb"
    if case.path_parameters:
        case.path_parameters = dict.fromkeys(case.path_parameters, alias)


def fuzz_operation(operation: Any, mode: schemathesis.GenerationMode, tally: Tally) -> None:
    @given(case=operation.as_strategy(generation_mode=mode), alias=st.sampled_from(ALIASES))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        # the same cases on every run, so a red run is reproducible (5 random runs, 19,500
        # cases, found 0 server errors after the fixes); explore with derandomize=False
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any, alias: str | None) -> None:
        steer(case, alias)
        tally.cases += 1
        sent = json.dumps(case.body, default=repr)[:300]
        where = f"{case.method} {case.formatted_path} body={sent}"
        try:
            response = case.call()
        except Exception as err:  # an exception out of the app is a 500 in production
            tally.findings.append(f"{where}: raised {type(err).__name__}: {err}"[:600])
            return
        tally.statuses[response.status_code] += 1
        if response.status_code >= 500:
            tally.findings.append(f"{where}: {response.status_code} {response.text[:300]}")
        elif response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            if not is_openai_error(body):
                tally.findings.append(f"{where}: {response.status_code} not in OpenAI's shape")

    try:
        run()
    except Unsatisfiable:
        # Only operations without any input (GET /healthz, /v1/models ...) have no negative
        # case; any other operation must produce some.
        assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
        assert operation.method.upper() == "GET", operation.label


def test_should_answer_every_generated_request_without_a_server_error(schema: Any) -> None:
    tally = Tally()
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)
        for mode in schemathesis.GenerationMode:
            fuzz_operation(operation, mode, tally)
    print(f"schemathesis: {tally.cases} cases over {len(labels)} operations, {tally.statuses}")  # noqa: T201

    assert "POST /v1/chat/completions" in labels and "POST /v1/ingest" in labels
    assert tally.cases >= 3500
    # Reached the services, not only validation: some answers succeeded.
    assert tally.statuses[200] >= 500
    assert tally.findings == [], "\n".join(tally.findings[:20])
