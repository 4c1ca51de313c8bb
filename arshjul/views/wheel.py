"""`arshjul wheel`: the årshjul as the region hangs it on the wall, drawn as SVG.

Twelve month sectors start with January at 12 o'clock and run clockwise. Each level of
the organisation that has steps gets a ring: the top level outermost, the lowest level
nearest the hub. That order follows how planning cascades (regionplan → nämnd →
förvaltning → område → enhet) from the rim inwards, and it gives the outer rings, which
have the most room, to the top levels, which have the most distinct steps (reports to
fullmäktige, monthly reports, budget); the lower levels have few distinct steps, each
done by many units at once.

Which year the wheel shows. A cycle for plan year Y runs from planning in Y-1 through
the year itself to the årsredovisning in Y+1, about 28 months; a wall wheel is one
January→December. We fold the whole cycle onto the twelve months: every step sits at
its calendar months whatever its year. Because the cycle repeats every year, this is
exactly what the regionstab sees on the wall in any year: in the autumn units write the
coming year's verksamhetsplaner, in the spring the previous year's årsredovisning is
done. Nothing is hidden and every step of the plan year's cycle appears once. To stay
truthful about the year, steps whose deadline falls outside Y are drawn lighter with a
dashed edge and their label starts with the year ("2026: Regionplan"); the legend says
so. The alternative, a "working year" wheel of everything done during calendar year Y,
mixes three cycles (the årsredovisning for Y-1, Y's follow-up, planning for Y+1) and
cannot be drawn from one cycle's steps.

Dense plans (the region has some 300 step instances). Instances of one step template
(and period) on one ring whose dates overlap become one arc, from the earliest opening to
the latest deadline, with a mark at each deadline and the count in its label
("Enheternas verksamhetsplaner (31)"); most often their dates are simply the same.
Within a ring, arcs and their labels, which may run past a short arc, are packed into
sub-tracks so that nothing overlaps; the wheel grows outwards rather than shrinking its
text. Labels follow the arc, upright on both halves, are shortened with "…" when they
do not fit and repeat along long arcs. Every arc carries a <title> with the full name,
the units and every date, which SVG viewers show as a tooltip.

Geometry: every month gets 30°, as on a printed wheel; a date's position within its
month is proportional to the day. An arc starts at the beginning of its opening day and
ends at the end of its deadline day, so 1 April – 30 June is exactly 90°–180°.

Pure: `render_wheel` reads no clock and no files.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from models.definition import Definition
from models.planning import PlannedStep
from models.swedish import MONTHS, long_date, short_period

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
XLINK_NAMESPACE = "http://www.w3.org/1999/xlink"
XLINK_HREF = f"{{{XLINK_NAMESPACE}}}href"
ET.register_namespace("xlink", XLINK_NAMESPACE)  # the conventional prefix instead of "ns0"
FONT_FAMILY = "system-ui, sans-serif"

# Layout, in SVG user units (pixels at 100 %). The wheel grows outwards with the number
# of sub-tracks instead of squeezing them, so text keeps one readable size.
HUB_RADIUS = 170.0  # also the size the hub's text is designed for
MIN_HUB_RADIUS = 115.0
TRACK_WIDTH = 26.0
RING_GAP = 18.0  # between rings; carries the ring's name
MONTH_BAND = 46.0
MARGIN = 48.0
HEADER_HEIGHT = 120.0
LEGEND_WIDTH = 470.0

LABEL_FONT = 12.5
MONTH_FONT = 21.0
RING_NAME_FONT = 10.5
TITLE_FONT = 34.0

MIN_ARC_DEGREES = 1.6  # a step that opens on its deadline day still shows
# Room a short arc's label may take beyond the arc: the whole name where the track is
# free, else a shortened one rather than another sub-track.
FULL_LABEL_WIDTH = 360.0
SHORT_LABEL_WIDTH = 180.0
LABEL_PADDING = 5.0  # on each side of a label, along the track
LABEL_REPEAT_DEGREES = 80.0  # a longer arc has its label once per this stretch
FULL_TURN = 359.9  # an SVG arc cannot close a full circle

INK = "#1f2933"
MUTED = "#5b6673"
TODAY_COLOUR = "#c8102e"
MONTH_BAND_COLOURS = ("#2f4858", "#3b5668")
SECTOR_COLOURS = ("#ffffff", "#f3f5f7")

SWEDISH_MONTHS = [name.capitalize() for name in MONTHS]


# ---------------------------------------------------------------------------------------
# Angles and paths. Angles are degrees clockwise from 12 o'clock.


def date_angle(day: dt.date) -> float:
    """Where `day` begins on the wheel."""
    days_in_month = calendar.monthrange(day.year, day.month)[1]
    return 30.0 * (day.month - 1) + 30.0 * (day.day - 1) / days_in_month


def day_end_angle(day: dt.date) -> float:
    """Where `day` ends on the wheel (a deadline counts the whole day)."""
    return date_angle(day) + 30.0 / calendar.monthrange(day.year, day.month)[1]


def step_angles(opens: dt.date, due: dt.date) -> tuple[float, float]:
    """(start, end) of a step's arc with start < end; end may pass 360 when the step
    crosses the new year. At least MIN_ARC_DEGREES, at most just under a full turn."""
    start = date_angle(opens)
    if (due - opens).days >= 365:
        return start, start + FULL_TURN
    end = day_end_angle(due)
    while end <= start:
        end += 360.0
    if end - start < MIN_ARC_DEGREES:
        middle = (start + end) / 2
        start, end = middle - MIN_ARC_DEGREES / 2, middle + MIN_ARC_DEGREES / 2
        if start < 0:
            start, end = start + 360.0, end + 360.0
    return start, end


def polar(cx: float, cy: float, radius: float, angle: float) -> tuple[float, float]:
    radians = math.radians(angle)
    return cx + radius * math.sin(radians), cy - radius * math.cos(radians)


def _xy(point: tuple[float, float]) -> str:
    return f"{point[0]:.2f} {point[1]:.2f}"


def circle_arc_path(cx: float, cy: float, radius: float, start: float, end: float, *, reverse: bool = False) -> str:
    """An open arc from `start` to `end` (or back, when `reverse`), for text to follow."""
    large = 1 if end - start > 180 else 0
    if reverse:
        return f"M {_xy(polar(cx, cy, radius, end))} A {radius:.2f} {radius:.2f} 0 {large} 0 {_xy(polar(cx, cy, radius, start))}"
    return f"M {_xy(polar(cx, cy, radius, start))} A {radius:.2f} {radius:.2f} 0 {large} 1 {_xy(polar(cx, cy, radius, end))}"


def sector_path(cx: float, cy: float, inner: float, outer: float, start: float, end: float) -> str:
    """A closed ring segment between two radii and two angles."""
    end = min(end, start + FULL_TURN)
    large = 1 if end - start > 180 else 0
    return (
        f"M {_xy(polar(cx, cy, outer, start))} "
        f"A {outer:.2f} {outer:.2f} 0 {large} 1 {_xy(polar(cx, cy, outer, end))} "
        f"L {_xy(polar(cx, cy, inner, end))} "
        f"A {inner:.2f} {inner:.2f} 0 {large} 0 {_xy(polar(cx, cy, inner, start))} Z"
    )


def reads_upside_down(angle: float) -> bool:
    """Text following the circle clockwise would stand on its head around 6 o'clock."""
    return 90.0 < angle % 360.0 < 270.0


