"""The follow-up report's bar charts: the status distribution per level and per
målområde, as SVG drawn by matplotlib (text kept as text, so it is searchable and
printed sharp). Pure: the report's data in, SVG markup out."""

from __future__ import annotations

import io
import re
import threading
from typing import Any

COLOURS = {
    "gron": "#2e7d32",
    "gul": "#f2b705",
    "rod": "#c62828",
    "ej_matbar": "#8d99a6",
    "planerad": "#9ecae1",
    "pagaende": "#2171b5",
    "forsenad": "#c62828",
    "genomford": "#2e7d32",
    "ej_rapporterad": "#e9edf1",
}
DARK_TEXT = {"gul", "planerad", "ej_rapporterad", "ej_matbar"}
_LOCK = threading.Lock()  # pyplot's state is global; one chart at a time


def _rows_svg(title: str, rows: list[tuple[str, dict[str, int]]], labels: dict[str, str], salt: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    with (
        _LOCK,
        matplotlib.rc_context(
            {"svg.fonttype": "none", "svg.hashsalt": salt, "font.family": "DejaVu Sans", "font.size": 9}
        ),
    ):
        height = 0.9 + 0.42 * len(rows)
        figure, axes = plt.subplots(figsize=(7.2, height))
        # The scales' own order (grön before gul before röd), in every chart and legend alike.
        order = [status for status in labels if any(counts.get(status) for _name, counts in rows)]
        for index, (_name, counts) in enumerate(rows):
            total = sum(counts.values()) or 1
            left = 0.0
            for status in order:
                n = counts.get(status, 0)
                if not n:
                    continue
                width = n / total
                axes.barh(index, width, left=left, color=COLOURS[status], edgecolor="white", height=0.7)
                if width >= 0.045:
                    colour = "#1f2933" if status in DARK_TEXT else "white"
                    axes.text(left + width / 2, index, str(n), ha="center", va="center", color=colour)
                left += width
        axes.set_yticks(range(len(rows)), [name for name, _counts in rows])
        axes.invert_yaxis()
        axes.set_xlim(0, 1)
        axes.set_xticks([0, 0.25, 0.5, 0.75, 1], ["0 %", "25 %", "50 %", "75 %", "100 %"])
        for side in ("top", "right", "left"):
            axes.spines[side].set_visible(False)
        axes.tick_params(axis="y", length=0)
        axes.set_title(title, loc="left", fontsize=10, fontweight="bold")
        handles = [plt.Rectangle((0, 0), 1, 1, color=COLOURS[status]) for status in order]
        axes.legend(
            handles,
            [labels[status] for status in order],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.35 if len(rows) < 4 else -0.12),
            ncol=min(len(order), 5),
            frameon=False,
        )
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", bbox_inches="tight")
        plt.close(figure)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # inline in HTML: no XML declaration or doctype
    return re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)


def _labels(data: dict[str, Any]) -> dict[str, str]:
    return {entry["key"]: entry["label"] for scale in data["statuses"].values() for entry in scale}


def level_chart(data: dict[str, Any]) -> str:
    """One bar per level: its status distribution."""
    rows = [(f"{level['name']} ({level['total']})", level["counts"]) for level in data["levels"]]
    return _rows_svg("Status per nivå", rows, _labels(data), "levels")


def area_charts(data: dict[str, Any]) -> list[str]:
    """Per scale, one bar per målområde and level."""
    charts = []
    for scale, title in (("mal", "Uppdrag och mål per målområde"), ("aktivitet", "Aktiviteter per målområde")):
        rows = [
            (f"{area['name']} · {level['name']} ({level['total']})", level["counts"])
            for area in data["malomraden"]
            for level in area["levels"]
            if level["scale"] == scale
        ]
        if rows:
            charts.append(_rows_svg(title, rows, _labels(data), f"areas-{scale}"))
    return charts
