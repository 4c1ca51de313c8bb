"""Swedish as the application writes it: month and weekday names, dates in running text,
period labels, plurals, list joining, and the wording of validation errors.

One place, so a mail, a CLI message, the wheel and a validation error say a date or an
error the same way. No locale is used: the server's locale must not change a text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

WEEKDAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
MONTHS = (
    "januari", "februari", "mars", "april", "maj", "juni",
    "juli", "augusti", "september", "oktober", "november", "december",
)  # fmt: skip
SHORT_MONTHS = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")


# -- dates ----------------------------------------------------------------------------------


def weekday(day: dt.date) -> str:
    return WEEKDAYS[day.weekday()]


def month_name(month: int) -> str:
    """1 → 'januari'."""
    return MONTHS[month - 1]


def swedish_date(day: dt.date) -> str:
    """'onsdag 23 december 2026' — the form for running text."""
    return f"{weekday(day)} {long_date(day)}"


def long_date(day: dt.date) -> str:
    """'23 december 2026'."""
    return f"{day.day} {month_name(day.month)} {day.year}"


def day_month(day: dt.date, today: dt.date | None = None) -> str:
    """'23 december', with the year only when it is not the current one (or unknown)."""
    text = f"{day.day} {month_name(day.month)}"
    return text if today is not None and today.year == day.year else f"{text} {day.year}"


def relative_day(day: dt.date, today: dt.date | None) -> str | None:
    """'i dag', 'i morgon' or 'i går' when the day is that close to `today`, else None."""
    if today is None:
        return None
    return {0: "i dag", 1: "i morgon", -1: "i går"}.get((day - today).days)


def period_label(period: str) -> str:
    """A recurring step's period: '2027-02' → 'februari 2027'; '2027-02-16' → '16 februari 2027'."""
    parts = [int(part) for part in period.split("-")]
    if len(parts) == 2:
        return f"{month_name(parts[1])} {parts[0]}"
    return f"{parts[2]} {month_name(parts[1])} {parts[0]}"


def short_period(period: str) -> str:
    """The same, short and without the year: '2027-02' → 'feb'; '2027-02-16' → '16 feb'."""
    parts = [int(part) for part in period.split("-")]
    if len(parts) == 2:
        return SHORT_MONTHS[parts[1] - 1]
    return f"{parts[2]} {SHORT_MONTHS[parts[1] - 1]}"


# -- words ----------------------------------------------------------------------------------


def count(n: int, singular: str, plural: str) -> str:
    """'1 arbetsdag', '3 arbetsdagar'."""
    return f"{n} {singular if n == 1 else plural}"


def working_days(n: int) -> str:
    return count(n, "arbetsdag", "arbetsdagar")


def join_list(items: Iterable[str]) -> str:
    """'A', 'A och B', 'A, B och C'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " och " + items[-1]


def genitive(name: str) -> str:
    """Swedish genitive: 'Eva Eks', but 'Lars' and 'Max' stay as they are."""
    return name if name[-1:].lower() in ("s", "x", "z") else f"{name}s"


def upper_first(text: str) -> str:
    """'Öppet, försenat'. Unlike str.capitalize, leaves the rest alone ('RS' stays)."""
    return text[:1].upper() + text[1:]


# -- validation errors ----------------------------------------------------------------------


def describe_error(error: Mapping[str, Any], *, show_value: bool = True) -> str:
    """A pydantic validation error in Swedish: what is wrong with the value and, with
    `show_value`, what was given (a YAML file's reader needs it; a setting's message
    names the value already)."""
    kind = str(error["type"])
    value = error.get("input")
    shown = repr(value) if not isinstance(value, (dict, list)) else "värdet"
    ctx = error.get("ctx") or {}
    got = f", fick {shown}" if show_value else ""
    if kind == "missing":
        return "saknas (obligatoriskt fält)"
    if kind == "extra_forbidden":
        return "okänt fält"
    if kind.startswith("date") or kind.startswith("time"):
        what = "datum" if kind.startswith("date") else "klockslag"
        return f"ogiltigt {what} {shown} (skriv ÅÅÅÅ-MM-DD respektive TT:MM)"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        if "@" in pattern:
            return f"ogiltig e-postadress {shown}"
        if "#" in pattern:
            return f"ogiltig färg {shown} (skriv #RRGGBB)"
        return f"ogiltig nyckel {shown}: använd gemener a–z, siffror, _ . -"
    if kind == "literal_error":
        return f"ogiltigt värde {shown}; tillåtna: {ctx.get('expected', '')}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"måste vara ett heltal{got}"
    if kind == "finite_number":
        return f"måste vara ett ändligt tal (inte nan eller inf){got}"
    if kind in ("float_type", "float_parsing"):
        return f"måste vara ett tal{got}"
    if kind in ("bool_type", "bool_parsing"):
        return f"måste vara true eller false{got}"
    if kind == "string_type":
        return f"måste vara en text{got}"
    if kind == "list_type":
        return "måste vara en lista"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "måste vara en mappning (nyckel: värde)"
    if kind in ("too_short", "string_too_short"):
        return "får inte vara tom"
    if kind in ("too_long", "string_too_long"):
        return "är för lång"
    if kind == "greater_than":
        return f"måste vara större än {ctx.get('gt')}{got}"
    if kind == "greater_than_equal":
        return f"måste vara minst {ctx.get('ge')}{got}"
    if kind in ("less_than_equal", "less_than"):
        return f"får vara högst {ctx.get('le', ctx.get('lt'))}{got}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"])).removeprefix("Value error, ")
    return str(error["msg"])


def describe_setting_error(error: Mapping[str, Any], *, prefix: str) -> str:
    """'ARSHJUL_MAIL_CONNECTIONS = '0': måste vara minst 1' — a bad setting, named as it
    is written in the environment."""
    name = "_".join(str(part) for part in error["loc"]).upper()
    message = describe_error(error, show_value=False)
    return f"{prefix}{name} = {error['input']!r}: {message}" if name else message
