"""Swedish as people write it in a mail: a greeting by first name, a role as the subject
of a sentence in its definite form ("Regiondirektören har godkänt …")."""

from __future__ import annotations


def first_name(name: str) -> str:
    """The name a colleague greets you by: the first of the given names ("Eva-Lena
    Nilsson" → "Eva-Lena"). A title-only name (a role) is kept whole."""
    words = name.split()
    return words[0] if words else name


# Definite forms of the usual ending of a Swedish role noun, for a role whose data gives
# none: -or → -orn, -ör → -ören, -are → -aren, -e → -en, -a → -an, else + "en".
_ENDINGS = (("are", "aren"), ("ör", "ören"), ("or", "orn"), ("e", "en"), ("a", "an"), ("ent", "enten"))


def derived_definite(title: str) -> str:
    """The definite form of a role title ("regiondirektör" → "regiondirektören"), from
    the last word's ending; used when the organisation data gives none."""
    words = title.split()
    if not words:
        return title
    last = words[-1]
    lower = last.lower()
    for ending, definite in _ENDINGS:
        if lower.endswith(ending):
            words[-1] = last[: len(last) - len(ending)] + definite
            break
    else:
        words[-1] = last + "en"
    return " ".join(words)
