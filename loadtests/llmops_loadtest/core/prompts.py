"""Prompt sets with controlled input and output lengths, deterministic for a given seed.

Synthetic prompts are built from common English words that most tokenizers encode as one
token each, so ``input_tokens`` is close to (not exactly) what the server counts; the
report always uses the server's own ``usage`` counts when it sends them.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

_VOCABULARY = (
    "the cluster runs a model on every node and the gateway sends each request to the "
    "service that answers with text about system time data user team work day year people "
    "way thing world life hand part place case week company number group problem fact"
)
_WORDS = tuple(_VOCABULARY.split())


@dataclass(frozen=True, slots=True)
class Prompt:
    """One request's text and the number of output tokens to ask for."""

    text: str
    max_tokens: int


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LengthDistribution(_Spec):
    """Token lengths drawn from ``dist``, clipped to ``[min, max]``."""

    dist: Literal["uniform", "normal", "lognormal"] = "normal"
    mean: float = Field(gt=0)
    stddev: float = Field(default=0.0, ge=0)
    min: int = Field(default=1, ge=1)
    max: int = Field(default=4096, ge=1)

    def draw(self, rng: random.Random) -> int:
        if self.dist == "uniform":
            value = rng.uniform(self.mean - self.stddev, self.mean + self.stddev)
        elif self.dist == "normal":
            value = rng.gauss(self.mean, self.stddev)
        else:
            # lognormal with the asked mean and stddev of the lengths themselves
            variance = self.stddev**2
            sigma2 = math.log(1 + variance / self.mean**2)
            value = rng.lognormvariate(math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2))
        return int(min(max(round(value), self.min), self.max))


class FixedPrompts(_Spec):
    kind: Literal["fixed"] = "fixed"
    input_tokens: int = Field(ge=1)
    output_tokens: int = Field(ge=1)


class DistributionPrompts(_Spec):
    kind: Literal["distribution"] = "distribution"
    input: LengthDistribution
    output: LengthDistribution


class FilePrompts(_Spec):
    """Real prompts, one per line (``.txt``) or ``{"prompt": ..., "max_tokens": ...}`` lines.

    ``path`` is relative to the profile file.
    """

    kind: Literal["file"] = "file"
    path: Path
    output_tokens: int = Field(default=64, ge=1)


PromptSpec = Annotated[
    FixedPrompts | DistributionPrompts | FilePrompts, Field(discriminator="kind")
]


def synthetic_text(tokens: int, rng: random.Random) -> str:
    """About ``tokens`` tokens of plain words, in a deterministic order for ``rng``."""
    return " ".join(rng.choice(_WORDS) for _ in range(tokens))


def build_prompts(
    spec: PromptSpec, seed: int, count: int, file_lines: list[str] | None = None
) -> list[Prompt]:
    """``count`` prompts for ``spec``; the same seed always gives the same list.

    ``file_lines`` carries the file's lines for `FilePrompts` (the caller reads the file, so
    this stays pure); each line is plain text or a JSON object with ``prompt``/``max_tokens``.
    """
    rng = random.Random(seed)  # noqa: S311 -- reproducible traffic, not secrets
    if isinstance(spec, FixedPrompts):
        return [
            Prompt(synthetic_text(spec.input_tokens, rng), spec.output_tokens) for _ in range(count)
        ]
    if isinstance(spec, DistributionPrompts):
        prompts = []
        for _ in range(count):
            input_tokens = spec.input.draw(rng)
            prompts.append(Prompt(synthetic_text(input_tokens, rng), spec.output.draw(rng)))
        return prompts
    lines = [line for line in (file_lines or []) if line.strip()]
    if not lines:
        raise ValueError(f"prompt file {spec.path} holds no prompt")
    parsed = [_parse_line(line, spec.output_tokens) for line in lines]
    rng.shuffle(parsed)
    return [parsed[i % len(parsed)] for i in range(count)]


def _parse_line(line: str, default_max_tokens: int) -> Prompt:
    stripped = line.strip()
    if stripped.startswith("{"):
        data = json.loads(stripped)
        return Prompt(str(data["prompt"]), int(data.get("max_tokens", default_max_tokens)))
    return Prompt(stripped, default_max_tokens)
