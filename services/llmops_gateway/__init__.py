"""llmops gateway: an OpenAI-compatible RAG gateway in front of vLLM.

Layers (arrows point down, an import-linter contract holds them): ``app`` (factory,
lifespan, the only reader of ``settings``) -> ``routers`` (one per resource: parse, render)
-> ``services`` (decide, return `domain.results`) -> ``clients`` (upstream HTTP, Milvus,
files, metrics, tracing) -> ``domain`` (pure: routing math, chunking, prompts, limits,
guardrails, SSE). ``domain`` imports no web framework, HTTP client or vector-store library.
"""

__all__: list[str] = []
