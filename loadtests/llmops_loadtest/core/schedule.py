"""Load shapes as pure schedules: a list of stages the Locust shape follows tick by tick.

A stage is either closed-loop (``users`` each send the next request when the last one ends)
or open-loop at ``rate_rps`` (``users`` is then the concurrency cap; each user paces its own
share, constant or Poisson, so the sum is the asked rate while the target keeps up).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Arrival = Literal["closed", "constant", "poisson"]


@dataclass(frozen=True, slots=True)
class Stage:
    """``start_s``/``end_s`` are offsets from the run's start."""

    index: int
    start_s: float
    end_s: float
    users: int
    arrival: Arrival = "closed"
    rate_rps: float | None = None

    @property
    def label(self) -> str:
        if self.rate_rps is None:
            return f"{self.users} users"
        return f"{self.rate_rps:g} req/s ({self.arrival})"


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FixedConcurrency(_Shape):
    """``users`` in a closed loop for ``duration_s``."""

    shape: Literal["fixed_concurrency"] = "fixed_concurrency"
    users: int = Field(ge=1)
    duration_s: float = Field(gt=0)

    def stages(self) -> list[Stage]:
        return [Stage(0, 0.0, self.duration_s, self.users)]


class ConstantRate(_Shape):
    """Evenly spaced arrivals at ``rate_rps``, at most ``max_users`` in flight."""

    shape: Literal["constant_rate"] = "constant_rate"
    rate_rps: float = Field(gt=0)
    duration_s: float = Field(gt=0)
    max_users: int = Field(default=16, ge=1)

    def stages(self) -> list[Stage]:
        return [Stage(0, 0.0, self.duration_s, self.max_users, "constant", self.rate_rps)]


class PoissonRate(_Shape):
    """Poisson arrivals (exponential gaps) at mean ``rate_rps``: bursts like real users."""

    shape: Literal["poisson_rate"] = "poisson_rate"
    rate_rps: float = Field(gt=0)
    duration_s: float = Field(gt=0)
    max_users: int = Field(default=16, ge=1)

    def stages(self) -> list[Stage]:
        return [Stage(0, 0.0, self.duration_s, self.max_users, "poisson", self.rate_rps)]


class StepRamp(_Shape):
    """Closed-loop concurrency ``start_users``, then ``+step_users`` every ``step_s``."""

    shape: Literal["step_ramp"] = "step_ramp"
    start_users: int = Field(ge=1)
    step_users: int = Field(ge=1)
    steps: int = Field(ge=1)
    step_s: float = Field(gt=0)

    def stages(self) -> list[Stage]:
        return [
            Stage(i, i * self.step_s, (i + 1) * self.step_s, self.start_users + i * self.step_users)
            for i in range(self.steps)
        ]


class GoodputSweep(_Shape):
    """One stage per rate in ``rates_rps``; the report names the highest rate meeting the SLOs.

    The first ``settle_s`` of each stage is left out of that stage's verdict.
    """

    shape: Literal["goodput_sweep"] = "goodput_sweep"
    rates_rps: tuple[float, ...] = Field(min_length=1)
    step_s: float = Field(gt=0)
    settle_s: float = Field(default=0.0, ge=0)
    max_users: int = Field(default=16, ge=1)
    arrival: Literal["constant", "poisson"] = "poisson"

    def stages(self) -> list[Stage]:
        return [
            Stage(i, i * self.step_s, (i + 1) * self.step_s, self.max_users, self.arrival, rate)
            for i, rate in enumerate(self.rates_rps)
        ]


LoadShape = Annotated[
    FixedConcurrency | ConstantRate | PoissonRate | StepRamp | GoodputSweep,
    Field(discriminator="shape"),
]


def total_duration_s(stages: list[Stage]) -> float:
    return stages[-1].end_s if stages else 0.0


def stage_at(stages: list[Stage], elapsed_s: float) -> Stage | None:
    """The stage running ``elapsed_s`` after the start; ``None`` once the schedule is over."""
    for stage in stages:
        if stage.start_s <= elapsed_s < stage.end_s:
            return stage
    return None


class Pacer:
    """One user's share of an open-loop arrival rate.

    Arrivals are scheduled on a virtual clock (not on when the last request ended), so the
    aggregate rate holds while the target keeps up. A user that falls behind restarts its clock
    at now instead of firing a burst to catch up: a saturated target shows up as a lower
    achieved rate, never as a synthetic storm.
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._next_at: float | None = None

    def wait_s(self, stage: Stage, now: float) -> float:
        """Seconds to sleep before this user's next request (0 for closed-loop stages)."""
        if stage.rate_rps is None or stage.arrival == "closed":
            self._next_at = None
            return 0.0
        per_user_rate = stage.rate_rps / stage.users
        mean_gap = 1.0 / per_user_rate
        if self._next_at is None:
            # a random phase spreads the users' first requests over one gap
            self._next_at = now + self._rng.uniform(0.0, mean_gap)
        else:
            gap = self._rng.expovariate(per_user_rate) if stage.arrival == "poisson" else mean_gap
            self._next_at = max(self._next_at + gap, now)
        return max(self._next_at - now, 0.0)
