"""The one Jinja environment for the views' templates (web pages and documents):
autoescaped HTML, Swedish filters, and a missing fact that fails loudly."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from models import swedish, swedish_followup

TEMPLATES_DIR = Path(__file__).parent / "templates"


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a missing fact fails loudly, never prints empty
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    environment.filters.update(
        swedish_date=swedish.swedish_date,
        long_date=swedish.long_date,
        day_month=swedish.day_month,
        period_label=swedish.period_label,
        working_days=swedish.working_days,
        join_list=swedish.join_list,
        upper_first=swedish.upper_first,
        weekday=swedish.weekday,
        percent=swedish_followup.percent,
        signed=swedish_followup.signed,
        number=swedish_followup.number,
    )
    environment.globals.update(count=swedish.count, relative_day=swedish.relative_day)
    return environment


ENVIRONMENT = _environment()
