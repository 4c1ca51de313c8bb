"""The wheel as SVG elements: month sectors and names, rings and their arcs, the hub
and today's mark, each arc with a tooltip. Everything is placed by the layout already;
this module decides only how it looks."""

from __future__ import annotations

import datetime as dt
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from arshjul.views.wheel.geometry import (
    circle_arc_path,
    date_angle,
    day_end_angle,
    polar,
    reads_upside_down,
    sector_path,
    text_width,
)
from arshjul.views.wheel.layout import Arc, Ring, arc_tooltip, label_centres
from arshjul.views.wheel.paint import (
    INK,
    MONTH_BAND_COLOURS,
    MUTED,
    SECTOR_COLOURS,
    TODAY_COLOUR,
    arc_paint,
    deadline_colour,
)
from models.swedish import MONTHS, long_date

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
XLINK_NAMESPACE = "http://www.w3.org/1999/xlink"
XLINK_HREF = f"{{{XLINK_NAMESPACE}}}href"
ET.register_namespace("xlink", XLINK_NAMESPACE)  # the conventional prefix instead of "ns0"
FONT_FAMILY = "system-ui, sans-serif"

# In SVG user units (pixels at 100 %).
HUB_RADIUS = 170.0  # also the size the hub's text is designed for
MIN_HUB_TEXT_SCALE = 0.68
MARGIN = 48.0
TITLE_FONT = 34.0

SWEDISH_MONTHS = [name.capitalize() for name in MONTHS]


MILESTONE_COLOUR = "#444444"  # near-black: 9.7:1 on white
TENTATIVE_PATTERN = "tentative-hatch"


def element(parent: ET.Element, tag: str, text: str | None = None, **attributes: Any) -> ET.Element:
    """A child element. Attribute names use '_' for '-' (font_size → font-size, class_ →
    class); attributes given as None are left out."""
    names_and_values = {
        key.rstrip("_").replace("_", "-"): str(value) for key, value in attributes.items() if value is not None
    }
    child = ET.SubElement(parent, tag, names_and_values)
    if text is not None:
        child.text = text
    return child


def text_on_path(parent: ET.Element, path_id: str, text: str, **attributes: Any) -> ET.Element:
    """Text centred along the path `path_id` (defined in <defs>)."""
    node = element(parent, "text", **attributes)
    on_path = element(node, "textPath", text, href=f"#{path_id}", startOffset="50%", text_anchor="middle")
    on_path.set(XLINK_HREF, f"#{path_id}")  # for viewers that predate SVG 2
    return node


