"""Reading profile and gate files: every mistake becomes one `LoadtestError` line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from llmops_loadtest.core.gate import Gate
from llmops_loadtest.core.profile import Profile
from llmops_loadtest.core.prompts import FilePrompts
from llmops_loadtest.core.rag_eval import dataset_sha256
from llmops_loadtest.errors import LoadtestError

M = TypeVar("M", bound=BaseModel)


def _read_yaml(path: Path, what: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise LoadtestError(f"{what} {path}", f"cannot read: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise LoadtestError(f"{what} {path}", f"not valid YAML: {err}".replace("\n", " ")) from None


def _one_line(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _validate(model: type[M], data: Any, path: Path, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise LoadtestError(f"{what} {path}", _one_line(err)) from None


def load_profile(path: Path) -> tuple[Profile, list[str]]:
    """The profile and, for a file prompt set, its lines (path relative to the profile)."""
    profile = _validate(Profile, _read_yaml(path, "profile"), path, "profile")
    lines: list[str] = []
    if isinstance(profile.prompts, FilePrompts):
        prompt_path = profile.prompts.path
        if not prompt_path.is_absolute():
            prompt_path = path.parent / prompt_path
        try:
            lines = prompt_path.read_text(encoding="utf-8").splitlines()
        except OSError as err:
            raise LoadtestError(
                f"profile {path}", f"prompt file {prompt_path}: {err.strerror}"
            ) from None
        if not any(line.strip() for line in lines):
            raise LoadtestError(f"profile {path}", f"prompt file {prompt_path} holds no prompt")
    return profile, lines


def load_yaml_model(path: Path, model: type[M], what: str, fix: str) -> tuple[M, str]:
    """A YAML file read as ``model`` and the SHA-256 of its bytes (what a release manifest
    pins); a mistake is one `LoadtestError` naming ``what`` and ``fix``. An empty file is an
    empty mapping."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise LoadtestError(f"{what} {path}", f"cannot be read ({err.strerror})", fix) from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        problem = f"is not valid YAML: {err}".replace("\n", " ")
        raise LoadtestError(f"{what} {path}", problem, fix) from None
    try:
        return model.model_validate({} if data is None else data), dataset_sha256(raw)
    except ValidationError as err:
        raise LoadtestError(f"{what} {path}", f"is not a {what}: {_one_line(err)}", fix) from None


def load_gate(path: Path) -> Gate:
    return _validate(Gate, _read_yaml(path, "gate"), path, "gate")
