"""Standalone documents people file or read in a meeting — the follow-up report, the
auditors' history: Swedish HTML with its own styles (screen and A4 print), and the same
document as PDF, typeset by WeasyPrint from that HTML. Pure: context in, text or bytes
out; the templates are in `arshjul/views/templates/`, extending `document.html`."""

from __future__ import annotations

from typing import Any

from arshjul.views.templating import ENVIRONMENT, TEMPLATES_DIR

__all__ = ["ENVIRONMENT", "html_to_pdf", "render_document"]


def render_document(template: str, **context: Any) -> str:
    """The HTML of one document (a template extending `document.html`)."""
    return ENVIRONMENT.get_template(template).render(**context)


def html_to_pdf(html: str) -> bytes:
    """The same document as PDF. Everything it shows is inside the HTML (styles, inline
    SVG charts), so nothing is fetched while it is typeset."""
    from weasyprint import HTML  # imported here: it loads Pango, which only PDFs need

    return HTML(string=html, base_url=str(TEMPLATES_DIR)).write_pdf()