def line(
    parent: ET.Element,
    start: tuple[float, float],
    end: tuple[float, float],
    *,
    class_: str | None = None,
    **attributes: Any,
) -> ET.Element:
    """A straight line between two points, at the precision of every path on the wheel."""
    (x1, y1), (x2, y2) = start, end
    return element(
        parent, "line", class_=class_, x1=f"{x1:.2f}", y1=f"{y1:.2f}", x2=f"{x2:.2f}", y2=f"{y2:.2f}", **attributes
    )


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

    def __init__(self, geometry: WheelGeometry, width: float, height: float, title: str) -> None:
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
        element(self.svg, "title", title)
        element(self.svg, "rect", x=0, y=0, width=f"{width:.0f}", height=f"{height:.0f}", fill="#ffffff")
        self.defs = element(self.svg, "defs")
        self.path_count = 0
        # Tentative arcs are hatched over their process colour.
        hatch = element(
            self.defs,
            "pattern",
            id=TENTATIVE_PATTERN,
            width=8,
            height=8,
            patternUnits="userSpaceOnUse",
            patternTransform="rotate(45)",
        )
        element(hatch, "rect", x=0, y=0, width=3, height=8, fill="#1f2933", fill_opacity=0.28)

    def resize(self, width: float, height: float, *, screen_width: float | None = None) -> None:
        """Set the sheet's size; `screen_width` makes the document as wide as a screen
        (the drawing scaled to it) instead of its natural size."""
        self.svg.set("viewBox", f"0 0 {width:.0f} {height:.0f}")
        shown = screen_width if screen_width is not None else width
        self.svg.set("width", f"{shown:.0f}")
        self.svg.set("height", f"{height * shown / width:.0f}")
        background = self.svg.find("rect")
        assert background is not None
        background.set("width", f"{width:.0f}")
        background.set("height", f"{height:.0f}")

    def text_path(self, radius: float, start: float, end: float) -> str:
        """Define an invisible arc for text between two angles, upright either way; return its id."""
        self.path_count += 1
        path_id = f"textarc-{self.path_count}"
        reverse = reads_upside_down((start + end) / 2)
        element(self.defs, "path", id=path_id, d=circle_arc_path(self.cx, self.cy, radius, start, end, reverse=reverse))
        return path_id

    def baseline(self, radius: float, middle: float, font_size: float) -> float:
        """The radius to write on so text is centred on `radius` (glyphs point outwards on
        the top half and inwards on the bottom half)."""
        shift = font_size * 0.35
        return radius + shift if reads_upside_down(middle) else radius - shift

    def point(self, radius: float, angle: float) -> tuple[float, float]:
        return polar(self.cx, self.cy, radius, angle)

    def header(self, title: str, subtitle: str | None, explanations: list[str], scale: float) -> None:
        transform = f"translate({MARGIN:.1f} {MARGIN:.1f}) scale({scale:.3f})"
        group = element(self.svg, "g", class_="header", transform=transform)
        element(
            group, "text", title, class_="title", x=0, y=TITLE_FONT, font_size=TITLE_FONT, font_weight=700, fill=INK
        )
        lines = ([subtitle] if subtitle else []) + explanations
        for index, text in enumerate(lines):
            bold = subtitle is not None and index == 0
            element(
                group,
                "text",
                text,
                class_="subtitle" if bold else "explanation",
                x=0,
                y=TITLE_FONT + 30 + 26 * index,
                font_size=20 if bold else 15,
                font_weight=600 if bold else None,
                fill=INK if bold else MUTED,
            )

    def months(self, year: int) -> None:
        inner = self.geometry.hub
        band, font_size = self.geometry.month_band, self.geometry.month_font
        band_outer = self.rim + band
        for month in range(1, 13):
            start, end = 30.0 * (month - 1), 30.0 * month
            group = element(self.svg, "g", class_="month", data_month=month)
            element(
                group,
                "path",
                class_="month-sector",
                d=sector_path(self.cx, self.cy, inner, self.rim, start, end),
                fill=SECTOR_COLOURS[month % 2],
            )
            element(
                group,
                "path",
                d=sector_path(self.cx, self.cy, self.rim, band_outer, start, end),
                fill=MONTH_BAND_COLOURS[month % 2],
            )
            radius = self.baseline(self.rim + band / 2, start + 15, font_size)
            path_id = self.text_path(radius, start + 1, end - 1)
            text_on_path(
                group,
                path_id,
                SWEDISH_MONTHS[month - 1],
                class_="month-name",
                font_size=f"{font_size:.1f}",
                font_weight=600,
                fill="#ffffff",
                letter_spacing=0.5,
            )
        # Ticks at the 10th and the 20th of each month help to read a date off the wall.
        ticks = element(self.svg, "g", class_="ticks", stroke="#ffffff", stroke_opacity=0.55, stroke_width=1.2)
        for month in range(1, 13):
            for day in (10, 20):
                angle = date_angle(dt.date(year, month, day))
                line(ticks, self.point(self.rim, angle), self.point(self.rim + band * 0.15, angle))
        dividers = element(self.svg, "g", class_="month-dividers", stroke="#c9d0d8", stroke_width=1)
        for month in range(12):
            line(dividers, self.point(inner, 30.0 * month), self.point(band_outer, 30.0 * month))

    def hub(self, year: int | str, step_count: int) -> None:
        # The hub's text scales as one piece with the hub, but no smaller than a small
        # hub's (the screen overview's can be small) so that it stays legible.
        scale = max(self.geometry.hub / HUB_RADIUS, MIN_HUB_TEXT_SCALE)
        group = element(self.svg, "g", class_="hub")
        element(
            group, "circle", cx=f"{self.cx:.2f}", cy=f"{self.cy:.2f}", r=f"{self.geometry.hub - 10:.2f}", fill="#2f4858"
        )
        group = element(group, "g", transform=f"translate({self.cx:.2f} {self.cy:.2f}) scale({scale:.3f})")
        # Bold digits are wider than the estimate; a period is longer than a year.
        room = 1.6 * (self.geometry.hub - 10) / scale
        year_font = min(52.0, room / max(1.1 * text_width(str(year), 1.0), 0.1))
        element(
            group,
            "text",
            str(year),
            x=0,
            y=16,
            font_size=f"{year_font:.1f}",
            font_weight=700,
            fill="#ffffff",
            text_anchor="middle",
        )
        element(group, "text", "Planår", x=0, y=-38, font_size=17, fill="#dbe4ea", text_anchor="middle")
        summary = f"{step_count} steg" if step_count else "Inga steg"
        element(group, "text", summary, x=0, y=50, font_size=17, fill="#dbe4ea", text_anchor="middle")

    def ring(self, ring: Ring, colours: dict[str, tuple[str, str]]) -> None:
        group = element(self.svg, "g", class_="ring", data_level=ring.level, data_name=ring.name)
        element(
            group,
            "circle",
            cx=f"{self.cx:.2f}",
            cy=f"{self.cy:.2f}",
            r=f"{ring.inner - 0.5:.2f}",
            fill="none",
            stroke="#c9d0d8",
            stroke_width=1,
        )
        name_font = ring.style.ring_name_font
        name_radius = ring.outer + ring.style.ring_gap / 2
        for middle in (0.0, 180.0):  # in the gap above the ring, so no arc is in the way
            # Bold capitals, spaced out: wider than the estimate of ordinary text.
            name_width = text_width(ring.name.upper(), name_font) * 1.1 + 1.2 * len(ring.name)
            width = math.degrees((name_width + 40) / name_radius)
            radius = self.baseline(name_radius, middle, name_font)
            path_id = self.text_path(radius, middle - width / 2, middle + width / 2)
            text_on_path(
                group,
                path_id,
                ring.name.upper(),
                class_="ring-name",
                font_size=f"{name_font:g}",
                font_weight=600,
                fill=MUTED,
                letter_spacing=1.2,
            )
        for arc in sorted(ring.arcs, key=lambda arc: (arc.track, arc.start)):
            self.arc(group, ring, arc, colours[arc.process][1])

    def arc(self, parent: ET.Element, ring: Ring, arc: Arc, colour: str) -> None:
        track_width, font = ring.style.track_width, ring.style.label_font
        inner = ring.inner + arc.track * track_width + 2
        outer = inner + track_width - 4
        group = element(
            parent,
            "g",
            class_="step" + (" other-year" if arc.off_year else "") + (" tentative" if arc.tentative else ""),
            data_step=arc.first.step,
            data_process=arc.process,
            data_level=arc.level,
            data_count=arc.shown_count,
            data_opens=arc.opens.isoformat(),
            data_due=arc.due.isoformat(),
            data_start=f"{arc.start % 360:.3f}",
            data_end=f"{arc.end % 360:.3f}",
        )
        element(group, "title", arc_tooltip(arc))
        path = element(group, "path", class_="arc", d=sector_path(self.cx, self.cy, inner, outer, arc.start, arc.end))
        for name, value in arc_paint(colour, other_year=arc.off_year is not None).items():
            path.set(name, value)
        if arc.tentative:
            element(
                group,
                "path",
                class_="hatch",
                d=sector_path(self.cx, self.cy, inner, outer, arc.start, arc.end),
                fill=f"url(#{TENTATIVE_PATTERN})",
            )
        # Deadlines, the dates that matter most, are solid edges.
        for deadline in arc.deadlines:
            angle = arc.end if deadline == arc.due else day_end_angle(deadline)
            line(
                group,
                self.point(inner, angle),
                self.point(outer, angle),
                class_="deadline",
                stroke=deadline_colour(colour),
                stroke_width=3.5 if deadline == arc.due else 2,
                stroke_linecap="butt",
            )
        # The text path is longer than the text, which is centred on it: the estimate of
        # the text's width must not cut it off.
        half_label = min(arc.label_degrees * 0.75, 179.0)
        for centre in label_centres(arc) if arc.label else []:
            radius = self.baseline((inner + outer) / 2, centre, font)
            path_id = self.text_path(radius, centre - half_label, centre + half_label)
            text_on_path(group, path_id, arc.label, class_="label", font_size=f"{font:g}", fill=INK)

    def today(self, today: dt.date) -> None:
        inner = self.geometry.hub - 10
        angle = (date_angle(today) + day_end_angle(today)) / 2
        group = element(self.svg, "g", class_="today", data_date=today.isoformat(), data_angle=f"{angle:.3f}")
        element(group, "title", f"I dag: {long_date(today)}")
        outer = self.rim + self.geometry.month_band + 6
        x2, y2 = self.point(outer, angle)
        line(group, self.point(inner, angle), (x2, y2), stroke=TODAY_COLOUR, stroke_width=2.5, stroke_linecap="round")
        element(group, "circle", cx=f"{x2:.2f}", cy=f"{y2:.2f}", r=5, fill=TODAY_COLOUR)
        text = f"I dag {long_date(today)}"
        font_size = max(15.0, self.geometry.month_font * 0.7)  # as prominent as the months allow
        label_radius = outer + font_size
        width = math.degrees(2 * text_width(text, font_size) / label_radius)  # generous: the text is centred
        path_id = self.text_path(self.baseline(label_radius, angle, font_size), angle - width / 2, angle + width / 2)
        text_on_path(group, path_id, text, font_size=f"{font_size:.1f}", font_weight=700, fill=TODAY_COLOUR)

    def milestone(self, day: dt.date, name: str, *, inner: float | None = None, outer: float | None = None) -> None:
        """An external calendar's milestone: a dashed spoke across the rings (or between
        `inner` and `outer`: one ring's), a diamond at its outer end, its name in the tooltip."""
        inner = self.geometry.hub if inner is None else inner
        outer = self.rim if outer is None else outer
        angle = (date_angle(day) + day_end_angle(day)) / 2
        group = element(self.svg, "g", class_="milestone", data_date=day.isoformat())
        element(group, "title", f"Milstolpe: {name}, {long_date(day)}")
        line(
            group,
            self.point(inner, angle),
            self.point(outer, angle),
            stroke=MILESTONE_COLOUR,
            stroke_width=1.5,
            stroke_dasharray="6 4",
        )
        x, y = self.point(outer + 4, angle)
        size = 7
        points = f"{x:.1f},{y - size:.1f} {x + size:.1f},{y:.1f} {x:.1f},{y + size:.1f} {x - size:.1f},{y:.1f}"
        element(group, "polygon", points=points, fill=MILESTONE_COLOUR)

    def document(self) -> str:
        ET.indent(self.svg, space="  ")
        return ET.tostring(self.svg, encoding="unicode", xml_declaration=True) + "\n"
