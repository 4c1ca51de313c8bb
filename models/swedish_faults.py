"""Swedish wording for configuration faults and bad input: a relay that refuses this
installation's configuration, and the limits on what people may type."""

from __future__ import annotations

import datetime as dt

# The longest text a person may type into a free-text field: a comment, a reason, a
# document reference. Enough for a page of prose; a 100 kB paste is refused.
COMMENT_MAX_CHARS = 4000
REASON_MAX_CHARS = 1000
REFERENCE_MAX_CHARS = 300


def too_long(field: str, length: int, limit: int) -> str:
    """`field` in its definite form: a neuter one ends in -t ("skälet", "diarienumret"),
    and the adjective agrees ("för långt"); a common one in -n ("för lång")."""
    adjective = "långt" if field.endswith("t") else "lång"
    return f"{field} är för {adjective} ({length} tecken): högst {limit} tecken"


def smtp_where(host: str, port: int, user: str | None) -> str:
    who = f" som {user}" if user else ""
    return f"{host}:{port}{who}"


def login_refused(where: str, reply: str) -> str:
    return (
        f"E-postservern {where} nekar inloggningen ({reply}). Kontrollera ARSHJUL_SMTP_USER och "
        "ARSHJUL_SMTP_PASSWORD. Inga meddelanden skickas förrän det är rättat; de väntar i utkorgen "
        "och inga försök räknas mot dem."
    )


def sender_refused(where: str, sender: str, reply: str) -> str:
    return (
        f"E-postservern {where} tar inte emot avsändaradressen {sender} ({reply}). Kontrollera "
        "ARSHJUL_MAIL_FROM (och att kontot får skicka som den adressen). Inga meddelanden skickas förrän "
        "det är rättat; de väntar i utkorgen och inga försök räknas mot dem."
    )


def tls_failed(where: str, reason: str) -> str:
    return (
        f"TLS mot e-postservern {where} misslyckades ({reason}). Kontrollera ARSHJUL_SMTP_TLS, "
        "ARSHJUL_SMTP_SSL och ARSHJUL_SMTP_PORT (STARTTLS brukar vara port 587, SSL port 465). "
        "Inga meddelanden skickas förrän det är rättat; de väntar i utkorgen."
    )


def starttls_missing(where: str) -> str:
    return (
        f"E-postservern {where} erbjuder inte det som krävs (STARTTLS eller inloggning). Kontrollera "
        "ARSHJUL_SMTP_TLS, ARSHJUL_SMTP_USER och ARSHJUL_SMTP_PORT. Inga meddelanden skickas förrän det är "
        "rättat; de väntar i utkorgen."
    )


def server_refuses(where: str, reply: str) -> str:
    return (
        f"E-postservern {where} vägrar ta emot oss ({reply}). Kontrollera ARSHJUL_SMTP_HOST och att relät "
        "släpper in den här servern. Inga meddelanden skickas förrän det är rättat; de väntar i utkorgen."
    )


def fault_standing(message: str, since: dt.datetime, retry_at: dt.datetime) -> str:
    return (
        f"{message} (sedan {since:%Y-%m-%d %H:%M} UTC; nästa automatiska försök tidigast "
        f"{retry_at:%Y-%m-%d %H:%M} UTC, eller nu med `arshjul mail send`)"
    )
