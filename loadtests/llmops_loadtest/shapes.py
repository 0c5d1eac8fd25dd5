"""The Locust load shape: follows the profile's schedule (`llmops_loadtest.core.schedule`).

Runs in the master (or the single standalone process). Fixed concurrency, constant and
Poisson rates, step ramps and goodput sweeps are all stage lists; open-loop stages run
``users`` as a concurrency cap while each user paces its share of the rate.
"""

from __future__ import annotations

from locust import LoadTestShape

from llmops_loadtest.core.schedule import Stage, stage_at


class ScheduleShape(LoadTestShape):
    """Ticks through ``stages``; ``None`` after the last one ends the test."""

    stages: list[Stage] = []  # noqa: RUF012 -- set by the locustfile before the run

    def tick(self) -> tuple[int, float] | None:
        stage = stage_at(self.stages, self.get_run_time())  # type: ignore[no-untyped-call]
        if stage is None:
            return None
        # spawn a stage's users within about a second: ramps are stages, not spawn rates
        return stage.users, float(max(stage.users, 1))
