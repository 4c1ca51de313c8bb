"""The wheel's maths: where a date falls on the circle, points and SVG path strings in
polar coordinates, and how wide a label's text is. Angles are degrees clockwise from
12 o'clock. Pure: no SVG elements, no steps."""

from __future__ import annotations

import calendar
import datetime as dt
import math

MIN_ARC_DEGREES = 1.6  # a step that opens on its deadline day still shows
FULL_TURN = 359.9  # an SVG arc cannot close a full circle


# ---------------------------------------------------------------------------------------
# Angles and paths


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
        begin, finish, sweep = polar(cx, cy, radius, end), polar(cx, cy, radius, start), 0
    else:
        begin, finish, sweep = polar(cx, cy, radius, start), polar(cx, cy, radius, end), 1
    return f"M {_xy(begin)} A {radius:.2f} {radius:.2f} 0 {large} {sweep} {_xy(finish)}"


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
