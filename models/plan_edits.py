"""Changes to the people and the steps of a running cycle: cancelling a step, moving it
to another person, handing every open and future step of one person to another (a new
manager, an acting one — "tf."). Each checked against the organisation's `change_plan`
roles, audited with the role actually held, and told to the people concerned, all in
the caller's transaction."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, delete, select

from models import notices as n
from models.organisation import Organisation
from models.people import Member
from models.plan_authority import acting_person, require_plan_role
from models.states import step_is_done
from models.steps import Context, StepActionError, audit_change, locked, snapshot
from models.tables import Cycle, OutboxMessage, OutboxState, StepInstance, StepState

MAX_REASON = 2000


def _reason(reason: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise StepActionError("ange ett skäl (--reason): ändringen granskas i efterhand")
    if len(text) > MAX_REASON:
        raise StepActionError(f"skälet är för långt ({len(text)} tecken; högst {MAX_REASON})")
    return text


def _person(ctx: Context, who: str) -> Member:
    member = ctx.directory.by_email(who or "") or ctx.directory.members.get(who or "")
    if member is None:
        raise StepActionError(f"okänd person '{who}' (ange nyckel eller e-postadress i organisationen)")
    return member


def _tell(kind: str, stage: str, principal: str | None, step: StepInstance, ctx: Context, now, context, session):
    notices = n.addressed(
        kind,
        stage,
        principal,
        directory=ctx.directory,
        day=ctx.calendar.local_date(now),
        send_at=n.delivery_time(now, ctx.calendar),
        instance_id=step.id,
        cycle_id=step.cycle_id,
        context=context,
    )
    n.enqueue(notices, session=session, directory=ctx.directory, now=now, mail_domain=ctx.mail_domain, mode=ctx.mode)


def cancel_step(
    instance_id: int,
    *,
    reason: str,
    actor_email: str,
    org: Organisation,
    session: Session,
    ctx: Context,
    now: dt.datetime,
    source: str = "cli",
    origin: dict | None = None,
) -> StepInstance:
    """End a step that is no longer needed. Its run completes as cancelled, its owner is
    told (with a cancelling .ics), and steps that needed it no longer wait for it."""
    text = _reason(reason)
    person = acting_person(ctx.directory, actor_email)
    step = locked(instance_id, session=session)
    role = require_plan_role(org, person, [step.unit], "ställa in steg")
    if step_is_done(step):
        state = "inställt" if StepState(step.state) is StepState.cancelled else "redan klart"
        raise StepActionError(f"'{step.name}' för {step.unit_name} är {state} och kan inte ställas in")
    before = snapshot(step)
    step.state = StepState.cancelled
    step.state_version += 1
    step.input_round += 1  # a form still open in Prefect answers a question no longer asked
    step.sequence += 1  # the calendar's CANCEL must carry a higher SEQUENCE
    step.last_comment = text
    step.updated_at = now
    session.add(step)
    audit_change(
        step,
        "step.cancelled",
        session=session,
        now=now,
        actor=person.key,
        actor_role=role,
        source=source,
        before=before,
        comment=text,
        origin=origin,
    )
    _tell(n.CANCELLED, str(step.sequence), step.owner, step, ctx, now, {"reason": text, "by": person.key}, session)
    session.flush()
    return step


def _hand_over(
    step: StepInstance,
    new: Member,
    *,
    person: Member,
    role: str,
    reason: str,
    action: str,
    ctx: Context,
    session: Session,
    now: dt.datetime,
    source: str,
    origin: dict | None,
) -> list[str]:
    """Give one step's owner (and any decider or escalation stage) of `old` to `new`."""
    old = step.owner
    before = snapshot(step) | {"owner": step.owner, "decider": step.decider}
    changed = []
    if step.owner == old and old != new.key:
        step.owner = new.key
        changed.append("owner")
    step.sequence += 1
    step.state_version += 1  # links made for the old owner stop working
    step.input_round += 1  # the Prefect form asks again, addressed to the new owner
    step.updated_at = now
    session.add(step)
    audit_change(
        step,
        action,
        session=session,
        now=now,
        actor=person.key,
        actor_role=role,
        source=source,
        before=before,
        after=snapshot(step) | {"owner": step.owner, "decider": step.decider},
        comment=reason,
        origin=origin,
    )
    stage = str(step.sequence)
    context = {"reason": reason, "by": person.key, "from": old, "to": new.key}
    _tell(n.REASSIGNED, stage, new.key, step, ctx, now, context, session)
    if old and old != new.key:
        _tell(n.HANDED_OVER, stage, old, step, ctx, now, context, session)
    return changed


