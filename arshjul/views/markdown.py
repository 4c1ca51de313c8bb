"""Text people typed, made inert before it is shown in the Prefect UI.

The UI renders artifacts, form descriptions and state messages as markdown, and markdown
lets raw HTML, images and links through. Anything a person wrote (a comment, a reason,
a name from a file) goes through `inert` or `table_cell` before it is put into such
markdown, so it is shown as the characters typed and never loads or links anything.
"""

from __future__ import annotations

import html
import re

# Every character CommonMark lets a backslash escape; escaping all of them is always safe.
_MARKDOWN_PUNCTUATION = re.compile(r"([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")


def inert(text: str) -> str:
    """`text` as markdown that renders to exactly these characters, with no markup."""
    # A backslash before `<` makes it a literal character, never the start of HTML. Not
    # HTML entities: the Prefect UI shows `&lt;` as those four characters.
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def table_cell(text: str) -> str:
    """`text` for one cell of a markdown table: inert, and on one line."""
    return inert(" ".join(text.split()))


# Characters that could start markup in a renderer that treats the text as markdown or
# HTML, each replaced by a look-alike that cannot: the text reads the same either way.
_PLAIN = str.maketrans({"<": "‹", ">": "›", "[": "(", "]": ")", "`": "'", "!": "ǃ", "*": "∗"})


def plain_line(text: str, limit: int = 500) -> str:
    """`text` for a place the Prefect UI may show as plain text or as markdown (a state
    message, a log line): one line, no control characters, nothing that forms markup, at
    most `limit` characters."""
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split()).translate(_PLAIN)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def html_text(text: str) -> str:
    """`text` for a place that takes HTML rather than markdown."""
    return html.escape(text, quote=True)
