"""The command-line parser's error messages in Swedish (see arshjul/cli/usage_errors.py).

The parser words its errors in English from a handful of fixed patterns; each is
matched here and worded again. A message no pattern knows keeps its English text behind
a Swedish lead, so nothing is ever hidden."""

from __future__ import annotations

import re

_VALUES = [
    (r"Input should be a valid integer.*", "inget heltal"),
    (r"Input should be a valid number.*", "inget tal"),
    (r"Input should be a valid boolean.*", "varken ja eller nej (true/false)"),
    (r"Input should be a valid (?:date|datetime).*", "inget datum (skriv ÅÅÅÅ-MM-DD)"),
    (r"Input should be (?P<c>.*)", "ska vara {c}"),
    (r"'(?P<v>.*)' is not a valid integer\.?", "'{v}' är inget heltal"),
    (r"'(?P<v>.*)' is not a valid float\.?", "'{v}' är inget tal"),
    (r"'(?P<v>.*)' is not a valid boolean\.?", "'{v}' är varken ja eller nej (true/false)"),
    (r"'(?P<v>.*)' is not one of (?P<c>.*)\.", "'{v}' är inget av {c}"),
    (r"'(?P<v>.*)' is not (?P<c>'[^']*')\.", "'{v}' är inte {c}"),
    (r"(?P<v>.*) is not in the range (?P<c>.*)\.", "{v} ligger inte i intervallet {c}"),
    (r"(?:File|Directory|Path) '(?P<v>.*)' does not exist\.", "'{v}' finns inte"),
    (r"(?:File|Directory|Path) '(?P<v>.*)' is a directory\.", "'{v}' är en mapp"),
    (r"(?:File|Directory|Path) '(?P<v>.*)' is a file\.", "'{v}' är en fil"),
    (r"'(?P<v>.*)' does not match the formats? (?P<c>.*)\.", "'{v}' följer inte formatet {c}"),
]

_MESSAGES = [
    (r"No such option: (?P<v>\S+)(?: \(Possible options: (?P<c>.*)\))?", "okänd flagga {v}{maybe}"),
    (r"No such command '(?P<v>.*)'\.", "okänt kommando '{v}'"),
    (r"Missing command\.", "kommando saknas"),
    (r"Missing argument '?(?P<v>[^'.]*)'?\.?.*", "argumentet {v} saknas"),
    (r"Missing option '?(?P<v>[^'.]*)'?\.?.*", "flaggan {v} krävs"),
    (r"Missing parameter:? ?'?(?P<v>[^'.]*)'?\.?.*", "värdet {v} saknas"),
    (r"Option '(?P<v>[^']*)' requires (?:an argument|(?P<c>\d+) arguments)\.", "flaggan {v} behöver ett värde"),
    (r"Option '(?P<v>[^']*)' does not take a value\.", "flaggan {v} tar inget värde"),
    (r"Got unexpected extra argument(?:s|\(s\))? \((?P<v>.*)\)", "oväntat argument: {v}"),
    (r"Invalid value for (?P<p>.*?): (?P<m>.*)", None),
    (r"Invalid value: (?P<m>.*)", None),
]


def _value_message(message: str) -> str:
    for pattern, swedish in _VALUES:
        match = re.fullmatch(pattern, message.strip(), re.DOTALL)
        if match:
            return swedish.format(**match.groupdict())
    return message


def swedish_usage_error(message: str) -> str:
    """The parser's English error message, in Swedish."""
    text = message.strip()
    for pattern, swedish in _MESSAGES:
        match = re.fullmatch(pattern, text, re.DOTALL)
        if not match:
            continue
        found = match.groupdict()
        if swedish is None:
            where = f" för {found['p']}" if found.get("p") else ""
            return f"ogiltigt värde{where}: {_value_message(found['m'])}"
        maybe = f" (menade du {found['c'].replace(', ', ' eller ')}?)" if found.get("c") else ""
        return swedish.format(v=found.get("v") or "", c=found.get("c") or "", maybe=maybe)
    return f"felaktigt kommando ({text})"
