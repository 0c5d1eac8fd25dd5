"""The timeline for people: terminal lines, the chart's content and the HTML page (pure)."""

from __future__ import annotations

import base64
import io
import re
from datetime import timedelta

import pytest
from PIL import Image

from llmops_operator.core.state.phases import Phase
from llmops_operator.core.state.status import RolloutStatus, TimelineEntry
from llmops_operator.core.state.timeline import (
    Rollout,
    build_chart,
    clock,
    rollouts,
    timeline_lines,
    weight_bar,
)
from llmops_operator.timeline_plot import render_timeline_page
from llmops_operator.views.status_text import status_text, step_lines
from llmops_operator.views.timeline_page import timeline_page
from tests.unit.operator.sim import T0, World, deployed, make_spec, with_revision
from tests.unit.operator.test_timeline import walk_canary_to_succeeded

PNG = re.compile(r'<img alt="[^"]*" src="data:image/png;base64,([^"]+)">')


def promoted() -> World:
    world = deployed(make_spec())
    walk_canary_to_succeeded(world)
    return world


def rolled_back() -> World:
    world = promoted()
    world.metric_value = 2.0
    world.spec = with_revision(world.spec, "3")
    world.tick(1)
    world.make_ready()
    for seconds in (1, 1, 30, 1, 10, 1):
        world.tick(seconds)
    assert world.status.phase is Phase.ROLLED_BACK
    return world


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "+0:00"), (42, "+0:42"), (605.9, "+10:05"), (3723, "+1:02:03")]
)
def test_should_show_time_since_the_rollout_started(seconds: float, shown: str) -> None:
    assert clock(seconds) == shown


@pytest.mark.parametrize(
    ("weight", "bar"),
    [(0, "░" * 10), (1, "█" + "░" * 9), (20, "██" + "░" * 8), (55, "██████░░░░"), (100, "█" * 10)],
)
def test_should_fill_one_bar_cell_per_ten_percent_and_one_for_any_traffic(
    weight: int, bar: str
) -> None:
    assert weight_bar(weight) == bar


def test_should_print_one_line_per_entry_of_the_latest_rollout() -> None:
    lines = timeline_lines(promoted().status)
    assert lines[0] == "Rollout of revision 2, started 2026-01-01T00:00:01Z:"
    assert len(lines) == 1 + 11
    assert lines[3] == (
        "   +0:06  Progressing  step 1  ██░░░░░░░░  20%  WeightSet        "
        "step 1/4: canary weight 20%"  # the step numbers agree with the operator's messages
    )
    assert lines[4].startswith("   +0:07  Paused       step 2  ██░░░░░░░░  20%  PauseStep  ")
    assert lines[-2] == (
        "   +1:01  Succeeded    -       ██████████ 100%  Promoted         revision 2 is stable"
    )


def test_should_print_every_kept_rollout_with_its_own_header_when_asked() -> None:
    lines = timeline_lines(rolled_back().status, every_rollout=True)
    headers = [line for line in lines if line.startswith("Rollout of revision")]
    assert [h.split(",")[0] for h in headers] == [
        "Rollout of revision 1",
        "Rollout of revision 2",
        "Rollout of revision 3",
    ]
    assert len(lines) == 3 + 2 + 11 + 7
    assert lines[-1].split()[1:5] == ["RolledBack", "step", "3", "░" * 10]


def test_should_mark_every_step_done_once_the_candidate_is_promoted() -> None:
    world = promoted()
    assert step_lines(world.spec, world.status) == [
        "  ✔ 1: setWeight 20%",
        "  ✔ 2: pause 30s",
        "  ✔ 3: analysis every 10s x2",
        "  ✔ 4: setWeight 50%",
    ]


def test_should_mark_the_step_that_rejected_the_candidate() -> None:
    world = rolled_back()
    assert [line[:5] for line in step_lines(world.spec, world.status)] == [
        "  ✔ 1",
        "  ✔ 2",
        "  ✘ 3",  # the analysis failed here
        "  · 4",
    ]


def test_should_mark_the_current_step_while_the_rollout_moves_and_none_for_a_first_revision() -> (
    None
):
    world = deployed(make_spec())
    assert {line[:3] for line in step_lines(world.spec, world.status)} == {"  ·"}
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)
    world.tick(1)
    assert world.status.phase is Phase.PAUSED
    assert [line[:5] for line in step_lines(world.spec, world.status)] == [
        "  ✔ 1",
        "  ▶ 2",
        "  · 3",
        "  · 4",
    ]


def test_should_mark_the_steps_promote_full_skipped() -> None:
    spec = make_spec(
        strategy={"canary": {"steps": [{"setWeight": 10}, {"pause": {}}, {"setWeight": 50}]}}
    )
    world = deployed(spec)
    world.spec = with_revision(spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)
    world.tick(1)
    world.tick(1, command="promote-full:1")
    for _ in range(4):
        world.tick(5)
        world.make_ready()
    assert world.status.phase is Phase.SUCCEEDED
    assert step_lines(world.spec, world.status) == [
        "  ✔ 1: setWeight 10%",
        "  ✔ 2: pause (until promoted)",
        "  ↷ 3: setWeight 50%",
    ]


