"""The wheel's colours: the palette for text and month sectors, each process's colour,
and the fill, outline and deadline edge derived from it for an arc and its legend
swatch."""

from __future__ import annotations

from arshjul.views.wheel.layout import Arc
from models.definition import Definition

INK = "#1f2933"
MUTED = "#5b6673"
TODAY_COLOUR = "#c8102e"
MONTH_BAND_COLOURS = ("#2f4858", "#3b5668")
SECTOR_COLOURS = ("#ffffff", "#f3f5f7")
# For processes the definition does not colour.
FALLBACK_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]


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
