"""What can happen to a step instance, with its rules, its audit entry and its notices,
all in the caller's transaction. The UI form (through the step flow), the CLI and the
simulation all come through here, so the rules and the audit are the same for all.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlmodel import Session, select

from models import notices as n
from models.audit import append_audit
from models.people import Directory
from models.states import ACTION_INFINITIVES, Action, TransitionError, is_done, transition
from models.tables import STATE_NAMES, Mode, StepDependency, StepInstance, StepState
from models.workdays import WorkingCalendar

DIARIENUMMER = re.compile(r"^[A-ZÅÄÖ]{1,12}/\d{1,6}(:\d{1,4})?/\d{4}$")


class StepActionError(ValueError):
    """Input the rules refuse; the message is Swedish and says what to do instead."""


class StaleInput(Exception):
    """The input answers a question the step no longer asks (someone acted elsewhere)."""


@dataclass(frozen=True)
class Context:
    """What every step operation needs besides the session."""

    calendar: WorkingCalendar
    directory: Directory
    mail_domain: str = "arshjul.example.se"
    mode: Mode = Mode.live  # the cycle's


def has_decider(step: StepInstance) -> bool:
    return step.decided_by is not None


def step_is_done(step: StepInstance) -> bool:
    return is_done(step.state, has_decider=has_decider(step))


def locked(instance_id: int, session: Session) -> StepInstance:
    """The row, locked for this transaction (FOR UPDATE on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serialises writers)."""
    # populate_existing: a row this session read before the lock is refreshed, not reused.
    step = session.exec(select(StepInstance).where(StepInstance.id == instance_id).with_for_update().execution_options(populate_existing=True)).first()
    if step is None:
        raise StepActionError(f"steg {instance_id} finns inte")
    return step


# What a mail says about a neighbouring step, and what deciding whether a waiting step
# may go on needs: its name, whether it is done, its deadline. A step of the region's
# level can have hundreds of steps that need it: these columns, not whole rows with
# their JSON decoded, are what is read of them.
NEIGHBOUR_COLUMNS = (StepInstance.id, StepInstance.name, StepInstance.unit_name, StepInstance.due, StepInstance.state, StepInstance.decided_by)


def _linked_by_step(step_ids, session: Session, *, this, other, columns=None) -> dict[int, list]:
    found: dict[int, list] = {i: [] for i in step_ids}
    if found:
        query = select(this, *(columns or (StepInstance,))).join(StepInstance, other == StepInstance.id).where(this.in_(found))
        for row in session.exec(query):
            found[row[0]].append(row if columns else row[1])  # a row of the columns, or the whole step
    return found


def dependencies_by_step(step_ids, *, session: Session, columns=None) -> dict[int, list[StepInstance]]:
    """The steps each of `step_ids` needs, in one query however many steps there are
    (whole rows, or only `columns` of them)."""
    return _linked_by_step(step_ids, session, this=StepDependency.instance_id, other=StepDependency.depends_on_id, columns=columns)


def dependents_by_step(step_ids, *, session: Session, columns=None) -> dict[int, list[StepInstance]]:
    """The steps that need each of `step_ids`, in one query however many steps there are
    (whole rows, or only `columns` of them)."""
    return _linked_by_step(step_ids, session, this=StepDependency.depends_on_id, other=StepDependency.instance_id, columns=columns)


def unfinished(steps: list[StepInstance]) -> list[StepInstance]:
    """The steps not yet done, by deadline."""
    return sorted((step for step in steps if not step_is_done(step)), key=lambda step: (step.due, step.name))


def unfinished_dependencies(step: StepInstance, *, session: Session) -> list[StepInstance]:
    return unfinished(dependencies_by_step([step.id], session=session)[step.id])


def dependents(step: StepInstance, *, session: Session) -> list[StepInstance]:
    return sorted(dependents_by_step([step.id], session=session)[step.id], key=lambda row: (row.due, row.name))


@dataclass(frozen=True)
class Neighbours:
    """Both directions for a set of steps at once (a page of mail, a digest), each
    neighbour a row of `NEIGHBOUR_COLUMNS`."""

    needs: dict[int, list]
    needed_by: dict[int, list]

    @classmethod
    def load(cls, step_ids, *, session: Session) -> "Neighbours":
        """The neighbours' `NEIGHBOUR_COLUMNS` only."""
        step_ids = set(step_ids)
        return cls(
            needs=dependencies_by_step(step_ids, session=session, columns=NEIGHBOUR_COLUMNS),
            needed_by=dependents_by_step(step_ids, session=session, columns=NEIGHBOUR_COLUMNS),
        )

    def unfinished_dependencies(self, step: StepInstance) -> list:
        return unfinished(self.needs[step.id])

    def dependents(self, step: StepInstance) -> list:
        return sorted(self.needed_by[step.id], key=lambda row: (row.due, row.name))


