"""Swedish wording for the follow-up of goals: lists, shares, changes and rules."""

from __future__ import annotations

from collections.abc import Iterable

RULE_NAMES = {
    "count": "fördelning (antal och andel per status)",
    "worst": "sämsta status (den sämsta status som rapporterats under målet)",
    "threshold": "tröskel (röd när minst {red} är röda, gul när minst {yellow} är gula eller röda)",
}


def either(items: Iterable[str]) -> str:
    """'A', 'A eller B', 'A, B eller C'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " eller " + items[-1]


def percent(share: float | None) -> str:
    """0.553 → '55 %' (Swedish spacing); None → '–'."""
    if share is None:
        return "–"
    return f"{round(share * 100):d} %"


def signed(change: int) -> str:
    """+3, −2 (a true minus sign), ±0."""
    if change > 0:
        return f"+{change}"
    if change < 0:
        return f"\u2212{-change}"
    return "±0"


def rule_name(rule: str, red_share: float | None = None, yellow_share: float | None = None) -> str:
    return RULE_NAMES[rule].format(red=percent(red_share), yellow=percent(yellow_share))


def number(value: float | int | None) -> str:
    """12.5 → '12,5', 72000 → '72 000' (a thin space groups thousands)."""
    if value is None:
        return "–"
    text = f"{value:,.1f}" if isinstance(value, float) and not float(value).is_integer() else f"{int(value):,d}"
    return text.replace(",", "\u202f").replace(".", ",")
