"""Swedish as people write it in a mail: a greeting by first name, a role as the subject
of a sentence in its definite form ("Regiondirektören har godkänt …")."""

from __future__ import annotations


def first_name(name: str) -> str:
    """The name a colleague greets you by: the first of the given names ("Eva-Lena
    Nilsson" → "Eva-Lena"). A title-only name (a role) is kept whole."""
    words = name.split()
    return words[0] if words else name


# Definite forms of the usual endings of a Swedish role noun: -are → -aren, -ör → -ören,
# -or → -orn, -e → -en, -a → -an, else + "en" (chef → chefen, strateg → strategen).
_ENDINGS = (("are", "aren"), ("ör", "ören"), ("or", "orn"), ("e", "en"), ("a", "an"))


def _definite_noun(noun: str) -> str:
    lower = noun.lower()
    for ending, definite in _ENDINGS:
        if lower.endswith(ending):
            return noun[: len(noun) - len(ending)] + definite
    return noun + "en"


def derived_definite(title: str) -> str | None:
    """The definite form of a one-word role title ("Regiondirektör" → "Regiondirektören",
    "Förvaltningschef/regionstabschef" → "Förvaltningschefen/regionstabschefen"); None
    for a title of several words, whose definite form the data must give ("Överordnad
    linjechef" → "Den överordnade linjechefen")."""
    if len(title.split()) != 1:
        return None
    return "/".join(_definite_noun(part) for part in title.split("/"))
