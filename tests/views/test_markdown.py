"""Typed text is shown as typed in the Prefect UI's markdown, never as markup."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from arshjul.views.markdown import inert, table_cell

HOSTILE = [
    pytest.param("![x](http://evil.example/pixel.png)", id="tracking-pixel"),
    pytest.param("[klicka](javascript:alert(1))", id="javascript-link"),
    pytest.param("<img src=x onerror=alert(1)>", id="raw-html"),
    pytest.param("**fet** _kursiv_ `kod`", id="emphasis"),
    pytest.param("# rubrik\n- lista", id="block-markup"),
    pytest.param("<https://evil.example>", id="autolink"),
]


@pytest.mark.parametrize("text", HOSTILE)
def test_inert_text_renders_without_markup(text: str) -> None:
    rendered = MarkdownIt("commonmark", {"html": True}).render(inert(text))
    for markup in ("<img", "<a ", "<strong", "<em", "<code", "<h1", "<li"):
        assert markup not in rendered


def test_table_cell_stays_on_one_line_and_cannot_end_the_cell() -> None:
    cell = table_cell("a | b\nc")
    assert "\n" not in cell
    assert "\\|" in cell
