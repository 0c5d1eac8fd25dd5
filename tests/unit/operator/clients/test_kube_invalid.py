"""A 422 from the API server becomes one readable line naming the fields it refused."""

from __future__ import annotations

import json

from kubernetes.client.exceptions import ApiException

from llmops_operator.clients.kube import describe_invalid


def test_should_name_each_field_the_api_server_refused() -> None:
    err = ApiException(status=422, reason="Unprocessable Entity")
    err.body = json.dumps({"details": {"causes": [
        {"field": "metadata.labels", "message": "Invalid value: \"\\u0013\""},
        {"field": "spec.template.spec.containers[0].envFrom[0].secretRef.name",
         "message": "a lowercase RFC 1123 subdomain must consist of ..."},
    ]}})  # fmt: skip

    line = describe_invalid("Deployment", "chat-1234", err)

    assert line.startswith("the API server refused Deployment chat-1234 built from this spec: ")
    assert "metadata.labels: Invalid value" in line
    assert "secretRef.name: a lowercase RFC 1123 subdomain" in line


def test_should_fall_back_to_the_reason_without_causes() -> None:
    err = ApiException(status=422, reason="Unprocessable Entity")
    err.body = "not json"

    assert describe_invalid("Service", "s", err).endswith(": Unprocessable Entity")