# ---------------------------------------------------------------------------------------
# Text. No font is embedded, so widths are estimated with DejaVu Sans' advances (the
# widest common fallback for sans-serif): labels sized this way fit in narrower fonts too.

_NARROW = set("iljI.,:;'!|")
_SEMI = set("ftr()[]-– /")
_WIDE = set("mwMWÅÄÖ@%")


def text_width(text: str, font_size: float) -> float:
    width = 0.0
    for char in text:
        if char in _NARROW:
            width += 0.29
        elif char in _SEMI:
            width += 0.40
        elif char in _WIDE:
            width += 0.86
        elif char.isupper():
            width += 0.72
        else:
            width += 0.62
    return width * font_size


def fit_text(prefix: str, body: str, suffix: str, width: float, font_size: float) -> str:
    """prefix + body + suffix, shortening only the body (with "…") to fit `width`. The
    year prefix and count suffix are what a reader needs most, so they are kept."""
    if text_width(prefix + body + suffix, font_size) <= width:
        return prefix + body + suffix
    for length in range(len(body) - 1, 0, -1):
        candidate = prefix + body[:length].rstrip(" –-,") + "…" + suffix
        if text_width(candidate, font_size) <= width:
            return candidate
    return ""


# ---------------------------------------------------------------------------------------
# From steps to arcs


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
    def off_year(self) -> int | None:
        """The year of the (last) deadline when it is not the plan year."""
        return self.due.year if self.due.year != self.plan_year else None


