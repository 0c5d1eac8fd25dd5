"""Metadata filters become Milvus expressions that values cannot break out of."""

from __future__ import annotations

import pytest

from llmops_gateway.clients.vectorstore import build_filter_expr
from llmops_gateway.domain.errors import InvalidRequestError


def test_should_and_equalities_on_metadata_and_the_document_column() -> None:
    expr = build_filter_expr({"team": "ops", "document": "a.md", "year": 2026})

    assert expr == 'document == "a.md" and metadata["team"] == "ops" and metadata["year"] == 2026'


def test_should_escape_quotes_in_values() -> None:
    expr = build_filter_expr({"team": 'x" or id != "'})

    assert expr == 'metadata["team"] == "x\\" or id != \\""'


@pytest.mark.parametrize("where", [{"bad key": 1}, {'a"]': 1}, {"k": [1, 2]}, {"k": None}])
def test_should_refuse_keys_that_are_not_names_and_non_scalar_values(
    where: dict[str, object],
) -> None:
    with pytest.raises(InvalidRequestError):
        build_filter_expr(where)


def test_should_not_filter_without_conditions() -> None:
    assert build_filter_expr(None) == build_filter_expr({}) == ""


def test_should_refuse_a_lone_surrogate_that_milvus_cannot_parse() -> None:
    # Found by the schemathesis run: a JSON body may carry "\udb72"; Milvus answered an
    # expression error, which the gateway turned into a 500.
    with pytest.raises(InvalidRequestError, match="lone UTF-16 surrogate"):
        build_filter_expr({"document": "a\udb72.md"})


def test_should_send_text_as_itself_with_only_the_escapes_milvus_knows() -> None:
    # Milvus has no \u escape: "é" as \u00e9 (JSON's way) broke every filter on a non-ASCII
    # document name (found by the schemathesis run; checked against Milvus Lite).
    expr = build_filter_expr({"document": 'é "日本"\n\t\\\x01.md'})

    assert expr == 'document == "é \\"日本\\"\\n\\t\\\\\x01.md"'
