"""The rollout timeline: recorded by the machine into ``status.timeline``, drawn for people.

Recording (`Tick.set_phase` calls `note`): one `TimelineEntry` per Transition, plus one
whenever the weight of the revision being rolled out moves without one (two ``setWeight``
steps in a row). Entries of earlier rollouts stay until the cap (`MAX_TIMELINE`) pushes the
oldest out; the entry that opens the latest rollout is never dropped, so its clock (``+m:ss``
since that entry) survives a rollout longer than the cap.

Drawing (pure): `rollouts` splits the entries at each ``rolloutStart``; `timeline_lines` is
the terminal view; `build_chart` is what the HTML page's plot shows (`views.timeline_page`
writes the page, `llmops_operator.timeline_plot` draws the chart with matplotlib).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from llmops_operator.core.state.phases import Phase
from llmops_operator.core.state.status import MAX_TIMELINE, RolloutStatus, TimelineEntry

MESSAGE_CHARS = 120  # the full message is in the Event; the timeline keeps a readable head
BAR_CELLS = 10

# Phase colours of the plot's bands and the page's table (the load-test report's palette).
PHASE_COLORS: dict[Phase, str] = {
    Phase.PENDING: "#8c959f",
    Phase.PROGRESSING: "#1f6feb",
    Phase.PAUSED: "#d97706",
    Phase.ANALYZING: "#9333ea",
    Phase.PROMOTING: "#0891b2",
    Phase.SUCCEEDED: "#16a34a",
    Phase.ROLLING_BACK: "#dc2626",
    Phase.ROLLED_BACK: "#b91c1c",
    Phase.FAILED: "#57606a",
}

# Reasons that are a gate's verdict: (marker kind, label on the plot).
VERDICTS: dict[str, tuple[str, str]] = {
    "AnalysisPassed": ("passed", "analysis passed"),
    "LoadTestPassed": ("passed", "load test passed"),
    "AnalysisInconclusive": ("inconclusive", "analysis inconclusive"),
    "AnalysisSkipped": ("skipped", "analysis skipped"),
}
# Reasons of the atomic switch to the candidate (`Tick.switch_to_candidate`).
SWITCHES = frozenset({"Promoted", "FirstRevisionReady", "FastRollback"})


# -- recording ----------------------------------------------------------------------------


def short(message: str, limit: int = MESSAGE_CHARS) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


def latest_start(entries: list[TimelineEntry]) -> int | None:
    """Index of the entry that opens the latest rollout (None: no rollout start kept)."""
    return next((i for i in range(len(entries) - 1, -1, -1) if entries[i].rollout_start), None)


def rollout_weight(status: RolloutStatus) -> int:
    """Percent of traffic on the revision the latest rollout brings: the candidate's weight
    while there is one; 100 once the switch made it the stable; 0 when it was dropped."""
    if status.canary_hash is not None:
        return status.canary_weight
    last = status.history[-1] if status.history else None
    if last is None or last.result != "Promoted" or last.hash != status.stable_hash:
        return 0
    start = latest_start(status.timeline)
    # Promoted before the latest rollout started: that rollout's candidate was dropped.
    return 100 if start is None or last.at >= status.timeline[start].at else 0


def append_entry(
    entries: list[TimelineEntry], entry: TimelineEntry, cap: int = MAX_TIMELINE
) -> list[TimelineEntry]:
    """``entries`` with ``entry`` last and at most ``cap`` long: the oldest go first, except
    the entry opening the latest rollout (the second oldest goes instead)."""
    kept = [*entries, entry]
    while len(kept) > cap:
        del kept[1 if latest_start(kept) == 0 else 0]
    return kept


def note(
    status: RolloutStatus,
    *,
    now: datetime,
    reason: str,
    message: str,
    warning: bool = False,
    rollout_start: bool = False,
) -> None:
    """Append one entry describing ``status`` as it is now (in place)."""
    if status.phase is None:
        return  # nothing has happened yet to describe
    entry = TimelineEntry(
        at=now,
        phase=status.phase,
        # A first revision comes up without steps; Promoting comes after the steps (the
        # index is past the last one) and after the switch there is no step.
        step=(
            status.current_step_index
            if status.canary_hash and status.stable_hash and status.phase is not Phase.PROMOTING
            else None
        ),
        canary_weight=rollout_weight(status),
        reason=reason,
        message=short(message),
        revision=status.canary_revision or status.stable_revision,
        rollout_start=rollout_start,
        warning=warning,
    )
    status.timeline = append_entry(status.timeline, entry)


def is_weight_moved(status: RolloutStatus) -> bool:
    """The rollout's weight differs from the last entry's (a change no Transition marks)."""
    last = status.timeline[-1] if status.timeline else None
    return last is not None and last.canary_weight != rollout_weight(status)


# -- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rollout:
    """The entries of one rollout, oldest first; its clock starts at the first."""

    entries: tuple[TimelineEntry, ...]

    @property
    def started_at(self) -> datetime:
        return self.entries[0].at

    @property
    def revision(self) -> str:
        return self.entries[0].revision or "-"

    @property
    def is_complete(self) -> bool:
        """False when earlier entries of this rollout were dropped (or recorded before the
        operator kept a timeline)."""
        return self.entries[0].rollout_start

    @property
    def outcome(self) -> Phase:
        return self.entries[-1].phase

    def seconds(self, entry: TimelineEntry) -> float:
        return (entry.at - self.started_at).total_seconds()


def rollouts(entries: list[TimelineEntry]) -> list[Rollout]:
    """The timeline cut at each ``rolloutStart``, oldest rollout first."""
    groups: list[list[TimelineEntry]] = []
    for entry in entries:
        if entry.rollout_start or not groups:
            groups.append([])
        groups[-1].append(entry)
    return [Rollout(tuple(group)) for group in groups]


def clock(seconds: float) -> str:
    """``+m:ss`` (``+h:mm:ss`` from an hour on) since the rollout started."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"+{hours}:{minutes:02d}:{secs:02d}" if hours else f"+{minutes}:{secs:02d}"