def test_should_say_when_there_is_no_timeline_yet() -> None:
    assert timeline_lines(RolloutStatus()) == [
        "No timeline yet (the operator records one from the next phase change)."
    ]


def test_should_end_status_with_the_latest_entries_of_the_timeline() -> None:
    world = promoted()
    text = status_text("chat", world.spec, world.status).splitlines()
    start = text.index("Timeline (all: kubectl llmops timeline chat):")
    assert text.index("Conditions:") < start  # the last section
    assert text[start + 1 :] == timeline_lines(world.status)  # all 11 entries fit


def test_should_show_only_the_last_twelve_entries_in_status() -> None:
    world = promoted()
    latest = rollouts(world.status.timeline)[-1]
    longer = [
        *latest.entries,
        *(e.model_copy(update={"at": e.at + timedelta(minutes=5)}) for e in latest.entries[1:5]),
    ]
    world.status.timeline = longer
    text = status_text("chat", world.spec, world.status).splitlines()
    start = text.index("Timeline (all: kubectl llmops timeline chat):")
    assert text[start + 2] == "  ... 3 earlier"
    assert text[start + 3 :] == timeline_lines(world.status)[1 + 3 :]


def test_should_draw_the_weight_as_steps_with_phase_bands_and_markers() -> None:
    world = rolled_back()
    found = rollouts(world.status.timeline)
    good = build_chart(found[1], world.now, "chat")
    assert good.title == "chat: revision 2, canary weight over time"
    assert [weight for _, weight in good.points] == [0, 0, 20, 20, 20, 20, 20, 50, 50, 100, 100]
    assert [(m.kind, m.label, m.weight) for m in good.markers] == [
        ("passed", "analysis passed", 20),
        ("promoted", "Promoted: revision 2", 100),
    ]
    assert [b.phase for b in good.bands] == [
        Phase.PROGRESSING,
        Phase.PROGRESSING,
        Phase.PROGRESSING,
        Phase.PAUSED,
        Phase.PROGRESSING,
        Phase.ANALYZING,
        Phase.PROGRESSING,
        Phase.PROGRESSING,
        Phase.PROMOTING,
        Phase.SUCCEEDED,
        Phase.SUCCEEDED,
    ]
    # a finished rollout ends a little after its last entry, not at "now"
    assert good.end_s == pytest.approx(62 + 0.05 * 62)
    bad = build_chart(found[2], world.now)
    assert [(m.kind, m.label, m.weight) for m in bad.markers] == [
        ("rollback", "rollback: AnalysisFailed", 0)
    ]
    assert bad.bands[-1].phase is Phase.ROLLED_BACK


def test_should_run_a_rollout_still_going_up_to_now() -> None:
    world = deployed(make_spec())
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)
    world.tick(1)  # paused at 20 %
    latest = rollouts(world.status.timeline)[-1]
    chart = build_chart(latest, world.now + timedelta(seconds=20))
    assert chart.end_s == 22
    assert chart.bands[-1].phase is Phase.PAUSED and chart.bands[-1].end_s == 22


def test_should_write_a_page_with_the_plot_and_the_entries_as_a_table() -> None:
    world = rolled_back()
    page = render_timeline_page("ns", "chat", world.status, world.now)
    images = PNG.findall(page)
    assert len(images) == 1  # the latest rollout only
    image = Image.open(io.BytesIO(base64.b64decode(images[0])))
    assert image.format == "PNG" and image.size[0] > 800 and image.size[1] > 300
    table = page[page.index('<table class="entries">') :]
    rows = re.findall(r"<tr( class=\"warn\")?><td>(\+[\d:]+)</td>", table)
    latest = rollouts(world.status.timeline)[-1]
    assert [clock for _, clock in rows] == [clock_of(latest, e) for e in latest.entries]
    assert [bool(warn) for warn, _ in rows] == [e.warning for e in latest.entries]
    assert "<h1>RolledBack &middot; rollout timeline of ns/chat</h1>" in page
    assert "<script" not in page and "http" not in page  # self-contained: nothing to fetch
    everything = render_timeline_page("ns", "chat", world.status, world.now, every_rollout=True)
    assert len(PNG.findall(everything)) == 3
    assert everything.index('data-rollout="3"') < everything.index('data-rollout="2"')


def clock_of(rollout: Rollout, entry: TimelineEntry) -> str:
    return clock(rollout.seconds(entry))


def test_should_escape_what_the_status_says() -> None:
    status = RolloutStatus(
        phase=Phase.PAUSED,
        message="<b>",
        timeline=[
            TimelineEntry(
                at=T0, phase=Phase.PAUSED, reason="PauseStep", message="<img src=x>", revision="<2>"
            )
        ],
    )
    page = timeline_page("ns/x", status, [(rollouts(status.timeline)[0], "AAAA")], T0)
    assert "<img src=x>" not in page and "&lt;img src=x&gt;" in page
    assert "<b>" not in page and 'data-rollout="&lt;2&gt;"' in page