def _snapshot(step: StepInstance) -> dict:
    return {
        "state": str(StepState(step.state).value),
        "due": step.due.isoformat(),
        "submitted_by": step.submitted_by,
        "decided_by_person": step.decided_by_person,
        "diarienummer": step.diarienummer,
    }


def open_step(instance_id: int, *, session: Session, ctx: Context, now: dt.datetime, source: str = "system", flow_run_id: str | None = None) -> bool:
    """planned → open. Returns whether it opened now. Dependencies do not hold back the
    opening (plans at all levels are worked on in parallel, 004 §5); they hold back the
    submission."""
    step = locked(instance_id, session)
    if StepState(step.state) is not StepState.planned:
        return False
    before = _snapshot(step)
    step.state = StepState.open
    step.updated_at = now
    if flow_run_id:
        step.flow_run_id = flow_run_id
    session.add(step)
    append_audit(
        session=session, at=now, actor="system", action="step.opened", source=source,
        cycle_id=step.cycle_id, instance_id=step.id, before=before, after=_snapshot(step), flow_run_id=flow_run_id,
    )
    today = ctx.calendar.local_date(now)
    notices = n.addressed(
        n.OPENED, "0", step.owner, directory=ctx.directory, day=today, send_at=n.delivery_time(now, ctx.calendar),
        instance_id=step.id, cycle_id=step.cycle_id,
    )
    n.enqueue(notices, session=session, directory=ctx.directory, now=now, mail_domain=ctx.mail_domain, mode=ctx.mode)
    session.flush()
    return True


def _actor_role(step: StepInstance, action: Action, person: str, directory: Directory) -> str:
    """Check that `person` may take `action` on `step`; return how they act (for the audit)."""
    if action is Action.submit:
        principal, role = step.owner, "ägare"
        who = f"ägaren {directory.name(step.owner)}"
    else:
        if step.decider is None:
            raise StepActionError("steget har ingen beslutsinstans: det är klart när det har lämnats in")
        principal, role = step.decider, "beslutsfattare"
        body = " (sekreterare för organet)" if step.decided_by_kind == "body" else ""
        who = f"beslutsfattaren {directory.name(step.decider)}{body}"
    if principal is None or not directory.may_act_for(person, principal):
        standin = directory[principal].standin if principal in directory else None
        extra = f" eller ersättaren {directory.name(standin)}" if standin else ""
        raise StepActionError(f"{directory.name(person)} får inte {ACTION_INFINITIVES[action]} detta steg: det gör {who}{extra}.")
    return role if person == principal else f"ersättare för {directory.name(principal)}"


