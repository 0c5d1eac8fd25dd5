"""``status.stepDisplay`` (the STEP column of ``kubectl get md``) counts as the messages do.

``currentStepIndex`` stays the machine's 0-based index; people read the current step from 1,
out of the number of steps, as in every message (``step 2/4: paused until ...``) and in
``kubectl llmops status`` (``▶ 2: pause 30s``).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from llmops_operator.core.state.phases import Phase
from tests.unit.operator.rollout.test_bluegreen_machine import bg_spec
from tests.unit.operator.sim import World, deployed, make_spec, with_revision

CRD = Path(__file__).parents[3] / "charts/llmops-operator/crds/modeldeployments.llmops.dev.yaml"
WAITING = (Phase.PAUSED, Phase.ANALYZING)


def message_step(world: World) -> str | None:
    """``2/4`` of a message that starts ``step 2/4:``."""
    found = re.match(r"step (\d+/\d+):", world.status.message)
    return found.group(1) if found else None


def test_should_show_the_step_a_canary_waits_at_as_its_messages_number_it() -> None:
    world = deployed(make_spec())
    # the first revision took all traffic at once: no step to show
    assert world.status.step_display is None
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    # loading: the first step is next, at index 0
    assert (world.status.current_step_index, world.status.step_display) == (0, "1/4")
    world.make_ready()
    seen = []
    for seconds in (1, 1, 31, 1, 10, 10, 1):
        world.tick(seconds)
        seen.append((world.status.phase, world.status.step_display))
        if world.status.phase in WAITING:
            # a waiting step is where its message says
            assert world.status.step_display == message_step(world), world.status.message
    assert (Phase.PAUSED, "2/4") in seen and (Phase.ANALYZING, "3/4") in seen
    # no steps left: Promoting stays at the last one, then the switch clears it
    world.tick(1)
    assert (world.status.phase, world.status.step_display) == (Phase.PROMOTING, "4/4")
    world.make_ready()
    world.tick(1)
    assert (world.status.phase, world.status.step_display) == (Phase.SUCCEEDED, None)
    assert world.status.to_raw()["stepDisplay"] is None  # cleared by the merge patch


def test_should_count_blue_greens_four_implicit_steps_from_one() -> None:
    spec = bg_spec()
    world = deployed(spec)
    world.spec = with_revision(spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)
    world.tick(1)
    world.tick(1)
    # waiting for a person at the promotion, the fourth step (none of the gates configured)
    assert world.status.phase is Phase.PAUSED
    assert (world.status.current_step_index, world.status.step_display) == (3, "4/4")


def test_should_print_the_step_column_from_step_display() -> None:
    crd = yaml.safe_load(CRD.read_text())
    (version,) = crd["spec"]["versions"]
    columns = {c["name"]: c for c in version["additionalPrinterColumns"]}
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]

    assert columns["Step"]["jsonPath"] == ".status.stepDisplay"
    assert columns["Step"]["type"] == status["stepDisplay"]["type"] == "string"
    assert status["currentStepIndex"]["type"] == "integer"  # the machine's index stays