def reassign_step(
    instance_id: int,
    new_owner: str,
    *,
    reason: str,
    actor_email: str,
    org: Organisation,
    session: Session,
    ctx: Context,
    now: dt.datetime,
    source: str = "cli",
    origin: dict | None = None,
) -> StepInstance:
    """Move one step to another person: the new owner gets the step (and its .ics), the
    old one is told it left them."""
    text = _reason(reason)
    person = acting_person(ctx.directory, actor_email)
    new = _person(ctx, new_owner)
    step = locked(instance_id, session=session)
    role = require_plan_role(org, person, [step.unit], "flytta steg till en annan person")
    if step_is_done(step):
        raise StepActionError(f"'{step.name}' för {step.unit_name} är redan klart och kan inte flyttas")
    if step.owner == new.key:
        raise StepActionError(f"{new.name} äger redan '{step.name}' för {step.unit_name}")
    if step.decider == new.key:
        raise StepActionError(f"{new.name} beslutar '{step.name}' och kan inte också äga steget")
    old = step.owner
    _hand_over(
        step,
        new,
        person=person,
        role=role,
        reason=text,
        action="step.reassigned",
        ctx=ctx,
        session=session,
        now=now,
        source=source,
        origin=origin,
    )
    _drop_pending_mail({stored(step)}, old, session)
    session.flush()
    return step


def stored(step: StepInstance) -> int:
    assert step.id is not None  # read from the database
    return step.id


def _drop_pending_mail(instance_ids: set[int], old: str | None, session: Session) -> None:
    """Mail not yet sent to the old person about steps that are no longer theirs (a
    reminder due tomorrow) is withdrawn: from now on such mail goes to the new owner."""
    if old is None or not instance_ids:
        return
    handed = {n.HANDED_OVER}
    session.exec(
        delete(OutboxMessage).where(
            col(OutboxMessage.instance_id).in_(instance_ids),
            col(OutboxMessage.recipient_key) == old,
            col(OutboxMessage.state) == OutboxState.pending.value,
            col(OutboxMessage.kind).not_in(handed),
        )
    )


def replace_person(
    old_key: str,
    new_key: str,
    *,
    start: dt.date,
    reason: str,
    actor_email: str,
    org: Organisation,
    session: Session,
    ctx: Context,
    now: dt.datetime,
    source: str = "cli",
    origin: dict | None = None,
) -> list[StepInstance]:
    """Hand every open and future step of `old` (those not done whose deadline is on or
    after `start`) to `new`: as owner, as the person who records a decision, and on
    every escalation stage. Each step is audited and both people are told."""
    text = _reason(reason)
    person = acting_person(ctx.directory, actor_email)
    old, new = _person(ctx, old_key), _person(ctx, new_key)
    if old.key == new.key:
        raise StepActionError("den gamla och den nya personen är samma")
    live_cycles = select(Cycle.id).where(Cycle.organisation == org.info.key, Cycle.mode == ctx.mode)
    candidates = session.exec(
        select(StepInstance)
        .where(col(StepInstance.cycle_id).in_(live_cycles), StepInstance.due >= start)
        .order_by(col(StepInstance.due), col(StepInstance.id))
    ).all()
    mine = [
        s
        for s in candidates
        if not step_is_done(s)
        and (s.owner == old.key or s.decider == old.key or any(e.get("person") == old.key for e in s.escalation))
    ]
    if not mine:
        raise StepActionError(f"{old.name} har inga öppna eller kommande steg med deadline från {start}")
    role = require_plan_role(org, person, [s.unit for s in mine], "lämna över en persons steg")
    changed = []
    for found in mine:
        step = locked(stored(found), session=session)
        if step.owner == new.key and step.decider == old.key:
            raise StepActionError(f"{new.name} äger '{step.name}' för {step.unit_name} och kan inte också besluta det")
        if step.owner == old.key and step.decider == new.key:
            raise StepActionError(f"{new.name} beslutar '{step.name}' för {step.unit_name} och kan inte också äga det")
        if step.decider == old.key:
            step.decider = new.key
        step.escalation = [e | {"person": new.key} if e.get("person") == old.key else e for e in step.escalation]
        if step.owner == old.key:
            _hand_over(
                step,
                new,
                person=person,
                role=role,
                reason=text,
                action="step.person_replaced",
                ctx=ctx,
                session=session,
                now=now,
                source=source,
                origin=(origin or {}) | {"replaced": old.key, "by": new.key, "from": start.isoformat()},
            )
        else:
            before = snapshot(step)
            step.updated_at = now
            session.add(step)
            audit_change(
                step,
                "step.person_replaced",
                session=session,
                now=now,
                actor=person.key,
                actor_role=role,
                source=source,
                before=before | {"replaced": old.key},
                after=snapshot(step) | {"by": new.key, "decider": step.decider},
                comment=text,
                origin=origin,
            )
        changed.append(step)
    _drop_pending_mail({stored(s) for s in changed}, old.key, session)
    session.flush()
    return changed