def weight_bar(weight: int, cells: int = BAR_CELLS) -> str:
    """``██░░░░░░░░`` for 20 %; any weight above 0 shows at least one cell."""
    filled = min(cells, (weight * cells + 50) // 100)
    if weight > 0:
        filled = max(1, filled)
    return "█" * filled + "░" * (cells - filled)


def step_number(index: int) -> int:
    """The step people read (1-based, as in "step 2/4"); status keeps the 0-based index."""
    return index + 1


def step_display(status: RolloutStatus, total: int) -> str | None:
    """``status.stepDisplay``, the STEP column of ``kubectl get md``: the current step as the
    messages count it (``2/4``), or None when no candidate runs steps (none, or a first
    revision). At the end of the steps (promoting) it stays at the last one (``4/4``)."""
    index = status.current_step_index
    if index is None or status.canary_hash is None or status.stable_hash is None or total < 1:
        return None
    return f"{min(step_number(index), total)}/{total}"


def step_label(step: int | None) -> str:
    return "-" if step is None else f"step {step_number(step)}"


def reached_step(status: RolloutStatus) -> int | None:
    """The furthest step index the latest rollout's timeline records (None: it ran none,
    e.g. a first revision, which takes all traffic at once)."""
    found = rollouts(status.timeline)
    steps = [e.step for e in found[-1].entries if e.step is not None] if found else []
    return max(steps) if steps else None


def rollout_header(rollout: Rollout) -> str:
    started = rollout.started_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    dropped = "" if rollout.is_complete else " (earlier entries dropped)"
    return f"Rollout of revision {rollout.revision}, started {started}{dropped}:"


def entry_lines(rollout: Rollout, entries: tuple[TimelineEntry, ...] | None = None) -> list[str]:
    """One line per entry: clock, phase, step, weight bar, weight, reason, message."""
    shown = rollout.entries if entries is None else entries
    reason_width = max((len(e.reason) for e in shown), default=0)
    return [
        (
            f"  {clock(rollout.seconds(entry)):>6}  {entry.phase.value:<11}"
            f"  {step_label(entry.step):<7} {weight_bar(entry.canary_weight)}"
            f" {entry.canary_weight:>3}%  {entry.reason:<{reason_width}}  {entry.message}"
        ).rstrip()
        for entry in shown
    ]


def timeline_lines(status: RolloutStatus, *, every_rollout: bool = False) -> list[str]:
    """The terminal timeline: the latest rollout (``every_rollout``: all kept, oldest
    first), a header per rollout, one line per entry."""
    found = rollouts(status.timeline)
    if not found:
        return ["No timeline yet (the operator records one from the next phase change)."]
    lines: list[str] = []
    for rollout in found if every_rollout else found[-1:]:
        lines += [rollout_header(rollout), *entry_lines(rollout)]
    return lines


def status_section(status: RolloutStatus, name: str, last: int = 12) -> list[str]:
    """The end of `kubectl llmops status`: the latest rollout's last ``last`` entries."""
    found = rollouts(status.timeline)
    if not found:
        return []
    rollout = found[-1]
    hidden = max(0, len(rollout.entries) - last)
    lines = [f"Timeline (all: kubectl llmops timeline {name}):", rollout_header(rollout)]
    if hidden:
        lines.append(f"  ... {hidden} earlier")
    return lines + entry_lines(rollout, rollout.entries[hidden:])


# -- the chart ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    """``phase`` from ``start_s`` to ``end_s`` (seconds since the rollout started)."""

    start_s: float
    end_s: float
    phase: Phase


@dataclass(frozen=True)
class Marker:
    """A labelled point: a gate's verdict, the rollback or the switch."""

    at_s: float
    weight: int
    kind: str  # "passed" | "inconclusive" | "skipped" | "rollback" | "promoted"
    label: str


@dataclass(frozen=True)
class Chart:
    """What the plot shows: the weight as a step line (each point holds until the next),
    phase bands behind it, and markers."""

    title: str
    points: tuple[tuple[float, int], ...]
    end_s: float
    bands: tuple[Band, ...]
    markers: tuple[Marker, ...]


def markers_of(rollout: Rollout) -> list[Marker]:
    out = []
    for index, entry in enumerate(rollout.entries):
        at, weight = rollout.seconds(entry), entry.canary_weight
        before = rollout.entries[index - 1].phase if index else None
        if entry.reason in VERDICTS:
            kind, label = VERDICTS[entry.reason]
            out.append(Marker(at, weight, kind, label))
        elif entry.phase is Phase.ROLLING_BACK and before is not Phase.ROLLING_BACK:
            out.append(Marker(at, weight, "rollback", f"rollback: {entry.reason}"))
        elif entry.phase is Phase.SUCCEEDED and entry.reason in SWITCHES:
            out.append(Marker(at, weight, "promoted", f"{entry.reason}: revision {entry.revision}"))
    return out


def build_chart(rollout: Rollout, now: datetime, name: str = "") -> Chart:
    """The chart of one rollout; a rollout still going runs to ``now``, a finished one a
    little past its last entry."""
    points = tuple((rollout.seconds(e), e.canary_weight) for e in rollout.entries)
    last_s = points[-1][0]
    if rollout.outcome.is_terminal:
        end_s = last_s + max(1.0, 0.05 * last_s)
    else:
        end_s = max(last_s + 1.0, (now - rollout.started_at).total_seconds())
    starts = [p[0] for p in points]
    bands = tuple(
        Band(start, stop, entry.phase)
        for start, stop, entry in zip(starts, [*starts[1:], end_s], rollout.entries, strict=True)
        if stop > start
    )
    subject = f"{name}: " if name else ""
    return Chart(
        title=f"{subject}revision {rollout.revision}, canary weight over time",
        points=points,
        end_s=end_s,
        bands=bands,
        markers=tuple(markers_of(rollout)),
    )
