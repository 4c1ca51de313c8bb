"""What a step puts in one person's calendar, the same in a mail's attachment and in the
personal calendar feed: one event per step and person, its UID stable per step, person
and role, its SEQUENCE rising with every change of the step.

- The owner gets the deadline, with the step's reminders as alarms while the step waits
  for them; once it is submitted or done the event stays, says so, and has no alarms; a
  cancelled step's event is cancelled (METHOD:CANCEL in a mail).
- The decider gets the decision: the meeting (or, without one, the deadline) while the
  submission waits for them.
- A manager who gets an escalation gets a follow-up of their own on the day of the
  escalation, never the owner's deadline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from arshjul.views.ics import Deadline, deadline_for
from models.tables import StepInstance, StepState

CANCELLED_STATE = StepState.cancelled.value


def _sequence(step: StepInstance) -> int:
    # Both only ever rise: a change of state or a moved deadline is a newer version.
    return step.state_version + step.sequence


def event_uid(step: StepInstance, person: str, role: str = "deadline") -> str:
    """Stable per step, person and role, so each update replaces that person's event."""
    return f"{role}.{person}.{step.uid}"


def owner_event(
    step: StepInstance, person: str, *, description: str, url: str | None = None, categories: tuple[str, ...] = ()
) -> Deadline:
    state = str(step.state)
    waiting = state in (StepState.planned.value, StepState.open.value, StepState.returned.value)
    deadline = deadline_for(
        uid=event_uid(step, person),
        name=step.name,
        unit_name=step.unit_name,
        due=step.due,
        description=description,
        reminders=(dt.date.fromisoformat(day) for day in step.reminders) if waiting else (),
        url=url,
        sequence=_sequence(step),
        categories=categories,
    )
    label = {
        StepState.submitted.value: "Inlämnat",
        StepState.approved.value: "Klart",
        StepState.returned.value: "Återremitterat",
        CANCELLED_STATE: "Inställt",
    }.get(state)
    if label:
        deadline = replace(deadline, summary=f"{label}: {step.name} – {step.unit_name}")
    return replace(deadline, cancelled=state == CANCELLED_STATE)


def decision_event(step: StepInstance, person: str, *, description: str, url: str | None = None) -> Deadline:
    """The decision the submission waits for: no alarms of the owner's, and done (no
    longer waiting) once decided."""
    day = step.meeting or step.due
    summary = f"Beslut: {step.name} – {step.unit_name}"
    if str(step.state) != StepState.submitted.value:
        summary = f"Beslutat: {step.name} – {step.unit_name}"
    return Deadline(
        uid=event_uid(step, person, "beslut"),
        summary=summary,
        due=day,
        description=description,
        reminders=(day,) if str(step.state) == StepState.submitted.value else (),
        url=url,
        sequence=_sequence(step),
        cancelled=str(step.state) == CANCELLED_STATE,
    )


def follow_up_event(
    step: StepInstance, person: str, *, day: dt.date, owner_name: str, stage: int, description: str, url: str | None
) -> Deadline:
    """The manager's own follow-up of an escalated step, on the day of the escalation."""
    return Deadline(
        uid=event_uid(step, person, "uppfoljning"),
        summary=f"Följ upp: {step.name} – {step.unit_name} ({owner_name})",
        due=day,
        description=description,
        url=url,
        # Each escalation stage is a newer version of the same follow-up.
        sequence=_sequence(step) + stage,
        cancelled=str(step.state) == CANCELLED_STATE,
    )
