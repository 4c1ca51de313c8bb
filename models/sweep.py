"""The daily sweep's selection: which reminders, deadline notices, overdue notices,
escalations and digests are due on a working day.

Only steps waiting for their owner (open or returned) are reminded or escalated; a
submitted step waits for its decider, a done one for nobody. A day the sweep missed is
caught up the next time it runs: the newest passed reminder, the overdue notice and
every escalation stage reached go out then (the outbox keys stop repeats)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from models import notices as n
from models.queries import digest_interest
from models.states import awaits_owner
from models.steps import Context
from models.tables import Cycle, Mode, StepInstance, StepState

# How far around today a step can be for any notice: reminders reach at most 60 working
# days (about 90 calendar days) before the deadline; escalation ladders are shorter than
# 120 working days after it.
_BEFORE = dt.timedelta(days=100)
_AFTER = dt.timedelta(days=200)


@dataclass
class SweepSelection:
    notices: list[n.Notice] = field(default_factory=list)
    reminded: list[StepInstance] = field(default_factory=list)
    overdue: list[StepInstance] = field(default_factory=list)
    escalated: list[tuple[StepInstance, dict]] = field(default_factory=list)


def candidate_steps(*, session: Session, today: dt.date, mode: Mode = Mode.live) -> list[StepInstance]:
    """Steps waiting for their owner whose deadline is near enough to today for a notice
    (one indexed range query on (state, due))."""
    query = (
        select(StepInstance)
        .join(Cycle, col(Cycle.id) == StepInstance.cycle_id)
        .where(
            col(StepInstance.state).in_([StepState.open.value, StepState.returned.value]),
            StepInstance.due >= today - _AFTER,
            StepInstance.due <= today + _BEFORE,
            Cycle.mode == mode,
        )
    )
    return list(session.exec(query))


def select_due_work(steps: list[StepInstance], today: dt.date, ctx: Context) -> SweepSelection:
    """Pure: from candidate steps, the notices due today (delivered at the start of the day)."""
    selection = SweepSelection()
    calendar = ctx.calendar
    if not calendar.is_working_day(today):
        return selection
    send_at = calendar.at_start_of_day(today).in_timezone("UTC")

    def notify(kind: str, stage: str, principal: str | None, step: StepInstance, context: dict) -> list[n.Notice]:
        if principal is None:
            return []
        found = n.addressed(
            kind,
            stage,
            principal,
            directory=ctx.directory,
            day=today,
            send_at=send_at,
            instance_id=step.id,
            cycle_id=step.cycle_id,
            context=context,
        )
        selection.notices.extend(found)
        return found

    for step in steps:
        if not awaits_owner(step.state):
            continue
        if today <= step.due:
            passed = [day for day in step.reminders if dt.date.fromisoformat(day) <= today]
            if today == step.due:
                notify(n.DUE_TODAY, "due", step.owner, step, {})
            elif passed:
                left = calendar.working_days_after(today, step.due)
                if notify(n.REMINDER, passed[-1], step.owner, step, {"working_days_left": left}):
                    selection.reminded.append(step)
            continue
        late = calendar.working_days_after(step.due, today)
        selection.overdue.append(step)
        notify(n.OVERDUE, "overdue", step.owner, step, {"working_days_late": late})
        for stage in step.escalation:
            if dt.date.fromisoformat(stage["on"]) <= today and stage.get("person"):
                context = {
                    "working_days_late": late,
                    "after": stage["after"],
                    "alert": stage["alert"],
                    "owner": step.owner,
                }
                if notify(n.ESCALATION, f"after-{stage['after']}", stage["person"], step, context):
                    selection.escalated.append((step, stage))
    return selection


def digest_notices(*, session: Session, today: dt.date, ctx: Context, mode: Mode = Mode.live) -> list[n.Notice]:
    """The weekly digest (first working day of the ISO week) for everyone with open or
    coming steps, and the daily digest for those who chose it instead of single mails."""
    calendar = ctx.calendar
    if not calendar.is_working_day(today):
        return []
    monday = today - dt.timedelta(days=today.weekday())
    first_working_day_of_week = calendar.roll(monday, "next") == today
    interested = digest_interest(session=session, today=today, calendar=calendar, mode=mode)
    send_at = calendar.at_start_of_day(today).in_timezone("UTC")
    year, week, _ = today.isocalendar()
    notices = []
    for person, count in sorted(interested.items()):
        if person not in ctx.directory or ctx.directory.is_absent(person, today):
            continue
        daily = ctx.directory[person].digest == "daily"
        if daily:
            stage = f"daily-{today.isoformat()}"
        elif first_working_day_of_week:
            stage = f"weekly-{year}-W{week:02d}"
        else:
            continue
        notices.append(
            n.Notice(
                kind=n.DIGEST,
                stage=stage,
                recipient_key=person,
                send_at=send_at,
                context={"steps": count, "daily": daily, "day": today.isoformat()},
            )
        )
    return notices
