"""The web app's pages for people: Swedish, server-rendered HTML that works without
JavaScript and reads on a phone. Pure: context in, HTML out; the templates are in
`arshjul/views/templates/web/` (each extends `web/base.html`), the one style sheet in
`arshjul/views/static/`. A step's page has a section per step kind
(`web/kinds/<kind>.html`, else `web/kinds/default.html`), so a kind that needs more on
its page (a follow-up's goals, say) adds a template, not a branch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from arshjul.views.templating import ENVIRONMENT, TEMPLATES_DIR

STATIC_DIR = Path(__file__).parent / "static"

ACTION_WORDS = {
    "step.opened": "Öppnat",
    "step.submitted": "Inlämnat",
    "step.approved": "Godkänt",
    "step.returned": "Återremitterat",
    "step.input_rejected": "Försök som avvisades",
    "step.reminded": "Påminnelse skickad",
    "step.overdue": "Försenat",
    "step.escalated": "Eskalerat",
    "step.deadline_moved": "Ny deadline",
}


def render_page(template: str, **context: Any) -> str:
    """The HTML of one page (a template under `web/`)."""
    return ENVIRONMENT.get_template(f"web/{template}").render(**context)


def step_kind_template(kind: str) -> str:
    """The per-kind section of a step's page."""
    name = f"web/kinds/{kind}.html"
    return name if (TEMPLATES_DIR / name).exists() else "web/kinds/default.html"
