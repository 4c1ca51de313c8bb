"""Standalone documents people file or read in a meeting — the follow-up report, the
auditors' history: Swedish HTML with its own styles (screen and A4 print), and the same
document as PDF, typeset by WeasyPrint from that HTML. Pure: context in, text or bytes
out; the templates are in `arshjul/views/templates/`, extending `document.html`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
        percent=swedish_followup.percent,
        signed=swedish_followup.signed,
        number=swedish_followup.number,
    )
    environment.globals.update(count=swedish.count)
    return environment


ENVIRONMENT = _environment()


def render_document(template: str, **context: Any) -> str:
    """The HTML of one document (a template extending `document.html`)."""
    return ENVIRONMENT.get_template(template).render(**context)


def html_to_pdf(html: str) -> bytes:
    """The same document as PDF. Everything it shows is inside the HTML (styles, inline
    SVG charts), so nothing is fetched while it is typeset."""
    from weasyprint import HTML  # imported here: it loads Pango, which only PDFs need

    return HTML(string=html, base_url=str(TEMPLATES_DIR)).write_pdf()
