"""From planned steps to what the wheel shows: arcs (instances of one step grouped),
one ring per level, and each arc and its label packed onto a sub-track of its ring so
that nothing overlaps. Decides radii and label texts; draws nothing."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from arshjul.views.wheel.geometry import fit_text, step_angles, text_width
from models.definition import Definition
from models.planned import PlannedStep
from models.swedish import short_period

LABEL_PADDING = 5.0  # on each side of a label, along the track
MIN_LABEL_CHARS = 8  # a shortened label keeps at least this much of the name
LABEL_REPEAT_DEGREES = 80.0  # a longer arc has its label once per this stretch


@dataclass(frozen=True)
class Style:
    """Sizes in SVG user units (pixels at 100 %). The wheel grows outwards with the
    number of sub-tracks instead of squeezing them, so text keeps one readable size."""

    track_width: float = 26.0
    ring_gap: float = 18.0  # between rings; carries the ring's name
    label_font: float = 12.5
    ring_name_font: float = 10.5
    # Room a short arc's label may take beyond the arc: the whole name where the track
    # is free, else a shortened one rather than another sub-track.
    full_label_width: float = 360.0
    short_label_width: float = 180.0


WALL = Style()
# The screen overview is drawn to be read at 1,600 px wide: bigger text relative to the
# wheel, and shorter labels (the tooltip keeps the whole name) so that fewer sub-tracks
# keep the wheel small enough for that width.
SCREEN = Style(
    track_width=18.0, ring_gap=18.0, label_font=12.0, ring_name_font=12.0, full_label_width=200, short_label_width=80
)
# Kept for the wall wheel's callers.
TRACK_WIDTH, RING_GAP, LABEL_FONT = WALL.track_width, WALL.ring_gap, WALL.label_font


@dataclass
class Arc:
    """One drawn arc: instances of one step template (and period) on one ring whose
    dates overlap, e.g. all enheter writing their verksamhetsplan, or the nämnder whose
    deadlines follow their own meeting dates. It runs from the earliest opening to the
    latest deadline, with a mark at each deadline."""

    level: str
    process: str
    instances: list[PlannedStep]
    base_label: str  # the step's short name, without count or year
    plan_year: int
    start: float = field(init=False)  # degrees; end > start, past 360 across the new year
    end: float = field(init=False)
    track: int = 0  # sub-track within the ring, 0 innermost
    count_noun: str = ""  # "enheter" in the overview's "(412 enheter)"; else just the count
    count: int | None = None  # how many do the step, when not one per instance (a period's arc)
    note: str = ""  # more for the label's parentheses (the years of a period's arc)
    years: tuple[int, ...] = ()  # the plan years an arc folded over a period stands for
    tooltip: str | None = None  # instead of the wall wheel's list of every unit and date
    label: str = ""
    label_degrees: float = 0.0  # how much of the track the label's text takes

    def __post_init__(self) -> None:
        self.start, self.end = step_angles(self.opens, self.due)

    @property
    def first(self) -> PlannedStep:
        return self.instances[0]

    @property
    def opens(self) -> dt.date:
        return min(step.opens for step in self.instances)

    @property
    def due(self) -> dt.date:
        return max(step.due for step in self.instances)

    @property
    def deadlines(self) -> list[dt.date]:
        return sorted({step.due for step in self.instances})

    @property
    def middle(self) -> float:
        return (self.start + self.end) / 2

    @property
    def tentative(self) -> bool:
        """Rests on a meeting plan not yet decided (a body's standing rhythm); an arc
        folded over a period, only when it does so in every year it stands for."""
        if self.years:
            return all(step.tentative for step in self.instances)
        return any(step.tentative for step in self.instances)

    @property
    def shown_count(self) -> int:
        return self.count if self.count is not None else len(self.instances)

    @property
    def off_year(self) -> int | None:
        """The year of the (last) deadline when it is not the plan year (an arc folded
        over a period has none: its years are in its label)."""
        if self.years:
            return None
        return self.due.year if self.due.year != self.plan_year else None


@dataclass
class Ring:
    level: str
    name: str
    arcs: list[Arc]
    style: Style = WALL
    inner: float = 0.0
    tracks: int = 0

    @property
    def outer(self) -> float:
        return self.inner + self.tracks * self.style.track_width

    def track_radius(self, track: int) -> float:
        return self.inner + (track + 0.5) * self.style.track_width


def arc_tooltip(arc: Arc) -> str:
    """Everything the wall cannot say: the full name, who, and every date."""
    if arc.tooltip is not None:
        return arc.tooltip
    by_dates: dict[tuple[dt.date, dt.date], list[str]] = defaultdict(list)
    for step in arc.instances:
        by_dates[(step.opens, step.due)].append(step.unit_name)
    lines = [arc.first.name]
    if len(by_dates) == 1:
        [((opens, due), units)] = by_dates.items()
        lines.append("Gäller: " + ", ".join(units))
        lines.append(f"Öppnar {opens.isoformat()}, deadline {due.isoformat()}")
    else:
        for (opens, due), units in sorted(by_dates.items(), key=lambda item: (item[0][1], item[0][0])):
            lines.append(f"Öppnar {opens.isoformat()}, deadline {due.isoformat()}: " + ", ".join(units))
    meetings = sorted({step.meeting for step in arc.instances if step.meeting})
    if meetings:
        lines.append("Sammanträde " + ", ".join(day.isoformat() for day in meetings))
    if arc.tentative:
        lines.append("Preliminärt: vilar på sammanträdesplaner som inte är beslutade")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# From steps to arcs and rings


def step_label(step: PlannedStep, definition: Definition) -> str:
    """The step's name as a wall label: a recurring step shows its period briefly ("per
    feb") or not at all, since the arc's position already says when it is."""
    template = definition.templates.get(step.step)
    if template is None:
        return step.name
    if step.period and "{period}" in template.name:
        return template.name.replace("{period}", short_period(step.period))
    return template.name


def unit_short_name(step: PlannedStep, definition: Definition) -> str:
    body = definition.organisation.bodies.get(step.unit)
    return body.short if body is not None and body.short else step.unit_name


def overlapping_clusters(instances: list[PlannedStep]) -> list[list[PlannedStep]]:
    """Split instances into runs whose date ranges overlap or touch."""
    clusters: list[list[PlannedStep]] = []
    latest_due = None
    for step in sorted(instances, key=lambda step: (step.opens, step.due)):
        if clusters and step.opens <= latest_due:
            clusters[-1].append(step)
            latest_due = max(latest_due, step.due)
        else:
            clusters.append([step])
            latest_due = step.due
    return clusters


def group_arcs(steps: Iterable[PlannedStep], definition: Definition, year: int) -> list[Arc]:
    by_template: dict[tuple, list[PlannedStep]] = defaultdict(list)
    for step in steps:
        by_template[(step.level, step.step, step.period)].append(step)
    arcs = []
    for (level, _, _), instances in by_template.items():
        clusters = overlapping_clusters(instances)
        for cluster in clusters:
            cluster.sort(key=lambda step: (step.due, step.unit_name))
            first = cluster[0]
            label = step_label(first, definition)
            # The same step at different times of the year: say whose each arc is.
            if len(clusters) > 1 and len(cluster) == 1:
                label = f"{label} – {unit_short_name(first, definition)}"
            arcs.append(Arc(level=level, process=first.process, instances=cluster, base_label=label, plan_year=year))
    return arcs


def build_rings(arcs: list[Arc], definition: Definition) -> list[Ring]:
    """Rings in level order, top level first; only levels that have arcs."""
    org = definition.organisation
    by_level: dict[str, list[Arc]] = defaultdict(list)
    for arc in arcs:
        by_level[arc.level].append(arc)
    order = list(org.levels) + sorted(level for level in by_level if level not in org.levels)
    return [Ring(level, org.level_names.get(level, level), by_level[level]) for level in order if level in by_level]


# ---------------------------------------------------------------------------------------
# Packing arcs and labels into sub-tracks


def _overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return any(a[0] < b[1] + shift and b[0] + shift < a[1] for shift in (-360.0, 0.0, 360.0))


def label_suffix(arc: Arc) -> str:
    """The count of units or bodies doing the step ("(31)", "(412 enheter)") and
    "prel." for a tentative arc: what the label keeps however short it gets."""
    notes = []
    if arc.shown_count > 1:
        notes.append(f"{arc.shown_count} {arc.count_noun}".strip())
    if arc.note:
        notes.append(arc.note)
    if arc.tentative:
        notes.append("prel.")
    return f" ({', '.join(notes)})" if notes else ""


def place_label(arc: Arc, radius: float, label_width: float, font: float = WALL.label_font) -> tuple[float, float]:
    """Choose the arc's label text and the stretch of track it takes, centred on the arc;
    return the stretch the arc and its label take together."""
    arc_length = math.radians(arc.end - arc.start) * radius
    prefix = f"{arc.off_year}: " if arc.off_year is not None else ""
    suffix = label_suffix(arc)
    # Never no label at all: room at least for the start of the name, the year and the count.
    least = text_width(prefix + arc.base_label[:MIN_LABEL_CHARS].rstrip() + "…" + suffix, font)
    room = max(arc_length - 2 * LABEL_PADDING, label_width - 2 * LABEL_PADDING, least)
    arc.label = fit_text(prefix, arc.base_label, suffix, room, font)
    arc.label_degrees = math.degrees((text_width(arc.label, font) + 2 * LABEL_PADDING) / radius)
    half = max(arc.end - arc.start, arc.label_degrees) / 2
    return arc.middle - half, arc.middle + half


def label_centres(arc: Arc) -> list[float]:
    """Where along the arc its label goes: the middle, and on a long arc (a plan worked on
    for half a year, say) once per stretch of about LABEL_REPEAT_DEGREES, so the arc is
    named wherever a reader looks at it."""
    span = arc.end - arc.start
    copies = min(int(span // LABEL_REPEAT_DEGREES), int(span // (2 * arc.label_degrees)))
    if copies < 2:
        return [arc.middle]
    return [arc.start + span * (index + 0.5) / copies for index in range(copies)]


def pack_ring(ring: Ring, *, outer: float | None = None) -> None:
    """Put each arc on the innermost sub-track where neither it nor its label collides
    with what is already there (greedy, by starting angle). With `outer`, the ring's outer
    edge is fixed and the sub-tracks are filled from there inwards: the outer tracks, which
    have the most room for a label, fill first."""
    occupied: list[list[tuple[float, float]]] = []

    def fits(extent: tuple[float, float], track: int) -> bool:
        return not any(_overlaps(extent, other) for other in occupied[track])

    style = ring.style
    for arc in sorted(ring.arcs, key=lambda arc: (arc.start, -(arc.end - arc.start), arc.base_label)):
        track = 0
        while True:
            if track == len(occupied):
                occupied.append([])
            if outer is None:
                radius = ring.track_radius(track)
            else:
                radius = outer - (track + 0.5) * style.track_width
            extent = place_label(arc, radius, style.full_label_width, style.label_font)
            if not fits(extent, track):
                extent = place_label(arc, radius, style.short_label_width, style.label_font)
            if fits(extent, track):
                occupied[track].append(extent)
                arc.track = track
                break
            track += 1
    ring.tracks = max(len(occupied), 1)
    if outer is not None:  # count the tracks from the inside, as the drawing does
        ring.inner = outer - ring.tracks * style.track_width
        for arc in ring.arcs:
            arc.track = ring.tracks - 1 - arc.track


def lay_out_inwards(rings: list[Ring], outer: float) -> float:
    """Give each ring its radius from a fixed outer edge inwards (the top ring outermost);
    return the inner edge of the innermost ring, where the hub may end."""
    radius = outer
    for ring in rings:
        pack_ring(ring, outer=radius)
        radius = ring.inner - ring.style.ring_gap
    return radius + rings[-1].style.ring_gap if rings else outer


def lay_out(rings: list[Ring], hub_radius: float) -> float:
    """Give each ring its radius, lowest level at the hub; return the rings' outer radius."""
    radius = hub_radius
    for ring in reversed(rings):
        ring.inner = radius
        pack_ring(ring)  # needs the ring's radius: a label's angle depends on it
        radius = ring.outer + ring.style.ring_gap
    return radius