def perform(
    instance_id: int,
    action: Action,
    *,
    actor_email: str,
    comment: str = "",
    diarienummer: str | None = None,
    session: Session,
    ctx: Context,
    now: dt.datetime,
    source: str,
    flow_run_id: str | None = None,
    expected_round: int | None = None,
) -> StepInstance:
    """Submit, approve or return a step. Raises StepActionError (Swedish) when the rules
    refuse, and StaleInput when `expected_round` no longer matches."""
    step = locked(instance_id, session)
    if expected_round is not None and step.input_round != expected_round:
        raise StaleInput()
    person = ctx.directory.by_email(actor_email or "")
    if person is None:
        raise StepActionError(f"okänd e-postadress '{actor_email}': ange din adress i organisationen (t.ex. fornamn.efternamn@…)")
    comment = (comment or "").strip()
    diarienummer = (diarienummer or "").strip() or None
    if action is Action.send_back and not comment:
        raise StepActionError("en återremiss behöver en kommentar som säger vad som ska göras om")
    if diarienummer and not DIARIENUMMER.match(diarienummer):
        raise StepActionError(f"ogiltigt diarienummer '{diarienummer}': skriv t.ex. RS/342/2027")
    role = _actor_role(step, action, person.key, ctx.directory)
    try:
        new_state = transition(step.state, action, has_decider=has_decider(step))
    except TransitionError as exc:
        raise StepActionError(str(exc)) from None
    if action is Action.submit:
        blockers = unfinished_dependencies(step, session=session)
        if blockers:
            names = "; ".join(f"{b.name} · {b.unit_name}" for b in blockers[:5])
            raise StepActionError(f"steget kan inte lämnas in förrän det som det bygger på är klart: {names}")
    if action is Action.approve and step.decided_by_kind == "body" and not (diarienummer or step.diarienummer):
        raise StepActionError("ett beslut av ett politiskt organ behöver ett diarienummer (t.ex. RS/342/2027)")

    before = _snapshot(step)
    step.state = new_state
    step.input_round += 1
    step.updated_at = now
    step.last_comment = comment or None
    if diarienummer:
        step.diarienummer = diarienummer
    if action is Action.submit:
        step.submitted_at, step.submitted_by = now, person.key
    else:
        step.decided_at, step.decided_by_person = now, person.key
    if flow_run_id:
        step.flow_run_id = flow_run_id
    session.add(step)
    action_name = {Action.submit: "step.submitted", Action.approve: "step.approved", Action.send_back: "step.returned"}[action]
    append_audit(
        session=session, at=now, actor=person.key, actor_role=role, action=action_name, source=source,
        cycle_id=step.cycle_id, instance_id=step.id, before=before, after=_snapshot(step), comment=comment or None, flow_run_id=flow_run_id,
    )
    today = ctx.calendar.local_date(now)
    send_at = n.delivery_time(now, ctx.calendar)
    context = {"by": person.key, "comment": comment, "diarienummer": step.diarienummer}
    if action is Action.submit and has_decider(step):
        notices = n.addressed(n.AWAITING_DECISION, str(step.input_round), step.decider, directory=ctx.directory, day=today, send_at=send_at, instance_id=step.id, cycle_id=step.cycle_id, context=context)
    elif action is Action.approve:
        notices = n.addressed(n.DECIDED, str(step.input_round), step.owner, directory=ctx.directory, day=today, send_at=send_at, instance_id=step.id, cycle_id=step.cycle_id, context=context)
    elif action is Action.send_back:
        notices = n.addressed(n.RETURNED, str(step.input_round), step.owner, directory=ctx.directory, day=today, send_at=send_at, instance_id=step.id, cycle_id=step.cycle_id, context=context)
    else:
        notices = []
    n.enqueue(notices, session=session, directory=ctx.directory, now=now, mail_domain=ctx.mail_domain, mode=ctx.mode)
    session.flush()
    return step


def reject_input(
    instance_id: int, *, reason: str, actor_email: str, session: Session, now: dt.datetime, source: str, flow_run_id: str | None, expected_round: int
) -> None:
    """Record refused input (auditors see attempts too) and move on to a new question."""
    step = locked(instance_id, session)
    if step.input_round != expected_round:
        raise StaleInput()
    step.input_round += 1
    session.add(step)
    append_audit(
        session=session, at=now, actor=(actor_email or "okänd")[:254], action="step.input_rejected", source=source,
        cycle_id=step.cycle_id, instance_id=step.id, comment=reason, flow_run_id=flow_run_id,
    )
    session.flush()


