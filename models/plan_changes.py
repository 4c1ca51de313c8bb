"""Changes the regionstab makes to the plan of a running cycle: moving deadlines, keeping
each reminder and escalation the same number of working days from the deadline. Audited,
and the owners told, in the caller's transaction."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from models import notices as n
from models import swedish_faults as words
from models.organisation import Organisation
from models.plan_authority import acting_person, require_plan_role
from models.states import step_is_done
from models.steps import Context, StepActionError, audit_change, locked, snapshot
from models.tables import StepInstance

# A deadline stays within its cycle: at most this many working days per move, and at
# most until the end of the second year after the step opened (a cycle spans three).
MAX_SHIFT_WORKING_DAYS = 250
DEADLINE_YEARS_AFTER_OPENING = 2


def move_deadline(
    instance_ids: list[int],
    *,
    new_due: dt.date | None = None,
    shift: int | None = None,
    reason: str,
    actor_email: str,
    org: Organisation,
    session: Session,
    ctx: Context,
    now: dt.datetime,
    source: str = "cli",
    origin: dict | None = None,
) -> list[StepInstance]:
    """Move the deadline of one or more steps (to a date, or by a number of working days),
    keeping each reminder and escalation the same number of working days from it. Only
    the holder of a `change_plan` role for each step's unit may (models.plan_authority)."""
    if (new_due is None) == (shift is None):
        raise StepActionError("ange antingen ett nytt datum eller ett antal arbetsdagar att flytta")
    if not reason or not reason.strip():
        raise StepActionError("ange ett skäl (--reason): flytten granskas i efterhand")
    if len(reason) > words.REASON_MAX_CHARS:
        raise StepActionError(words.too_long("skälet", len(reason), words.REASON_MAX_CHARS))
    if shift is not None and abs(shift) > MAX_SHIFT_WORKING_DAYS:
        raise StepActionError(
            f"{shift} arbetsdagar är för långt: en deadline flyttas högst {MAX_SHIFT_WORKING_DAYS} arbetsdagar "
            "(ett år) åt gången"
        )
    person = acting_person(ctx.directory, actor_email)
    calendar = ctx.calendar
    if new_due is not None and not calendar.is_working_day(new_due):
        raise StepActionError(
            f"{new_due} är ingen arbetsdag ({calendar.non_working_reason(new_due)}); "
            f"närmaste arbetsdagar är {calendar.roll(new_due, 'previous')} och {calendar.roll(new_due, 'next')}"
        )
    moved = []
    steps = [locked(instance_id, session=session) for instance_id in instance_ids]
    for step in steps:
        if step_is_done(step):
            raise StepActionError(f"'{step.name}' för {step.unit_name} är redan klart; deadline kan inte flyttas")
        due = new_due if new_due is not None else calendar.add_working_days(step.due, shift or 0)
        latest = dt.date(step.opens.year + DEADLINE_YEARS_AFTER_OPENING, 12, 31)
        if due > latest:
            raise StepActionError(
                f"ny deadline {due} för '{step.name}' ({step.unit_name}) ligger orimligt långt fram: "
                f"senast {latest} (cykelns år)"
            )
        if due < step.opens:
            raise StepActionError(
                f"ny deadline {due} för '{step.name}' ({step.unit_name}) ligger före öppningen {step.opens}"
            )
        moved.append((step, due))
    role = require_plan_role(org, person, [step.unit for step, _ in moved], "flytta deadlines")
    today = calendar.local_date(now)
    send_at = n.delivery_time(now, calendar)
    for step, due in moved:
        before = snapshot(step)
        old_due = step.due
        reminder_offsets = [calendar.working_days_after(dt.date.fromisoformat(day), old_due) for day in step.reminders]
        step.due = due
        step.nominal_due = None
        step.reminders = sorted(
            {calendar.add_working_days(due, -days).isoformat() for days in reminder_offsets if days > 0}
        )
        step.escalation = [e | {"on": calendar.add_working_days(due, e["after"]).isoformat()} for e in step.escalation]
        step.sequence += 1
        step.updated_at = now
        session.add(step)
        audit_change(
            step,
            "step.deadline_moved",
            session=session,
            now=now,
            actor=person.key,
            actor_role=role,
            source=source,
            before=before,
            comment=reason.strip(),
            origin=origin,
        )
        notices = n.addressed(
            n.DEADLINE_MOVED,
            str(step.sequence),
            step.owner,
            directory=ctx.directory,
            day=today,
            send_at=send_at,
            instance_id=step.id,
            cycle_id=step.cycle_id,
            context={"old_due": old_due.isoformat(), "reason": reason.strip(), "by": person.key},
        )
        # A deadline change matters even to daily-digest readers: it is never folded.
        n.enqueue(
            notices, session=session, directory=ctx.directory, now=now, mail_domain=ctx.mail_domain, mode=ctx.mode
        )
    session.flush()
    return [step for step, _ in moved]
