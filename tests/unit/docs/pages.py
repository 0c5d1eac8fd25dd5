"""The hand-written pages of the docs site, and what they name: chart values, commands, fields.

Conventions the checks rely on (CONTRIBUTING's Docs section):

- an inline code span that starts with an umbrella key (``llm-inference.gpu.count``, optionally
  followed by ``: value`` or ``=value``) names a value of the llmops-stack chart;
- a code span, or a line of a shell block, that starts with ``llmops `` or ``kubectl llmops ``
  names a command;
- a code span that starts with ``spec.`` or ``status.`` names a ModelDeployment field;
- a ``yaml`` block whose first line starts with ``# llmops-stack values`` is a values file for
  the umbrella chart, and one with ``kind: ModelDeployment`` is a ModelDeployment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from llmops_infra.docs.markdown import _CODE_SPAN
from llmops_infra.settings import REPO_ROOT

DOCS = REPO_ROOT / "docs"
STACK_KEYS = ("llm-inference", "milvus", "rag-gateway", "llmops-operator", "observability", "tests")
VALUES_MARK = "# llmops-stack values"
_VALUE = re.compile(
    rf"^((?:{'|'.join(map(re.escape, STACK_KEYS))})(?:\.[A-Za-z0-9_-]+)+)(?:[:=].*)?$"
)
_FIELD = re.compile(r"^((?:spec|status)(?:\.[A-Za-z0-9]+(?:\[\])?)+)(?:[:=].*)?$")
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
PROGS = ("kubectl llmops", "llmops")


@dataclass(frozen=True)
class Mention:
    page: str
    text: str


def handwritten_pages(docs: Path = DOCS) -> dict[str, str]:
    """Every Markdown page under docs/, by its path there (the generated ones are not files)."""
    return {str(p.relative_to(docs)): p.read_text() for p in sorted(docs.rglob("*.md"))}


def _prose(text: str) -> str:
    """The page without its fenced blocks (their contents are checked on their own)."""
    return _FENCE.sub("", text)


def code_spans(pages: dict[str, str]) -> Iterator[Mention]:
    for page, text in pages.items():
        for match in _CODE_SPAN.finditer(_prose(text)):
            yield Mention(page, " ".join(match.group(2).split()))


def fences(pages: dict[str, str], language: str) -> Iterator[Mention]:
    for page, text in pages.items():
        for match in _FENCE.finditer(text):
            if match.group(1) == language:
                yield Mention(page, match.group(2))


def value_paths(pages: dict[str, str]) -> Iterator[Mention]:
    for mention in code_spans(pages):
        match = _VALUE.match(mention.text)
        if match:
            yield Mention(mention.page, match.group(1))


def field_paths(pages: dict[str, str]) -> Iterator[Mention]:
    for mention in code_spans(pages):
        match = _FIELD.match(mention.text)
        if match:
            yield Mention(mention.page, match.group(1))


def command_lines(pages: dict[str, str]) -> Iterator[Mention]:
    """Code spans and shell lines that invoke a command of ours."""
    candidates = list(code_spans(pages))
    for block in [*fences(pages, "bash"), *fences(pages, "text")]:
        candidates += [Mention(block.page, line.strip()) for line in block.text.splitlines()]
    for mention in candidates:
        if any(mention.text.startswith(f"{prog} ") for prog in PROGS):
            yield mention


def values_examples(pages: dict[str, str]) -> Iterator[tuple[Mention, dict[str, Any]]]:
    for block in fences(pages, "yaml"):
        if block.text.startswith(VALUES_MARK):
            yield block, yaml.safe_load(block.text)


def modeldeployment_examples(pages: dict[str, str]) -> Iterator[tuple[Mention, dict[str, Any]]]:
    for block in fences(pages, "yaml"):
        doc = yaml.safe_load(block.text)
        if isinstance(doc, dict) and doc.get("kind") == "ModelDeployment":
            yield block, doc


def leaf_paths(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from leaf_paths(value, f"{path}.")
        else:
            yield path