@dataclass
class Ring:
    level: str
    name: str
    arcs: list[Arc]
    inner: float = 0.0
    tracks: int = 0

    @property
    def outer(self) -> float:
        return self.inner + self.tracks * TRACK_WIDTH

    def track_radius(self, track: int) -> float:
        return self.inner + (track + 0.5) * TRACK_WIDTH


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


def _overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return any(a[0] < b[1] + shift and b[0] + shift < a[1] for shift in (-360.0, 0.0, 360.0))


def place_label(arc: Arc, radius: float, label_width: float) -> tuple[float, float]:
    """Choose the arc's label text and the stretch of track it takes, centred on the arc;
    return the stretch the arc and its label take together."""
    arc_length = math.radians(arc.end - arc.start) * radius
    room = max(arc_length, label_width) - 2 * LABEL_PADDING
    prefix = f"{arc.off_year}: " if arc.off_year is not None else ""
    suffix = f" ({len(arc.instances)})" if len(arc.instances) > 1 else ""
    arc.label = fit_text(prefix, arc.base_label, suffix, room, LABEL_FONT)
    arc.label_degrees = math.degrees((text_width(arc.label, LABEL_FONT) + 2 * LABEL_PADDING) / radius)
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


def pack_ring(ring: Ring) -> None:
    """Put each arc on the innermost sub-track where neither it nor its label collides
    with what is already there (greedy, by starting angle)."""
    occupied: list[list[tuple[float, float]]] = []

    def fits(extent: tuple[float, float], track: int) -> bool:
        return not any(_overlaps(extent, other) for other in occupied[track])

    for arc in sorted(ring.arcs, key=lambda arc: (arc.start, -(arc.end - arc.start), arc.base_label)):
        track = 0
        while True:
            if track == len(occupied):
                occupied.append([])
            radius = ring.track_radius(track)
            extent = place_label(arc, radius, FULL_LABEL_WIDTH)
            if not fits(extent, track):
                extent = place_label(arc, radius, SHORT_LABEL_WIDTH)
            if fits(extent, track):
                occupied[track].append(extent)
                arc.track = track
                break
            track += 1
    ring.tracks = max(len(occupied), 1)


def lay_out(rings: list[Ring], hub_radius: float) -> float:
    """Give each ring its radius, lowest level at the hub; return the rings' outer radius."""
    radius = hub_radius
    for ring in reversed(rings):
        ring.inner = radius
        pack_ring(ring)  # needs the ring's radius: a label's angle depends on it
        radius = ring.outer + RING_GAP
    return radius


# ---------------------------------------------------------------------------------------
# Colours


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def tint(colour: str, strength: float) -> str:
    """The colour mixed with white; strength 1 is the colour itself."""
    return "#" + "".join(f"{round(255 - (255 - part) * strength):02x}" for part in _rgb(colour))


def shade(colour: str, factor: float) -> str:
    return "#" + "".join(f"{round(part * factor):02x}" for part in _rgb(colour))


