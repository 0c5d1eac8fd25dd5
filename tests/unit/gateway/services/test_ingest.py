"""Document text from an ingest request: bad base64 is the client's mistake (400), never a
crash."""

from __future__ import annotations

import pytest

from llmops_gateway.domain.errors import InvalidRequestError
from llmops_gateway.domain.schemas import IngestDocument
from llmops_gateway.services.ingest import document_text


@pytest.mark.parametrize("content", ["not base64!", "é", "QUJD\udb72"])
def test_should_refuse_content_that_is_not_base64_with_a_readable_error(content: str) -> None:
    # "é" raised ValueError out of base64 (found by the schemathesis run): a 500.
    document = IngestDocument(name="a.txt", content_base64=content, media_type="text/plain")

    with pytest.raises(InvalidRequestError, match=r"a\.txt: content_base64 is not valid base64"):
        document_text(document)


def test_should_decode_plain_text_sent_as_base64() -> None:
    document = IngestDocument(name="a.txt", content_base64="QUJD", media_type="text/plain")

    assert document_text(document) == "ABC"
