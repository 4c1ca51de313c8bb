"""Swedish e-mails about the årshjul: facts in, (subject, plain text, HTML) out.

Rendering is pure: no database, no clock, no I/O beyond reading the packaged templates.
Whoever builds a `MessageFacts` has already decided who gets what and when (see
`models.notices`); this module only words it. Sending, the .ics attachment and the
outbox live elsewhere.

The wording lives in `notifications/templates/`: one HTML and one plain-text template per
kind, both extending a shared base layout. Python keeps what is logic rather than
language: validation, the subject line, sorting the digest, and the small Swedish date
and plural helpers the templates use as filters.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from models.swedish import (
    count,
    day_month,
    genitive,
    join_list,
    relative_day,
    swedish_date,
    upper_first,
    weekday,
    working_days,
)
from models.swedish_mail import first_name

TEMPLATES_DIR = Path(__file__).parent / "templates"

KINDS = (
    "opened",
    "awaiting_decision",
    "reminder",
    "due_today",
    "overdue",
    "escalation",
    "returned",
    "decided",
    "deadline_moved",
    "digest",
    "new_link",
    "checkpoint",
    "combined",
    "cancelled",
    "early_warning",
    "reassigned",
    "handed_over",
)


@dataclass(frozen=True)
class StepFacts:
    """One step instance as a person should see it in a mail."""

    name: str
    unit_name: str
    owner_name: str
    owner_title: str | None
    due: dt.date
    opens: dt.date
    decided_by_name: str | None  # the body or role that decides
    decider_name: str | None  # the person who records the decision
    meeting: dt.date | None
    state_label: str  # Swedish, e.g. "öppet", "återremitterat, försenat"
    url: str | None  # the step's run in the Prefect UI
    description: str | None
    last_comment: str | None
    diarienummer: str | None
    waiting_for: tuple[str, ...] = ()  # unfinished steps this one needs before it can be submitted
    waiting_downstream: tuple[str, ...] = ()  # steps that wait for this one, "Name · Unit"
    decided_by_subject: str | None = None  # who decides as a sentence's subject ("Regiondirektören")


@dataclass(frozen=True)
class DueItem:
    """One step in a combined 08:00 mail: a reminder, a deadline today or an overdue step."""

    kind: str  # reminder, due_today, overdue
    step: StepFacts
    working_days_left: int | None = None
    working_days_late: int | None = None


@dataclass(frozen=True)
class NewsItem:
    """Something that happened to one of the person's steps since their last digest."""

    kind: str  # one of models.notices.NEWS_KINDS
    step: StepFacts


@dataclass(frozen=True)
class MessageFacts:
    """Everything one mail says. Which optional fields matter depends on `kind`."""

    kind: str
    recipient_name: str
    organisation_name: str
    step: StepFacts | None  # None for the digest
    on_behalf_of_name: str | None = None  # the absent person the recipient stands in for
    working_days_left: int | None = None  # reminder
    working_days_late: int | None = None  # overdue, escalation
    acted_by_name: str | None = None  # who submitted, decided, returned or moved
    comment: str | None = None  # return comment, decision or submission comment
    old_due: dt.date | None = None  # deadline_moved
    reason: str | None = None  # deadline_moved
    escalation_owner_name: str | None = None  # escalation: whose step it is
    previous_owner_name: str | None = None  # reassigned: whose step it was
    digest_daily: bool = False
    digest_open: tuple[StepFacts, ...] = ()
    digest_coming: tuple[StepFacts, ...] = ()
    digest_to_decide: tuple[StepFacts, ...] = ()
    digest_news: tuple[NewsItem, ...] = ()  # since the last digest
    has_digest: bool = False  # combined: the mail carries the day's digest
    due_items: tuple[DueItem, ...] = ()  # combined: most urgent first
    today: dt.date | None = None  # the date the message is about ("i dag", week number)
    ui_url: str | None = None  # base URL of the Prefect UI (mails without signed links)
    mine_url: str | None = None  # the recipient's signed "Mina steg" link
    checkpoint: dict | None = None  # checkpoint: the signed head of the audit log
    period_name: str | None = None  # early_warning: the follow-up period
    warnings: tuple[dict, ...] = ()  # early_warning: name, level, reason, status, comment


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str


def lines_to_html(text: str) -> Markup:
    """Escape free text people typed (comments, reasons) and keep their line breaks."""
    return Markup("<br>\n").join(escape(line) for line in text.strip().splitlines())


# -- what depends on the kind --------------------------------------------------------------

