"""A load profile: what traffic to send, how much, and which windows the verdict ignores.

Profile file (YAML)::

    name: vllm-smoke
    api: completions          # completions | chat | rag_query | ingest
    model: null               # null: the first model the target lists at /v1/models
    prompts: {kind: fixed, input_tokens: 32, output_tokens: 8}
    load: {shape: fixed_concurrency, users: 2, duration_s: 20}
    warmup_s: 2               # left out of the verdict (caches, JIT, connection set-up)
    cooldown_s: 1             # left out too: users stopping skew the last seconds
    seed: 7
    extra_body: {ignore_eos: true}   # merged into every request (vLLM: exact output lengths)

For ``api: rag_query`` the model is the gateway's RAG alias; ``api: ingest`` sends no model
and needs ``extra_body: {collection: NAME}``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from llmops_loadtest.core.prompts import FixedPrompts, PromptSpec
from llmops_loadtest.core.schedule import LoadShape, Stage, total_duration_s

Api = Literal["completions", "chat", "rag_query", "ingest"]


class Paths(BaseModel):
    """Endpoint paths on the target; the defaults are OpenAI's and the llmops gateway's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    completions: str = "/v1/completions"
    chat: str = "/v1/chat/completions"
    models: str = "/v1/models"
    rag_query: str = "/v1/rag/query"
    ingest: str = "/v1/ingest"


class Profile(BaseModel):
    """See the module docstring for the file format."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    api: Api = "completions"
    model: str | None = None
    stream: bool = True
    prompts: PromptSpec = FixedPrompts(input_tokens=32, output_tokens=16)
    prompt_pool: int = Field(default=256, ge=1, description="Distinct prompts generated.")
    load: LoadShape
    warmup_s: float = Field(default=0.0, ge=0)
    cooldown_s: float = Field(default=0.0, ge=0)
    seed: int = 0
    request_timeout_s: float = Field(default=60.0, gt=0)
    extra_body: dict[str, Any] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    paths: Paths = Paths()

    @model_validator(mode="after")
    def _ingest_names_a_collection(self) -> Profile:
        if self.api == "ingest" and not self.extra_body.get("collection"):
            raise ValueError("api 'ingest' needs extra_body.collection (where documents go)")
        return self

    @model_validator(mode="after")
    def _windows_leave_a_measurement(self) -> Profile:
        duration = total_duration_s(self.stages())
        if self.warmup_s + self.cooldown_s >= duration:
            raise ValueError(
                f"warmup_s + cooldown_s ({self.warmup_s + self.cooldown_s:g}) must be shorter "
                f"than the load ({duration:g} s)"
            )
        return self

    def stages(self) -> list[Stage]:
        return self.load.stages()

    @property
    def duration_s(self) -> float:
        return total_duration_s(self.stages())

    @property
    def is_sweep(self) -> bool:
        return self.load.shape == "goodput_sweep"
