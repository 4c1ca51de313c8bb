"""The whole sheet: sizes the wheel to what it carries (hub, rim, month band) and sets
the header, the wheel and its legend out on the page — the wall wheel of one plan year,
the wheel of a plan period (a ring per year), and either as the screen overview."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from arshjul.views.milestone_entries import milestones_for
from arshjul.views.wheel.drawing import HUB_RADIUS, MARGIN, SWEDISH_MONTHS, WheelDrawing, WheelGeometry
from arshjul.views.wheel.geometry import text_width
from arshjul.views.wheel.layout import SCREEN, WALL, Arc, Ring, Style, lay_out, lay_out_inwards
from arshjul.views.wheel.legend import LEGEND_COLUMN, draw_legend, legend_height
from arshjul.views.wheel.overview import level_rings, year_rings
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
SCREEN_WIDTH = 1600.0  # what the overview is drawn to be read at
# The overview spends its width on the rings: narrower margins, no growth of the month
# band, and the hub as small as it must be (at least MIN_SCREEN_HUB) for the rings to fit.
MIN_SCREEN_HUB = 70.0
SCREEN_ZOOMS = (1.4, 1.3, 1.2, 1.1, 1.0)
SCREEN_MARGIN = 16.0
SCREEN_OUTSIDE = 34.0  # room outside the month band for today's label


@dataclass
class Sheet:
    """What one sheet shows, whatever its rings are."""

    year: int  # the first plan year: the months' ticks follow its calendar
    title: str
    subtitle: str | None
    explanations: list[str]
    hub_text: str
    rings: list[Ring]
    arcs: list[Arc]
    step_count: int
    in_year_text: str
    off_year_text: str | None
    screen: bool


def zoomed(style: Style, zoom: float) -> Style:
    """The style with every size times `zoom`."""
    return replace(
        style,
        track_width=style.track_width * zoom,
        ring_gap=style.ring_gap * zoom,
        label_font=style.label_font * zoom,
        ring_name_font=style.ring_name_font * zoom,
        full_label_width=style.full_label_width * zoom,
        short_label_width=style.short_label_width * zoom,
    )


def render_wheel(
    steps: list[PlannedStep],
    definition: Definition,
    *,
    year: int,
    today: dt.date | None = None,
    subtitle: str | None = None,
    colour_by: tuple[Callable[[Arc], str], dict[str, tuple[str, str]], str] | None = None,
    overview: bool = False,
) -> str:
    """The årshjul of plan year `year` as an SVG document (see the package docstring for
    how the cycle's 28 months fit on one wheel). `today` is marked if given; `subtitle`
    names the unit when the plan has been narrowed to one. `colour_by` colours the arcs
    by something else than their process: (the category of an arc, category → (name,
    colour), the legend's heading), e.g. by state for the regionstab's year at a glance.
    `overview` draws the screen overview: one arc per template, 1,600 px wide."""
    rings, arcs = level_rings(steps, definition, year, overview=overview, style=SCREEN if overview else WALL)
    explanations = [
        f"Planår {year}: planering under {year - 1}, genomförande och uppföljning under {year}, "
        f"årsredovisning under {year + 1}"
    ]
    if overview:
        explanations.append("Översikt: en båge per stegmall, enheterna räknade (muspekaren visar alla datum)")
    off_years = sorted({arc.off_year for arc in arcs if arc.off_year is not None})
    sheet = Sheet(
        year=year,
        title=f"Årshjul {year} – {definition.organisation.info.name}" + (" (översikt)" if overview else ""),
        subtitle=subtitle,
        explanations=explanations,
        hub_text=str(year),
        rings=rings,
        arcs=arcs,
        step_count=len(steps),
        in_year_text=f"Steg under {year}: från öppning till deadline",
        off_year_text=f"Steg under {' och '.join(map(str, off_years))} (årtal före namnet)" if off_years else None,
        screen=overview,
    )
    return _draw(sheet, definition, today=today, colour_by=colour_by, milestone_steps={None: steps})


def render_period_wheel(
    plans: dict[int, list[PlannedStep]],
    definition: Definition,
    *,
    today: dt.date | None = None,
    subtitle: str | None = None,
    overview: bool = False,
) -> str:
    """The årshjul of a plan period: one ring per plan year, the first year outermost,
    each ring its year's cycle (folded onto the months as the one-year wheel is)."""
    years = sorted(plans)
    period = f"{years[0]}–{years[-1]}"
    rings, arcs = year_rings(plans, definition, overview=overview, style=SCREEN if overview else WALL)
    if overview:
        explanations = [
            f"Planår {period} i en ring: varje stegmall en gång, på sina månader; årtal inom parentes "
            "när den inte återkommer varje år",
            "Översikt: en båge per stegmall, enheterna räknade (muspekaren visar varje års datum)",
        ]
    else:
        explanations = [
            f"Planår {period}: en ring per planår, {years[0]} ytterst. Varje ring visar planårets cykel: "
            "planering året före, genomförande och uppföljning, årsredovisning året efter"
        ]
    if any(arc.tentative for arc in arcs):
        explanations.append("Randigt och (prel.): preliminärt, vilar på sammanträdesplaner som inte är beslutade")
    sheet = Sheet(
        year=years[0],
        title=f"Årshjul {period} – {definition.organisation.info.name}" + (" (översikt)" if overview else ""),
        subtitle=subtitle,
        explanations=explanations,
        hub_text=period,
        rings=rings,
        arcs=arcs,
        step_count=sum(len(steps) for steps in plans.values()),
        in_year_text="Steg under ringens planår: från öppning till deadline",
        off_year_text="Steg utanför ringens planår (årtal före namnet)" if any(arc.off_year for arc in arcs) else None,
        screen=overview,
    )
    if overview:  # one ring: the milestones of every year, on their months
        milestone_steps: dict[str | None, list[PlannedStep]] = {None: [s for steps in plans.values() for s in steps]}
    else:  # each ring its own year's
        milestone_steps = {ring.level: plans[int(ring.level)] for ring in rings}
    return _draw(sheet, definition, today=today, colour_by=None, milestone_steps=milestone_steps)


def _draw(
    sheet: Sheet,
    definition: Definition,
    *,
    today: dt.date | None,
    colour_by: tuple[Callable[[Arc], str], dict[str, tuple[str, str]], str] | None,
    milestone_steps: dict[str | None, list[PlannedStep]],
) -> str:
    """Lay out and draw a sheet. `milestone_steps` gives the steps whose span of dates
    decides the milestones shown: per ring (by its key), or for the whole wheel (None)."""
    rings, arcs = sheet.rings, sheet.arcs
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
    if sheet.screen:
        # The wheel as wide as the screen, its rings packed from the month band inwards;
        # only if they do not fit above the hub does it grow (and its text get smaller).
        wheel_scale = 1.0
        widest = SCREEN_WIDTH / 2 - SCREEN_MARGIN - SCREEN_OUTSIDE - MONTH_BAND - 6
        hub = widest / 3.5  # the inner tracks of a small plan get room for their labels
        # A small plan is drawn larger, up to SCREEN_ZOOMS[0] times, to fill the screen.
        for zoom in SCREEN_ZOOMS:
            for ring in rings:
                ring.style = zoomed(SCREEN, zoom)
            rings_edge = lay_out(rings, hub)
            if rings_edge <= widest:
                break
        if rings_edge > widest:  # not room enough from the hub outwards: from the rim inwards
            gap = rings[0].style.ring_gap  # above the outer ring: its name
            rings_edge = widest
            inner = lay_out_inwards(rings, rings_edge - gap)
            while inner - 4 < MIN_SCREEN_HUB:
                rings_edge += MIN_SCREEN_HUB - (inner - 4)
                inner = lay_out_inwards(rings, rings_edge - gap)
            hub = min(inner - 4, widest / 3)
    else:
        rings_edge = lay_out(rings, HUB_RADIUS)
        hub = max(MIN_HUB_RADIUS, rings_edge * 0.17)
        if abs(hub - HUB_RADIUS) > 1:
            rings_edge = lay_out(rings, hub)
        # The month band grows with the wheel, so the months keep their weight.
        wheel_scale = min(max(rings_edge / 700, 1.0), 1.8)
    rim = rings_edge + 6
    month_band = MONTH_BAND * wheel_scale
    outside = SCREEN_OUTSIDE if sheet.screen else 40 * wheel_scale  # room for the today label outside the band
    wheel_size = 2 * (rim + month_band + outside)
    # A big wheel gets a bigger title and legend, so they keep their size next to it. On
    # the screen overview the legend goes below the wheel, in columns, so the wheel
    # takes the whole width.
    scale = 1.0 if sheet.screen else min(max(wheel_size / 1400, 1.0), 1.8)
    header_height = (HEADER_HEIGHT + 26 * (len(sheet.explanations) - 1) + (26 if sheet.subtitle else 0)) * scale
    keys = 1 + bool(sheet.off_year_text) + any(arc.tentative for arc in arcs) + (today is not None)
    legend_rows = legend_height(len(colours), len(rings), keys, columns=sheet.screen)
    if sheet.screen:
        width = max(SCREEN_MARGIN * 2 + wheel_size, MARGIN * 2 + 3 * LEGEND_COLUMN)
        height = header_height + wheel_size + 30 * scale + legend_rows * scale + MARGIN
        legend_at = (MARGIN, header_height + wheel_size + 30 * scale)
    else:
        width = MARGIN * 2 + wheel_size + LEGEND_WIDTH * scale
        height = max(header_height + wheel_size + MARGIN, header_height + 600 * scale)
        legend_at = (MARGIN + wheel_size + 24, header_height + 30)
    # On a small wheel the font shrinks until "September" fits in its 30°.
    month_room = math.radians(26) * (rim + month_band / 2)
    widest_month = max(text_width(name, MONTH_FONT) for name in SWEDISH_MONTHS)
    month_font = min(MONTH_FONT * wheel_scale, MONTH_FONT * month_room / widest_month)
    geometry = WheelGeometry(
        cx=(width if sheet.screen else MARGIN * 2 + wheel_size) / 2,
        cy=header_height + wheel_size / 2,
        hub=hub,
        rim=rim,
        month_band=month_band,
        month_font=month_font,
    )

    label = f"{sheet.title} – {sheet.subtitle}" if sheet.subtitle else sheet.title
    drawing = WheelDrawing(geometry, width, height, label)
    drawing.header(sheet.title, sheet.subtitle, sheet.explanations, scale)
    drawing.months(sheet.year)
    for ring in rings:
        drawing.ring(ring, colours)
    drawing.hub(sheet.hub_text, sheet.step_count)
    for key, steps in milestone_steps.items():
        ring_of = next((ring for ring in rings if ring.level == key), None)
        inner, outer = (ring_of.inner, ring_of.outer) if ring_of is not None else (None, None)
        for milestone in milestones_for(definition, [day for step in steps for day in (step.opens, step.due)]):
            drawing.milestone(milestone.date, f"{milestone.name} ({milestone.calendar})", inner=inner, outer=outer)
    if today is not None:
        drawing.today(today)
    draw_legend(
        drawing.svg,
        left=legend_at[0],
        top=legend_at[1],
        scale=scale,
        rings=rings,
        colours=colours,
        in_year_text=sheet.in_year_text,
        off_year_text=sheet.off_year_text,
        tentative=any(arc.tentative for arc in arcs),
        today=today,
        heading=legend_heading,
        columns=sheet.screen,
    )
    drawing.resize(width, height, screen_width=SCREEN_WIDTH if sheet.screen else None)
    return drawing.document()