# The short label that opens the subject and the HTML badge.
LABELS = {
    "opened": "Att göra",
    "awaiting_decision": "Att besluta",
    "reminder": "Påminnelse",
    "due_today": "Deadline i dag",
    "overdue": "Försenat",
    "escalation": "Eskalering",
    "returned": "Återremitterat",
    "decided": "Godkänt",
    "deadline_moved": "Ny deadline",
    "new_link": "Ny länk",
    "checkpoint": "Kontrollpunkt",
    "cancelled": "Inställt",
    "early_warning": "Tidig varning",
    "reassigned": "Nytt ansvar",
    "handed_over": "Överlämnat",
}

# How a digest's news item is introduced.
NEWS_LABELS = {
    "opened": "Har öppnat",
    "awaiting_decision": "Väntar på ditt beslut",
    "deadline_moved": "Ny deadline",
    "overdue": "Har blivit försenat",
    "returned": "Återremitterat",
    "decided": "Godkänt",
    "cancelled": "Inställt",
}

# Badge colours (text, background): at least 7:1 contrast (WCAG AAA).
TONES = {
    "info": ("#0b3d75", "#e3eefb"),
    "warning": ("#5c4400", "#fff1c2"),
    "danger": ("#8a1c1c", "#fde4e4"),
    "success": ("#1e5631", "#e3f3e7"),
}
KIND_TONES = {
    "opened": "info",
    "awaiting_decision": "info",
    "reminder": "warning",
    "due_today": "warning",
    "overdue": "danger",
    "escalation": "danger",
    "returned": "warning",
    "decided": "success",
    "deadline_moved": "info",
    "digest": "info",
    "new_link": "info",
    "checkpoint": "info",
    "combined": "warning",
    "cancelled": "info",
    "early_warning": "danger",
    "reassigned": "warning",
    "handed_over": "info",
}

# Whom a stand-in covers for: the step's owner, unless the mail goes to a decider or a
# manager, or is a summary of everything.
STANDIN_ROLES = {
    "awaiting_decision": "decider",
    "escalation": "manager",
    "digest": "digest",
    "combined": "digest",
    "new_link": "links",
}

# Facts each kind cannot be worded without.
REQUIRED = {
    "reminder": ("working_days_left",),
    "overdue": ("working_days_late",),
    "escalation": ("working_days_late",),
    "deadline_moved": ("old_due",),
    "early_warning": ("period_name",),
}


def subject_for(message: MessageFacts) -> str:
    kind, step = message.kind, message.step
    if kind == "digest":
        subject = _digest_subject(message)
    elif kind == "combined":
        subject = _combined_subject(message)
    elif kind == "new_link" and step is None:
        subject = "Ny länk till Mina steg i årshjulet"
    elif kind == "checkpoint":
        checkpoint = message.checkpoint or {}
        when = str(checkpoint.get("at", ""))[:16].replace("T", " ")
        subject = f"Granskningsloggens kontrollpunkt {when} UTC"  # the reason is in the body
    else:
        subject = _step_subject(message)
    if message.on_behalf_of_name:
        # First, so that a stand-in sees at a glance that this is not their own step.
        subject = f"[Ersättare för {message.on_behalf_of_name}] {subject}"
    # A header is one line: a line break typed into a step or unit name must not split it.
    return " ".join(subject.split())


def _step_subject(message: MessageFacts) -> str:
    """What to do and by when, in under `SUBJECT_WIDTH` characters: the step with its
    unit when they fit, else the step's name shortened (the body has the details)."""
    kind, step, today = message.kind, message.step, message.today
    by = day_month(step.due, today)
    pattern = {
        "opened": "Lämna in {what} senast " + by,
        "awaiting_decision": "Besluta om {what} senast " + day_month(step.meeting or step.due, today),
        "reminder": "Lämna in {what} senast " + by,
        "due_today": "Lämna in {what} i dag",
        "overdue": f"Försenat: lämna in {{what}} snarast ({working_days(message.working_days_late)} sent)",
        "escalation": f"Följ upp {{what}}: {escalation_owner(message)}, {working_days(message.working_days_late)} sent",
        "returned": "Komplettera {what} senast " + by,
        "decided": "Godkänt: {what}",
        "deadline_moved": f"Ny deadline {by}: {{what}}",
        "cancelled": "Inställt: {what}",
        "reassigned": "Nytt ansvar: lämna in {what} senast " + by,
        "handed_over": "Överlämnat: {what}",
        "early_warning": "Tidig varning: {what}",
        "new_link": "Ny länk: {what}",
    }[kind]
    room = SUBJECT_WIDTH - len(pattern) + len("{what}")
    name, unit = " ".join(step.name.split()), " ".join(step.unit_name.split())
    what = f"{name} – {unit}" if len(name) + len(unit) + 3 <= room else shortened(name, max(room, 12))
    return pattern.replace("{what}", what)