def advance_round(instance_id: int, *, expected_round: int, session: Session) -> None:
    """Finish a wait that needed no input (a dependency wait), so the next wait gets a new key."""
    step = locked(instance_id, session)
    if step.input_round == expected_round:
        step.input_round += 1
        session.add(step)
        session.flush()


def move_deadline(
    instance_ids: list[int],
    *,
    new_due: dt.date | None = None,
    shift: int | None = None,
    reason: str,
    actor_email: str,
    session: Session,
    ctx: Context,
    now: dt.datetime,
    source: str = "cli",
) -> list[StepInstance]:
    """Move the deadline of one or more steps (to a date, or by a number of working days),
    keeping each reminder and escalation the same number of working days from it."""
    if (new_due is None) == (shift is None):
        raise StepActionError("ange antingen ett nytt datum eller ett antal arbetsdagar att flytta")
    if not reason or not reason.strip():
        raise StepActionError("ange ett skäl (--reason): flytten granskas i efterhand")
    person = ctx.directory.by_email(actor_email or "")
    if person is None:
        raise StepActionError(f"okänd e-postadress '{actor_email}'")
    calendar = ctx.calendar
    if new_due is not None and not calendar.is_working_day(new_due):
        raise StepActionError(
            f"{new_due} är ingen arbetsdag ({calendar.non_working_reason(new_due)}); "
            f"närmaste arbetsdagar är {calendar.roll(new_due, 'previous')} och {calendar.roll(new_due, 'next')}"
        )
    moved = []
    steps = [locked(instance_id, session) for instance_id in instance_ids]
    for step in steps:
        if step_is_done(step):
            raise StepActionError(f"'{step.name}' för {step.unit_name} är redan klart; deadline kan inte flyttas")
        due = new_due if new_due is not None else calendar.add_working_days(step.due, shift)
        if due < step.opens:
            raise StepActionError(f"ny deadline {due} för '{step.name}' ({step.unit_name}) ligger före öppningen {step.opens}")
        moved.append((step, due))
    today = calendar.local_date(now)
    send_at = n.delivery_time(now, calendar)
    for step, due in moved:
        before = _snapshot(step)
        old_due = step.due
        reminder_offsets = [calendar.working_days_after(dt.date.fromisoformat(day), old_due) for day in step.reminders]
        step.due = due
        step.nominal_due = None
        step.reminders = sorted({calendar.add_working_days(due, -days).isoformat() for days in reminder_offsets if days > 0})
        step.escalation = [e | {"on": calendar.add_working_days(due, e["after"]).isoformat()} for e in step.escalation]
        step.sequence += 1
        step.updated_at = now
        session.add(step)
        append_audit(
            session=session, at=now, actor=person.key, actor_role="regionstab", action="step.deadline_moved", source=source,
            cycle_id=step.cycle_id, instance_id=step.id, before=before, after=_snapshot(step), comment=reason.strip(),
        )
        notices = n.addressed(
            n.DEADLINE_MOVED, str(step.sequence), step.owner, directory=ctx.directory, day=today, send_at=send_at,
            instance_id=step.id, cycle_id=step.cycle_id, context={"old_due": old_due.isoformat(), "reason": reason.strip(), "by": person.key},
        )
        # A deadline change matters even to daily-digest readers: it is never folded.
        n.enqueue(notices, session=session, directory=ctx.directory, now=now, mail_domain=ctx.mail_domain, mode=ctx.mode)
    session.flush()
    return [step for step, _ in moved]


def state_label(step: StepInstance, today: dt.date) -> str:
    """Swedish state for people: the state, plus 'försenat' when the deadline has passed."""
    label = STATE_NAMES[StepState(step.state)]
    if not step_is_done(step) and today > step.due and StepState(step.state) is not StepState.submitted:
        label += ", försenat"
    return label
