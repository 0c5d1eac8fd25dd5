"""The learned injection detector's I/O: the head file shipped in the package, and the
embedder (an OpenAI-compatible ``/embeddings`` endpoint, vLLM's pooling runner) that turns
sentences into the vectors the head scores."""

from __future__ import annotations

import json
import time
from importlib import resources
from pathlib import Path

import httpx

from llmops_gateway.domain.injection_head import LinearHead, parse_head, split_sentences

DATA = resources.files("llmops_gateway") / "data"
HEAD_FILE = "injection_head.json"


def load_head(path: Path | None = None) -> LinearHead:
    """The head at ``path``, or the one shipped in the package."""
    raw = path.read_text() if path is not None else (DATA / HEAD_FILE).read_text()
    return parse_head(json.loads(raw))


def read_probes_text(name: str) -> list[str]:
    """A probe set shipped in the package (``injection_train.jsonl`` or
    ``injection_heldout.jsonl``), as lines."""
    return (DATA / name).read_text().splitlines()


class InjectionDetector:
    """Scores texts with the head over embeddings of their sentences."""

    def __init__(self, head: LinearHead, embed_url: str, client: httpx.AsyncClient) -> None:
        self.head = head
        self._url = embed_url.rstrip("/") + "/embeddings"
        self._client = client
        self.last_seconds = 0.0  # wall time of the last `score`, for latency measurements

    async def embed(self, texts: list[str]) -> list[list[float]]:
        response = await self._client.post(
            self._url, json={"model": self.head.embed_model, "input": texts}
        )
        response.raise_for_status()
        data = sorted(response.json()["data"], key=lambda item: item["index"])
        return [list(map(float, item["embedding"])) for item in data]

    async def score(self, text: str) -> float:
        """The highest sentence probability of ``text`` (0 for a text without sentences)."""
        started = time.perf_counter()
        sentences = split_sentences(text)
        vectors = await self.embed(sentences) if sentences else []
        self.last_seconds = time.perf_counter() - started
        return max((self.head.probability(v) for v in vectors), default=0.0)

    async def flags(self, text: str) -> bool:
        return await self.score(text) >= self.head.threshold
