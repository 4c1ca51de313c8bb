"""The whole wall sheet: sizes the wheel to what it carries (hub, rim, month band) and
sets the header, the wheel and its legend out on the page."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

from arshjul.views.milestone_entries import milestones_for
from arshjul.views.wheel.drawing import HUB_RADIUS, MARGIN, SWEDISH_MONTHS, WheelDrawing, WheelGeometry
from arshjul.views.wheel.geometry import text_width
from arshjul.views.wheel.layout import Arc, build_rings, group_arcs, lay_out
from arshjul.views.wheel.legend import draw_legend
from arshjul.views.wheel.paint import process_colours
from models.definition import Definition
from models.planned import PlannedStep

# In SVG user units (pixels at 100 %), for a wheel of ordinary size; a bigger wheel
# scales them up.
MIN_HUB_RADIUS = 115.0
MONTH_BAND = 46.0
HEADER_HEIGHT = 120.0
LEGEND_WIDTH = 470.0
MONTH_FONT = 21.0


def render_wheel(
    steps: list[PlannedStep],
    definition: Definition,
    *,
    year: int,
    today: dt.date | None = None,
    subtitle: str | None = None,
    colour_by: tuple[Callable[[Arc], str], dict[str, tuple[str, str]], str] | None = None,
) -> str:
    """The årshjul of plan year `year` as an SVG document (see the package docstring for
    how the cycle's 28 months fit on one wheel). `today` is marked if given; `subtitle`
    names the unit when the plan has been narrowed to one. `colour_by` colours the arcs
    by something else than their process: (the category of an arc, category → (name,
    colour), the legend's heading), e.g. by state for the regionstab's year at a glance."""
    org_name = definition.organisation.info.name
    title = f"Årshjul {year} – {org_name}"
    arcs = group_arcs(steps, definition, year)
    rings = build_rings(arcs, definition)
    legend_heading = "Processer"
    if colour_by is None:
        colours = process_colours(arcs, definition)
    else:
        category, palette, legend_heading = colour_by
        for arc in arcs:
            arc.process = category(arc)
        used = {arc.process for arc in arcs}
        colours = {key: value for key, value in palette.items() if key in used}
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
    widest_month = max(text_width(name, MONTH_FONT) for name in SWEDISH_MONTHS)
    month_font = min(MONTH_FONT * wheel_scale, MONTH_FONT * month_room / widest_month)
    geometry = WheelGeometry(
        cx=MARGIN + wheel_size / 2,
        cy=header_height + wheel_size / 2,
        hub=hub,
        rim=rim,
        month_band=month_band,
        month_font=month_font,
    )

    drawing = WheelDrawing(geometry, width, height, f"{title} – {subtitle}" if subtitle else title)
    drawing.header(title, subtitle, year, scale)
    drawing.months(year)
    for ring in rings:
        drawing.ring(ring, colours)
    drawing.hub(year, len(steps))
    for milestone in milestones_for(definition, [day for step in steps for day in (step.opens, step.due)]):
        drawing.milestone(milestone.date, f"{milestone.name} ({milestone.calendar})")
    if today is not None:
        drawing.today(today)
    draw_legend(
        drawing.svg,
        left=MARGIN + wheel_size + 24,
        top=header_height + 30,
        scale=scale,
        rings=rings,
        colours=colours,
        arcs=arcs,
        year=year,
        today=today,
        heading=legend_heading,
    )
    return drawing.document()
