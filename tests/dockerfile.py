"""Read the Dockerfile, .dockerignore and hashed lock files as plain data (no Docker needed).

Used by ``tests/unit/infra/images/test_dockerfile.py`` (checks the Dockerfile against the
charts and locks) and ``test_spec.py`` beside it (the repository's root).
The parser covers what our Dockerfile uses: global ``ARG`` defaults in ``FROM``, line
continuations, comment lines, ``FROM image AS name``; it is not a general BuildKit parser.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: RUN, COPY, ...
    args: str


@dataclass
class Stage:
    name: str
    base: str  # an image reference, or the name of an earlier stage
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


@dataclass(frozen=True)
class Dockerfile:
    stages: dict[str, Stage]  # in build order

    def chain(self, target: str) -> list[Stage]:
        """The stages ``target`` is built on, from the first ``FROM <image>`` to itself."""
        chain = [self.stages[target]]
        while chain[0].base in self.stages:
            chain.insert(0, self.stages[chain[0].base])
        return chain

    def last(self, target: str, keyword: str) -> Instruction | None:
        """The instruction that wins in the image ``target`` (USER, CMD, ENTRYPOINT...)."""
        found = [i for stage in self.chain(target) for i in stage.all(keyword)]
        return found[-1] if found else None

    def env(self, target: str) -> dict[str, str]:
        """``ENV`` of the image ``target`` (later stages override; ``$VAR`` left as written)."""
        env: dict[str, str] = {}
        for stage in self.chain(target):
            for instruction in stage.all("ENV"):
                for word in shlex.split(instruction.args):
                    key, _, value = word.partition("=")
                    env[key] = value
        return env

    def exposed(self, target: str) -> set[int]:
        return {
            int(port.split("/")[0])
            for stage in self.chain(target)
            for instruction in stage.all("EXPOSE")
            for port in instruction.args.split()
        }


def logical_lines(text: str) -> list[str]:
    """Instructions one per line: continuations joined, comment and blank lines dropped."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):  # Docker drops these inside continuations too
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        lines.append(pending + line)
        pending = ""
    if pending:
        lines.append(pending.rstrip())
    return lines


def parse_dockerfile(text: str) -> Dockerfile:
    global_args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in logical_lines(text):
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "ARG" and current is None:
            name, _, default = args.partition("=")
            global_args[name] = default
        elif keyword == "FROM":
            words = args.split()
            image = re.sub(
                r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), words[0]
            )
            is_named = len(words) == 3 and words[1].upper() == "AS"
            name = words[2].lower() if is_named else f"stage-{len(stages)}"
            current = stages[name] = Stage(name, image)
        elif current is not None:
            current.instructions.append(Instruction(keyword, args))
        else:
            raise ValueError(f"{keyword} before the first FROM")
    return Dockerfile(stages)


def load_dockerfile() -> Dockerfile:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def exec_form(instruction: Instruction) -> list[str]:
    """The argv of an exec-form CMD/ENTRYPOINT; a shell-form one is refused."""
    argv = json.loads(instruction.args)
    assert isinstance(argv, list), f"{instruction.keyword} {instruction.args} is not exec form"
    return [str(word) for word in argv]


@dataclass(frozen=True)
class Copy:
    sources: tuple[str, ...]
    dest: str
    from_stage: str | None


def copies(stage: Stage) -> list[Copy]:
    found = []
    for instruction in stage.all("COPY"):
        words = shlex.split(instruction.args)
        flags = [w for w in words if w.startswith("--")]
        paths = [w for w in words if not w.startswith("--")]
        from_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
        found.append(Copy(tuple(paths[:-1]), paths[-1], from_stage))
    return found


# -- .dockerignore ---------------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[" and "]" in pattern[i:]:
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def ignore_rules(text: str) -> list[tuple[re.Pattern[str], bool]]:
    """(pattern, is_exception) per line, in order; the last matching rule wins, as in Docker."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        rules.append((_pattern_regex(line.lstrip("!").strip("/")), exception))
    return rules


def is_ignored(relative: str, rules: list[tuple[re.Pattern[str], bool]]) -> bool:
    """Whether the build context leaves ``relative`` out (an ignored folder hides its files)."""
    parts = relative.strip("/").split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for regex, exception in rules:
        if any(regex.match(candidate) for candidate in candidates):
            ignored = not exception
    return ignored


# -- hashed lock files (uv pip compile --generate-hashes) ------------------------------------


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    hashes: tuple[str, ...]
    via: tuple[str, ...]


_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def parse_lock(text: str) -> tuple[dict[str, Pin], list[str]]:
    """Pins by normalized name, and every requirement line that is not ``name==version``."""
    entries: list[list[str]] = []
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            entries.append([line])
        elif entries and line.strip():
            entries[-1].append(line.strip())
    pins: dict[str, Pin] = {}
    unpinned: list[str] = []
    for head, *rest in entries:
        match = _PIN.match(head)
        if match is None:
            unpinned.append(head)
            continue
        name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
        hashes = tuple(
            word.removeprefix("--hash=")
            for line in [head, *rest]
            for word in line.split()
            if word.startswith("--hash=")
        )
        comments = [line.lstrip("#").strip() for line in rest if line.startswith("#")]
        via = tuple(re.sub(r"^via\b\s*", "", c) for c in comments if c and c != "via")
        pins[name] = Pin(name, match.group(2), hashes, via)
    return pins, unpinned