def luminance(colour: str) -> float:
    """Relative luminance as WCAG defines it: 0 black, 1 white."""
    linear = [(part / 255 / 12.92) if part <= 10 else ((part / 255 + 0.055) / 1.055) ** 2.4 for part in _rgb(colour)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def edge_colour(colour: str) -> str:
    """The colour for an arc's outline: the process colour, darkened if it is so light
    (a yellow, say) that a thin or dashed line of it would vanish on white."""
    while luminance(colour) > 0.3:
        colour = shade(colour, 0.9)
    return colour.lower()


def arc_paint(colour: str, *, other_year: bool) -> dict[str, str]:
    """Fill and outline of an arc; the legend's swatches use the same."""
    paint = {"fill": tint(colour, 0.14 if other_year else 0.42), "stroke": edge_colour(colour), "stroke-width": "1.4"}
    if other_year:
        paint["stroke-dasharray"] = "5 3"
    return paint


def deadline_colour(colour: str) -> str:
    return shade(edge_colour(colour), 0.8)


FALLBACK_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]


def process_colours(arcs: list[Arc], definition: Definition) -> dict[str, tuple[str, str]]:
    """process key → (name, colour) for the processes used, in the definition's order."""
    used = {arc.process for arc in arcs}
    known = definition.processes
    ordered = [key for key in known if key in used] + sorted(used - set(known))
    result = {}
    for index, key in enumerate(ordered):
        process = known.get(key)
        if process is not None:
            result[key] = (process.name, process.colour)
        else:
            result[key] = (key, FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)])
    return result


# ---------------------------------------------------------------------------------------
# Drawing


def _element(parent: ET.Element, tag: str, text: str | None = None, **attributes) -> ET.Element:
    """A child element. Attribute names use '_' for '-' (font_size → font-size, class_ →
    class); attributes given as None are left out."""
    names_and_values = {key.rstrip("_").replace("_", "-"): str(value) for key, value in attributes.items() if value is not None}
    element = ET.SubElement(parent, tag, names_and_values)
    if text is not None:
        element.text = text
    return element


def _text_on_path(parent: ET.Element, path_id: str, text: str, **attributes) -> ET.Element:
    """Text centred along the path `path_id` (defined in <defs>)."""
    node = _element(parent, "text", **attributes)
    on_path = _element(node, "textPath", text, href=f"#{path_id}", startOffset="50%", text_anchor="middle")
    on_path.set(XLINK_HREF, f"#{path_id}")  # for viewers that predate SVG 2
    return node


@dataclass(frozen=True)
class WheelGeometry:
    cx: float
    cy: float
    hub: float  # where the innermost ring starts
    rim: float  # where the rings end and the month band starts
    month_band: float
    month_font: float


