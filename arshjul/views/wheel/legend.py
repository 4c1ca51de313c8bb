"""The key beside the wheel (or below it, in columns, on the screen overview): each
process's colour, the rings from the rim inwards, and how to read an arc (other years,
tentative dates, deadlines, counts, today). Its Swedish wording changes apart from the
wheel's drawing."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from arshjul.views.wheel.drawing import TENTATIVE_PATTERN, element
from arshjul.views.wheel.layout import Ring
from arshjul.views.wheel.paint import INK, MUTED, TODAY_COLOUR, arc_paint, deadline_colour
from models.swedish import long_date

NEUTRAL_COLOUR = "#6b7785"  # the key's sample arcs belong to no process
LEGEND_COLUMN = 500.0  # a column's width when the legend is set out in columns
NOTES = [
    "Den mörka kanten är deadline; flera kanter på en båge",
    "betyder att enheterna har olika deadlines.",
    "Siffran inom parentes: hur många enheter eller organ",
    "som gör steget samtidigt.",
    "Håll muspekaren över en båge för enheter och datum.",
]


def legend_height(processes: int, rings: int, keys: int, *, columns: bool) -> float:
    """How tall the legend is (unscaled): its sections one under another, or the tallest
    of them when they stand in columns; `keys` is the number of sample arcs and lines."""
    sections = [14 + 28 * processes, 14 + 30 * rings, 14 + 28 * keys + 8 + 20 * len(NOTES)]
    return max(sections) + 20 if columns else sum(sections) + 2 * 26 + 20


def draw_legend(
    parent: ET.Element,
    *,
    left: float,
    top: float,
    scale: float,
    rings: list[Ring],
    colours: dict[str, tuple[str, str]],
    in_year_text: str,
    off_year_text: str | None,
    tentative: bool,
    today: dt.date | None,
    heading: str = "Processer",
    columns: bool = False,
) -> None:
    group = element(parent, "g", class_="legend", transform=f"translate({left:.1f} {top:.1f}) scale({scale:.3f})")
    x, y = 0.0, 0.0

    def next_section() -> tuple[float, float]:
        return (x + LEGEND_COLUMN, 0.0) if columns else (x, y + 26)

    element(group, "text", heading, x=x, y=y, font_size=18, font_weight=700, fill=INK)
    y += 14
    for key, (name, colour) in colours.items():
        entry = element(group, "g", class_="legend-process", data_process=key, data_colour=colour)
        _swatch(entry, x, y, colour, other_year=False)
        element(entry, "text", name, x=x + 46, y=f"{y + 14:.1f}", font_size=15, fill=INK)
        y += 28

    x, y = next_section()
    element(group, "text", "Ringar, utifrån och in", x=x, y=f"{y:.1f}", font_size=18, font_weight=700, fill=INK)
    y += 14
    for index, ring in enumerate(rings):
        entry = element(group, "g", class_="legend-ring", data_level=ring.level)
        _ring_icon(entry, x + 17, y + 11, index, len(rings))
        element(entry, "text", ring.name, x=x + 46, y=f"{y + 16:.1f}", font_size=15, fill=INK)
        y += 30

    x, y = next_section()
    element(group, "text", "Så läser du hjulet", x=x, y=f"{y:.1f}", font_size=18, font_weight=700, fill=INK)
    y += 14
    key_entries = [(in_year_text, False, False)]
    if off_year_text:
        key_entries.append((off_year_text, True, False))
    if tentative:
        key_entries.append(("Preliminärt (prel.): sammanträdena är inte beslutade", False, True))
    for text, other_year, hatched in key_entries:
        entry = element(group, "g", class_="legend-key")
        _swatch(entry, x, y, NEUTRAL_COLOUR, other_year=other_year, hatched=hatched)
        element(entry, "text", text, x=x + 46, y=f"{y + 14:.1f}", font_size=15, fill=INK)
        y += 28
    if today is not None:
        entry = element(group, "g", class_="legend-key")
        element(
            entry, "line", x1=x, y1=f"{y + 9:.1f}", x2=x + 34, y2=f"{y + 9:.1f}", stroke=TODAY_COLOUR, stroke_width=2.5
        )
        element(entry, "text", f"I dag, {long_date(today)}", x=x + 46, y=f"{y + 14:.1f}", font_size=15, fill=INK)
        y += 28
    y += 8
    for line in NOTES:
        element(group, "text", line, x=x, y=f"{y + 12:.1f}", font_size=13.5, fill=MUTED)
        y += 20


def _swatch(parent: ET.Element, x: float, y: float, colour: str, *, other_year: bool, hatched: bool = False) -> None:
    """A piece of arc as the legend shows it: fill, outline and the deadline edge."""
    rect = element(parent, "rect", x=x, y=f"{y:.1f}", width=34, height=18, rx=3)
    for name, value in arc_paint(colour, other_year=other_year).items():
        rect.set(name, value)
    if hatched:
        element(parent, "rect", x=x, y=f"{y:.1f}", width=34, height=18, rx=3, fill=f"url(#{TENTATIVE_PATTERN})")
    element(parent, "rect", x=x + 31, y=f"{y:.1f}", width=3.5, height=18, fill=deadline_colour(colour))


def _ring_icon(parent: ET.Element, cx: float, cy: float, index: int, count: int) -> None:
    """A small wheel with ring `index` (0 = outermost) dark and the others pale."""
    outer, hub = 13.0, 4.0
    thickness = (outer - hub) / max(count, 1)
    for position in range(count):
        radius = outer - (position + 0.5) * thickness
        element(
            parent,
            "circle",
            cx=f"{cx:.1f}",
            cy=f"{cy:.1f}",
            r=f"{radius:.2f}",
            fill="none",
            stroke="#2f4858" if position == index else "#d3d9df",
            stroke_width=f"{thickness - 0.5:.2f}",
        )
