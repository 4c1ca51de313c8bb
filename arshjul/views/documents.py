"""Standalone documents people file or read in a meeting — the follow-up report, the
auditors' history: Swedish HTML with its own styles (screen and A4 print), and the same
document as PDF. Pure: context in, text or bytes out; the templates are in
`arshjul/views/templates/`, the HTML ones extending `document.html`.

Two typesetters, each where it earns its place: the follow-up report (charts as inline
SVG, the units' own Markdown) is its HTML typeset by WeasyPrint; the auditors' history
(some 80 pages of lines, which WeasyPrint breaks one by one in Python) is typeset by
Typst from a template of its own (`*.typ`) that gets the document as JSON data — so
nothing typed by a person is ever read as Typst markup."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from arshjul.views.templating import ENVIRONMENT, TEMPLATES_DIR

__all__ = ["ENVIRONMENT", "html_to_pdf", "render_document", "typeset"]

# Fonts Typst looks for, in order: the HTML documents' family, then what Typst carries itself.
TYPST_FONTS = ["DejaVu Sans", "Liberation Sans", "Libertinus Serif"]


def render_document(template: str, **context: Any) -> str:
    """The HTML of one document (a template extending `document.html`)."""
    return ENVIRONMENT.get_template(template).render(**context)


def html_to_pdf(html: str) -> bytes:
    """The same document as PDF. Everything it shows is inside the HTML (styles, inline
    SVG charts), so nothing is fetched while it is typeset."""
    from weasyprint import HTML  # imported here: it loads Pango, which only PDFs need

    return HTML(string=html, base_url=str(TEMPLATES_DIR)).write_pdf()


def typeset(template: str, document: dict[str, Any], *, created: dt.datetime) -> bytes:
    """A Typst template (`templates/<template>`) typeset as PDF. The template reads the
    document from `sys.inputs.document` (JSON) and the fonts from `sys.inputs.fonts`;
    `created` is the PDF's creation date, so the same document gives the same bytes."""
    import typst  # imported here: only PDFs need it

    inputs = {"document": orjson.dumps(document).decode("utf-8"), "fonts": orjson.dumps(TYPST_FONTS).decode()}
    pdf = typst.compile(
        str(TEMPLATES_DIR / template), root=str(TEMPLATES_DIR), sys_inputs=inputs, timestamp=int(created.timestamp())
    )
    if not isinstance(pdf, bytes):  # one document, no output path: Typst returns its bytes
        raise TypeError(f"Typst returned {type(pdf).__name__}, not the PDF's bytes")
    return pdf