class WheelDrawing:
    """The SVG document under construction; one method per layer, drawn bottom-up."""

    def __init__(self, geometry: WheelGeometry, width: float, height: float, title: str):
        self.geometry = geometry
        self.cx, self.cy, self.rim = geometry.cx, geometry.cy, geometry.rim
        self.svg = ET.Element(
            "svg",
            {
                "xmlns": SVG_NAMESPACE,
                "version": "1.1",
                "viewBox": f"0 0 {width:.0f} {height:.0f}",
                "width": f"{width:.0f}",
                "height": f"{height:.0f}",
                "font-family": FONT_FAMILY,
                "role": "img",
                "aria-label": title,
            },
        )
        _element(self.svg, "title", title)
        _element(self.svg, "rect", x=0, y=0, width=f"{width:.0f}", height=f"{height:.0f}", fill="#ffffff")
        self.defs = _element(self.svg, "defs")
        self.path_count = 0

    def text_path(self, radius: float, start: float, end: float) -> str:
        """Define an invisible arc for text between two angles, upright either way; return its id."""
        self.path_count += 1
        path_id = f"textarc-{self.path_count}"
        reverse = reads_upside_down((start + end) / 2)
        _element(self.defs, "path", id=path_id, d=circle_arc_path(self.cx, self.cy, radius, start, end, reverse=reverse))
        return path_id

    def baseline(self, radius: float, middle: float, font_size: float) -> float:
        """The radius to write on so text is centred on `radius` (glyphs point outwards on
        the top half and inwards on the bottom half)."""
        shift = font_size * 0.35
        return radius + shift if reads_upside_down(middle) else radius - shift

    def header(self, title: str, subtitle: str | None, year: int, scale: float) -> None:
        group = _element(self.svg, "g", class_="header", transform=f"translate({MARGIN:.1f} {MARGIN:.1f}) scale({scale:.3f})")
        _element(group, "text", title, class_="title", x=0, y=TITLE_FONT, font_size=TITLE_FONT, font_weight=700, fill=INK)
        lines = [subtitle] if subtitle else []
        lines.append(f"Planår {year}: planering under {year - 1}, genomförande och uppföljning under {year}, årsredovisning under {year + 1}")
        for index, line in enumerate(lines):
            bold = subtitle is not None and index == 0
            _element(group, "text", line, class_="subtitle" if bold else "explanation", x=0, y=TITLE_FONT + 30 + 26 * index,
                     font_size=20 if bold else 15, font_weight=600 if bold else None, fill=INK if bold else MUTED)

    def months(self, year: int) -> None:
        inner = self.geometry.hub
        band, font_size = self.geometry.month_band, self.geometry.month_font
        band_outer = self.rim + band
        for month in range(1, 13):
            start, end = 30.0 * (month - 1), 30.0 * month
            group = _element(self.svg, "g", class_="month", data_month=month)
            _element(group, "path", class_="month-sector", d=sector_path(self.cx, self.cy, inner, self.rim, start, end),
                     fill=SECTOR_COLOURS[month % 2])
            _element(group, "path", d=sector_path(self.cx, self.cy, self.rim, band_outer, start, end), fill=MONTH_BAND_COLOURS[month % 2])
            radius = self.baseline(self.rim + band / 2, start + 15, font_size)
            path_id = self.text_path(radius, start + 1, end - 1)
            _text_on_path(group, path_id, SWEDISH_MONTHS[month - 1], class_="month-name",
                          font_size=f"{font_size:.1f}", font_weight=600, fill="#ffffff", letter_spacing=0.5)
        # Ticks at the 10th and the 20th of each month help to read a date off the wall.
        ticks = _element(self.svg, "g", class_="ticks", stroke="#ffffff", stroke_opacity=0.55, stroke_width=1.2)
        for month in range(1, 13):
            for day in (10, 20):
                angle = date_angle(dt.date(year, month, day))
                x1, y1 = polar(self.cx, self.cy, self.rim, angle)
                x2, y2 = polar(self.cx, self.cy, self.rim + band * 0.15, angle)
                _element(ticks, "line", x1=f"{x1:.2f}", y1=f"{y1:.2f}", x2=f"{x2:.2f}", y2=f"{y2:.2f}")
        dividers = _element(self.svg, "g", class_="month-dividers", stroke="#c9d0d8", stroke_width=1)
        for month in range(12):
            x1, y1 = polar(self.cx, self.cy, inner, 30.0 * month)
            x2, y2 = polar(self.cx, self.cy, band_outer, 30.0 * month)
            _element(dividers, "line", x1=f"{x1:.2f}", y1=f"{y1:.2f}", x2=f"{x2:.2f}", y2=f"{y2:.2f}")

    def hub(self, year: int, step_count: int) -> None:
        scale = self.geometry.hub / HUB_RADIUS
        group = _element(self.svg, "g", class_="hub")
        _element(group, "circle", cx=f"{self.cx:.2f}", cy=f"{self.cy:.2f}", r=f"{self.geometry.hub - 10:.2f}", fill="#2f4858")
        # The hub's text scales as one piece with the hub.
        group = _element(group, "g", transform=f"translate({self.cx:.2f} {self.cy:.2f}) scale({scale:.3f})")
        _element(group, "text", str(year), x=0, y=16, font_size=52, font_weight=700, fill="#ffffff", text_anchor="middle")
        _element(group, "text", "Planår", x=0, y=-38, font_size=17, fill="#dbe4ea", text_anchor="middle")
        summary = f"{step_count} steg" if step_count else "Inga steg"
        _element(group, "text", summary, x=0, y=50, font_size=16, fill="#dbe4ea", text_anchor="middle")

    def ring(self, ring: Ring, colours: dict[str, tuple[str, str]]) -> None:
        group = _element(self.svg, "g", class_="ring", data_level=ring.level, data_name=ring.name)
        _element(group, "circle", cx=f"{self.cx:.2f}", cy=f"{self.cy:.2f}", r=f"{ring.inner - 0.5:.2f}", fill="none",
                 stroke="#c9d0d8", stroke_width=1)
        name_radius = ring.outer + RING_GAP / 2
        for middle in (0.0, 180.0):  # in the gap above the ring, so no arc is in the way
            width = math.degrees((text_width(ring.name.upper(), RING_NAME_FONT) + 40) / name_radius)
            path_id = self.text_path(self.baseline(name_radius, middle, RING_NAME_FONT), middle - width / 2, middle + width / 2)
            _text_on_path(group, path_id, ring.name.upper(), class_="ring-name", font_size=RING_NAME_FONT,
                          font_weight=600, fill=MUTED, letter_spacing=1.2)
        for arc in sorted(ring.arcs, key=lambda arc: (arc.track, arc.start)):
            self.arc(group, ring, arc, colours[arc.process][1])

    def arc(self, parent: ET.Element, ring: Ring, arc: Arc, colour: str) -> None:
        inner = ring.inner + arc.track * TRACK_WIDTH + 2
        outer = inner + TRACK_WIDTH - 4
        group = _element(
            parent, "g", class_="step" + (" other-year" if arc.off_year else ""),
            data_step=arc.first.step, data_process=arc.process, data_level=arc.level, data_count=len(arc.instances),
            data_opens=arc.opens.isoformat(), data_due=arc.due.isoformat(),
            data_start=f"{arc.start % 360:.3f}", data_end=f"{arc.end % 360:.3f}",
        )
        _element(group, "title", arc_tooltip(arc))
        path = _element(group, "path", class_="arc", d=sector_path(self.cx, self.cy, inner, outer, arc.start, arc.end))
        for name, value in arc_paint(colour, other_year=arc.off_year is not None).items():
            path.set(name, value)
        # Deadlines, the dates that matter most, are solid edges.
        for deadline in arc.deadlines:
            angle = arc.end if deadline == arc.due else day_end_angle(deadline)
            x1, y1 = polar(self.cx, self.cy, inner, angle)
            x2, y2 = polar(self.cx, self.cy, outer, angle)
            _element(group, "line", class_="deadline", x1=f"{x1:.2f}", y1=f"{y1:.2f}", x2=f"{x2:.2f}", y2=f"{y2:.2f}",
                     stroke=deadline_colour(colour), stroke_width=3.5 if deadline == arc.due else 2, stroke_linecap="butt")
        # The text path is longer than the text, which is centred on it: the estimate of
        # the text's width must not cut it off.
        half_label = min(arc.label_degrees * 0.75, 179.0)
        for centre in label_centres(arc) if arc.label else []:
            radius = self.baseline((inner + outer) / 2, centre, LABEL_FONT)
            path_id = self.text_path(radius, centre - half_label, centre + half_label)
            _text_on_path(group, path_id, arc.label, class_="label", font_size=LABEL_FONT, fill=INK)

    def today(self, today: dt.date) -> None:
        inner = self.geometry.hub - 10
        angle = (date_angle(today) + day_end_angle(today)) / 2
        group = _element(self.svg, "g", class_="today", data_date=today.isoformat(), data_angle=f"{angle:.3f}")
        _element(group, "title", f"I dag: {long_date(today)}")
        outer = self.rim + self.geometry.month_band + 6
        x1, y1 = polar(self.cx, self.cy, inner, angle)
        x2, y2 = polar(self.cx, self.cy, outer, angle)
        _element(group, "line", x1=f"{x1:.2f}", y1=f"{y1:.2f}", x2=f"{x2:.2f}", y2=f"{y2:.2f}", stroke=TODAY_COLOUR,
                 stroke_width=2.5, stroke_linecap="round")
        _element(group, "circle", cx=f"{x2:.2f}", cy=f"{y2:.2f}", r=5, fill=TODAY_COLOUR)
        text = f"I dag {long_date(today)}"
        font_size = max(15.0, self.geometry.month_font * 0.7)  # as prominent as the months allow
        label_radius = outer + font_size
        width = math.degrees(2 * text_width(text, font_size) / label_radius)  # generous: the text is centred
        path_id = self.text_path(self.baseline(label_radius, angle, font_size), angle - width / 2, angle + width / 2)
        _text_on_path(group, path_id, text, font_size=f"{font_size:.1f}", font_weight=700, fill=TODAY_COLOUR)

    def legend(self, left: float, top: float, scale: float, rings: list[Ring], colours: dict[str, tuple[str, str]],
               arcs: list[Arc], year: int, today: dt.date | None) -> None:
        group = _element(self.svg, "g", class_="legend", transform=f"translate({left:.1f} {top:.1f}) scale({scale:.3f})")
        x, y = 0.0, 0.0
        _element(group, "text", "Processer", x=x, y=y, font_size=18, font_weight=700, fill=INK)
        y += 14
        for key, (name, colour) in colours.items():
            entry = _element(group, "g", class_="legend-process", data_process=key, data_colour=colour)
            self._swatch(entry, x, y, colour, other_year=False)
            _element(entry, "text", name, x=x + 46, y=f"{y + 14:.1f}", font_size=15, fill=INK)
            y += 28

        y += 26
        _element(group, "text", "Ringar, utifrån och in", x=x, y=f"{y:.1f}", font_size=18, font_weight=700, fill=INK)
        y += 14
        for index, ring in enumerate(rings):
            entry = _element(group, "g", class_="legend-ring", data_level=ring.level)
            self._ring_icon(entry, x + 17, y + 11, index, len(rings))
            _element(entry, "text", ring.name, x=x + 46, y=f"{y + 16:.1f}", font_size=15, fill=INK)
            y += 30

        y += 26
        _element(group, "text", "Så läser du hjulet", x=x, y=f"{y:.1f}", font_size=18, font_weight=700, fill=INK)
        y += 14
        neutral = "#6b7785"
        key_entries = [(f"Steg under {year}: från öppning till deadline", False)]
        off_years = sorted({arc.off_year for arc in arcs if arc.off_year is not None})
        if off_years:
            years = " och ".join(str(value) for value in off_years)
            key_entries.append((f"Steg under {years} (årtal före namnet)", True))
        for text, other_year in key_entries:
            entry = _element(group, "g", class_="legend-key")
            self._swatch(entry, x, y, neutral, other_year=other_year)
            _element(entry, "text", text, x=x + 46, y=f"{y + 14:.1f}", font_size=15, fill=INK)
            y += 28
        notes = [
            "Den mörka kanten är deadline; flera kanter på en båge",
            "betyder att enheterna har olika deadlines.",
            "Siffran inom parentes: hur många enheter eller organ",
            "som gör steget samtidigt.",
        ]
        if today is not None:
            entry = _element(group, "g", class_="legend-key")
            _element(entry, "line", x1=x, y1=f"{y + 9:.1f}", x2=x + 34, y2=f"{y + 9:.1f}", stroke=TODAY_COLOUR, stroke_width=2.5)
            _element(entry, "text", f"I dag, {long_date(today)}", x=x + 46, y=f"{y + 14:.1f}", font_size=15, fill=INK)
            y += 28
        y += 8
        for line in notes + ["Håll muspekaren över en båge för enheter och datum."]:
            _element(group, "text", line, x=x, y=f"{y + 12:.1f}", font_size=13.5, fill=MUTED)
            y += 20

    def _swatch(self, parent: ET.Element, x: float, y: float, colour: str, *, other_year: bool) -> None:
        """A piece of arc as the legend shows it: fill, outline and the deadline edge."""
        rect = _element(parent, "rect", x=x, y=f"{y:.1f}", width=34, height=18, rx=3)
        for name, value in arc_paint(colour, other_year=other_year).items():
            rect.set(name, value)
        _element(parent, "rect", x=x + 31, y=f"{y:.1f}", width=3.5, height=18, fill=deadline_colour(colour))

    def _ring_icon(self, parent: ET.Element, cx: float, cy: float, index: int, count: int) -> None:
        """A small wheel with ring `index` (0 = outermost) dark and the others pale."""
        outer, hub = 13.0, 4.0
        thickness = (outer - hub) / max(count, 1)
        for position in range(count):
            radius = outer - (position + 0.5) * thickness
            _element(parent, "circle", cx=f"{cx:.1f}", cy=f"{cy:.1f}", r=f"{radius:.2f}", fill="none",
                     stroke="#2f4858" if position == index else "#d3d9df", stroke_width=f"{thickness - 0.5:.2f}")

    def document(self) -> str:
        ET.indent(self.svg, space="  ")
        return ET.tostring(self.svg, encoding="unicode", xml_declaration=True) + "\n"


