"""Which calendar events a mail carries: the recipient's own event of each step the mail
is about, by the rules of `arshjul.views.person_calendar`."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from arshjul.views.ics import Deadline
from arshjul.views.person_calendar import decision_event, follow_up_event, owner_event
from models import notices as n
from models.tables import OutboxMessage, StepInstance

# Mails about the step itself that need no calendar change.
_NO_EVENT = {n.DIGEST, n.NEW_LINK}


def _description(step: StepInstance, url: str | None) -> str:
    lines = [f"{step.name} · {step.unit_name}", f"Deadline {step.due.isoformat()}"]
    if url:
        lines.append(url)
    return "\n".join(lines)


def events_for(
    row: OutboxMessage, step: StepInstance | None, *, url: str | None, today: dt.date, owner_name: str
) -> list[Deadline]:
    """The recipient's event for the step of `row`, as it stands now."""
    if step is None or row.kind in _NO_EVENT:
        return []
    person = row.recipient_key
    if row.kind == n.AWAITING_DECISION:
        return [decision_event(step, person, description=_description(step, url), url=url)]
    if row.kind == n.ESCALATION:
        context = row.context or {}
        return [
            follow_up_event(
                step,
                person,
                day=today,
                owner_name=owner_name,
                stage=int(context.get("after") or 0),
                description=_description(step, url),
                url=url,
            )
        ]
    event = owner_event(step, person, description=_description(step, url), url=url)
    if row.kind == n.HANDED_OVER:
        # The step is someone else's now: it leaves this person's calendar.
        event = replace(event, cancelled=True, reminders=())
    return [event]
