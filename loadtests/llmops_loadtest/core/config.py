"""What the runner hands to the Locust process: one JSON file named by ``--llmops-config``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from llmops_loadtest.core.profile import Profile


class Target(BaseModel):
    """One system under test; ``label`` tags its records (``target``, ``baseline`` ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(pattern=r"^[a-z0-9_-]+$")
    url: str
    model: str


class RunConfig(BaseModel):
    """The Locust side's only input. Targets are interleaved request by request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: Profile
    targets: tuple[Target, ...] = Field(min_length=1)
    records_dir: Path
    meta_path: Path
    prompt_lines: tuple[str, ...] = ()

    def write(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=2), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> RunConfig:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))