def _digest_subject(message: MessageFacts) -> str:
    label = "Dagens sammanfattning" if message.digest_daily else "Veckosammanfattning"
    parts = [count(len(message.digest_open), "öppet steg", "öppna steg")]
    late = len(late_steps(message))
    if late:
        parts[0] += f" ({late} försenat)" if late == 1 else f" ({late} försenade)"
    if message.digest_to_decide:
        parts.append(f"{len(message.digest_to_decide)} att besluta")
    return f"{label}: {', '.join(parts)}"


SUBJECT_WIDTH = 70


def shortened(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 1)].rstrip() + "…"


def _combined_subject(message: MessageFacts) -> str:
    """What to do and by when: the most urgent step first, the rest counted."""
    first = message.due_items[0]
    when = {
        "overdue": f"{working_days(first.working_days_late)} sent",
        "due_today": "senast i dag",
    }.get(first.kind, f"senast {day_month(first.step.due, message.today)}")
    rest = len(message.due_items) - 1
    tail = f" + {count(rest, 'steg', 'steg')} till" if rest else ""
    prefix = "Lämna in: "
    name = shortened(first.step.name, SUBJECT_WIDTH - len(prefix) - len(when) - len(tail) - 3)
    return f"{prefix}{name} ({when}){tail}"


def escalation_owner(message: MessageFacts) -> str:
    return message.escalation_owner_name or message.step.owner_name


def late_steps(message: MessageFacts) -> tuple[StepFacts, ...]:
    if message.today is None:
        return ()
    return tuple(step for step in message.digest_open if step.due < message.today)


def by_deadline(steps) -> list[StepFacts]:
    return sorted(steps, key=lambda step: (step.due, step.name, step.unit_name))


# -- rendering --------------------------------------------------------------------------------


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a misspelt or missing fact fails loudly, never prints empty
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # packaged files: no need to look at each one's mtime on every render
    )
    environment.filters.update(
        swedish_date=swedish_date,
        weekday=weekday,
        day_month=day_month,
        working_days=working_days,
        genitive=genitive,
        join_list=join_list,
        upper_first=upper_first,
        lines_to_html=lines_to_html,
        first_name=first_name,
    )
    environment.globals.update(count=count, relative_day=relative_day)
    return environment


ENVIRONMENT = _environment()


def render(message: MessageFacts) -> RenderedMessage:
    """The subject, plain text and HTML of one message."""
    _check(message)
    subject = subject_for(message)
    context = dict(
        m=message,
        step=message.step,
        today=message.today,
        subject=subject,
        label=LABELS.get(message.kind, ""),
        tone=TONES[KIND_TONES[message.kind]],
        standin_role=STANDIN_ROLES.get(message.kind, "owner"),
        escalation_owner=escalation_owner(message) if message.kind == "escalation" else None,
        digest_open=by_deadline(message.digest_open),
        digest_to_decide=by_deadline(message.digest_to_decide),
        digest_coming=by_deadline(message.digest_coming),
        digest_late=late_steps(message),
        news_labels=NEWS_LABELS,
        week=message.today.isocalendar().week if message.today else None,
    )
    text = ENVIRONMENT.get_template(f"{message.kind}.txt").render(context)
    html = ENVIRONMENT.get_template(f"{message.kind}.html").render(context)
    return RenderedMessage(subject=subject, text=_tidy_text(text), html=html)


def _tidy_text(text: str) -> str:
    """Optional facts leave blank lines behind in the plain-text templates; squeeze them so
    the templates can stay readable instead of fighting Jinja's whitespace control."""
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n"


def _check(message: MessageFacts) -> None:
    if message.kind not in KINDS:
        raise ValueError(f"okänd meddelandetyp {message.kind!r}; giltiga: {', '.join(KINDS)}")
    if message.kind == "combined" and not message.due_items:
        raise ValueError("ett samlat mejl behöver minst ett steg")
    if message.kind not in ("digest", "new_link", "combined", "checkpoint") and message.step is None:
        raise ValueError(f"meddelandetypen {message.kind!r} handlar om ett steg: step saknas")
    for name in REQUIRED.get(message.kind, ()):
        if getattr(message, name) is None:
            raise ValueError(f"meddelandetypen {message.kind!r} behöver {name}")
    steps = [message.step] if message.step else []
    steps += [*message.digest_open, *message.digest_coming, *message.digest_to_decide]
    steps += [item.step for item in message.due_items] + [item.step for item in message.digest_news]
    for url in [step.url for step in steps] + [message.ui_url, message.mine_url]:
        # Links come from our own settings, but a wrong one must not become a
        # javascript: or file: link in someone's inbox.
        if url is not None and not url.startswith(("https://", "http://")):
            raise ValueError(f"länken {url!r} är inte en http(s)-adress")
