"""llmops gateway: an OpenAI-compatible RAG gateway in front of vLLM.

Layers (arrows point down): ``app`` (factory, lifespan) -> ``routers`` (one per resource)
-> ``services`` (proxy, rag, ingest, governance) -> ``clients`` (upstream HTTP, Milvus) and
``domain`` (pure: routing math, chunking, prompts, limits, guardrails, SSE). ``domain``
imports no web framework, HTTP client or vector-store library.
"""

__all__: list[str] = []