def arc_tooltip(arc: Arc) -> str:
    """Everything the wall cannot say: the full name, who, and every date."""
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
    return "\n".join(lines)


def render_wheel(
    steps: list[PlannedStep],
    definition: Definition,
    *,
    year: int,
    today: dt.date | None = None,
    subtitle: str | None = None,
) -> str:
    """The årshjul of plan year `year` as an SVG document (see the module docstring for
    how the cycle's 28 months fit on one wheel). `today` is marked if given; `subtitle`
    names the unit when the plan has been narrowed to one."""
    org_name = definition.organisation.info.name
    title = f"Årshjul {year} – {org_name}"
    arcs = group_arcs(steps, definition, year)
    rings = build_rings(arcs, definition)
    colours = process_colours(arcs, definition)
    # The hub takes about a sixth of the wheel: a big wheel gets a bigger hub, which also
    # gives its inner rings more room; a unit's small wheel is not all hub.
    rings_edge = lay_out(rings, HUB_RADIUS)
    hub = max(MIN_HUB_RADIUS, rings_edge * 0.17)
    if abs(hub - HUB_RADIUS) > 1:
        rings_edge = lay_out(rings, hub)
    # The month band grows with the wheel, so the months keep their weight.
    wheel_scale = min(max(rings_edge / 700, 1.0), 1.8)
    rim = rings_edge + 6
    month_band = MONTH_BAND * wheel_scale

    wheel_size = 2 * (rim + month_band + 40 * wheel_scale)  # room for the today label outside the band
    # A big wheel gets a bigger title and legend, so they keep their size next to it.
    scale = min(max(wheel_size / 1400, 1.0), 1.8)
    header_height = (HEADER_HEIGHT + (26 if subtitle else 0)) * scale
    width = MARGIN * 2 + wheel_size + LEGEND_WIDTH * scale
    height = max(header_height + wheel_size + MARGIN, header_height + 600 * scale)
    # On a small wheel the font shrinks until "September" fits in its 30°.
    month_room = math.radians(26) * (rim + month_band / 2)
    month_font = min(MONTH_FONT * wheel_scale, MONTH_FONT * month_room / max(text_width(name, MONTH_FONT) for name in SWEDISH_MONTHS))
    geometry = WheelGeometry(
        cx=MARGIN + wheel_size / 2, cy=header_height + wheel_size / 2, hub=hub, rim=rim,
        month_band=month_band, month_font=month_font,
    )

    drawing = WheelDrawing(geometry, width, height, f"{title} – {subtitle}" if subtitle else title)
    drawing.header(title, subtitle, year, scale)
    drawing.months(year)
    for ring in rings:
        drawing.ring(ring, colours)
    drawing.hub(year, len(steps))
    if today is not None:
        drawing.today(today)
    drawing.legend(MARGIN + wheel_size + 24, header_height + 30, scale, rings, colours, arcs, year, today)
    return drawing.document()
