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
from models import swedish_faults as words
from models.audit import append_audit
from models.dependencies import unfinished_dependencies
from models.followup import unreported_items
from models.people import Directory
from models.permissions import decision_principal, excluded_deciders
from models.states import ACTION_INFINITIVES, Action, TransitionError, has_decider, transition
from models.tables import AuditEntry, Mode, StepInstance, StepState
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


def locked(instance_id: int, *, session: Session) -> StepInstance:
    """The row, locked for this transaction (FOR UPDATE on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serialises writers)."""
    # populate_existing: a row this session read before the lock is refreshed, not reused.
    step = session.exec(
        select(StepInstance)
        .where(StepInstance.id == instance_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if step is None:
        raise StepActionError(f"steg {instance_id} finns inte")
    return step


def snapshot(step: StepInstance) -> dict:
    return {
        "state": str(StepState(step.state).value),
        "due": step.due.isoformat(),
        "submitted_by": step.submitted_by,
        "decided_by_person": step.decided_by_person,
        "diarienummer": step.diarienummer,
        "document_reference": step.document_reference,
        "state_version": step.state_version,
    }


def audit_change(
    step: StepInstance,
    action: str,
    *,
    session: Session,
    now: dt.datetime,
    actor: str,
    source: str,
    before: dict | None,
    actor_role: str | None = None,
    after: dict | None = None,
    comment: str | None = None,
    flow_run_id: str | None = None,
    origin: dict | None = None,
) -> AuditEntry:
    """The audit entry of a change to `step`, in the caller's transaction; `after` is the
    step's snapshot as it is now unless the caller records more."""
    return append_audit(
        session=session,
        at=now,
        actor=actor,
        actor_role=actor_role,
        action=action,
        source=source,
        cycle_id=step.cycle_id,
        instance_id=step.id,
        before=before,
        after=snapshot(step) if after is None else after,
        comment=comment,
        flow_run_id=flow_run_id,
        origin=origin,
    )


def open_step(
    instance_id: int,
    *,
    session: Session,
    ctx: Context,
    now: dt.datetime,
    source: str = "system",
    flow_run_id: str | None = None,
) -> bool:
    """planned → open. Returns whether it opened now. Dependencies do not hold back the
    opening (plans at all levels are worked on in parallel, 004 §5); they hold back the
    submission."""
    step = locked(instance_id, session=session)
    if StepState(step.state) is not StepState.planned:
        return False
    before = snapshot(step)
    step.state = StepState.open
    step.state_version += 1
    step.updated_at = now
    if flow_run_id:
        step.flow_run_id = flow_run_id
    session.add(step)
    audit_change(
        step,
        "step.opened",
        session=session,
        now=now,
        actor="system",
        source=source,
        before=before,
        flow_run_id=flow_run_id,
    )
    today = ctx.calendar.local_date(now)
    notices = n.addressed(
        n.OPENED,
        "0",
        step.owner,
        directory=ctx.directory,
        day=today,
        send_at=n.delivery_time(now, ctx.calendar),
        instance_id=step.id,
        cycle_id=step.cycle_id,
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
        if person in excluded_deciders(step):
            why = "äger" if person == step.owner else "har lämnat in"
            raise StepActionError(
                f"{directory.name(person)} {why} steget och får därför inte besluta om det: det gör {who}"
                + (
                    f" eller ersättaren {directory.name(directory[principal].standin)}"
                    if principal in directory and directory[principal].standin
                    else ""
                )
                + "."
            )
    if principal is None or not directory.may_act_for(person, principal):
        standin = directory[principal].standin if principal is not None and principal in directory else None
        extra = f" eller ersättaren {directory.name(standin)}" if standin else ""
        raise StepActionError(
            f"{directory.name(person)} får inte {ACTION_INFINITIVES[action]} detta steg: det gör {who}{extra}."
        )
    return role if person == principal else f"ersättare för {directory.name(principal)}"


def check_lengths(*, actor_email: str | None = None, comment: str | None = None, reference: str | None = None) -> None:
    """Refuse text longer than a person writes (a 100 kB paste), before any message
    repeats it: the refusal names the field and the limit, never the text."""
    limits = (
        ("e-postadressen", actor_email, 254),
        ("kommentaren", comment, words.COMMENT_MAX_CHARS),
        ("diarienumret eller dokumentreferensen", reference, words.REFERENCE_MAX_CHARS),
    )
    for field, text, limit in limits:
        if text and len(text) > limit:
            raise StepActionError(words.too_long(field, len(text), limit))


def perform(
    instance_id: int,
    action: Action,
    *,
    actor_email: str,
    comment: str = "",
    diarienummer: str | None = None,
    document_reference: str | None = None,
    session: Session,
    ctx: Context,
    now: dt.datetime,
    source: str,
    flow_run_id: str | None = None,
    expected_round: int | None = None,
    expected_version: int | None = None,
    origin: dict | None = None,
) -> StepInstance:
    """Submit, approve or return a step. Raises StepActionError (Swedish) when the rules
    refuse, and StaleInput when `expected_round` (the form's question) or
    `expected_version` (a link's state) no longer matches."""
    step = locked(instance_id, session=session)
    if expected_round is not None and step.input_round != expected_round:
        raise StaleInput()
    if expected_version is not None and step.state_version != expected_version:
        raise StaleInput()
    check_lengths(actor_email=actor_email, comment=comment, reference=diarienummer or document_reference)
    person = ctx.directory.by_email(actor_email or "")
    if person is None:
        raise StepActionError(
            f"okänd e-postadress '{actor_email}': ange din adress i organisationen (t.ex. fornamn.efternamn@…)"
        )
    comment = (comment or "").strip()
    diarienummer = (diarienummer or "").strip() or None
    if action is Action.send_back and not comment:
        raise StepActionError("en återremiss behöver en kommentar som säger vad som ska göras om")
    if diarienummer and not DIARIENUMMER.match(diarienummer):
        raise StepActionError(f"ogiltigt diarienummer '{diarienummer}': skriv t.ex. RS/342/2027")
    document_reference = " ".join((document_reference or "").split())[:300] or None
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
        period, missing = unreported_items(step, session=session)
        if missing:
            names = "; ".join(name for _key, name in missing[:5]) + (" …" if len(missing) > 5 else "")
            raise StepActionError(
                f"uppföljningen {period} är inte komplett: {len(missing)} mål, uppdrag eller aktiviteter saknar "
                f"status ({names}); rapportera dem på stegets sida eller med `arshjul followup import`"
            )
    if action is Action.approve and step.decided_by_kind == "body" and not (diarienummer or step.diarienummer):
        raise StepActionError("ett beslut av ett politiskt organ behöver ett diarienummer (t.ex. RS/342/2027)")

    before = snapshot(step)
    step.state = new_state
    step.input_round += 1
    step.state_version += 1
    step.updated_at = now
    step.last_comment = comment or None
    if diarienummer:
        step.diarienummer = diarienummer
    if document_reference:
        step.document_reference = document_reference
    if action is Action.submit:
        step.submitted_at, step.submitted_by = now, person.key
    else:
        step.decided_at, step.decided_by_person = now, person.key
    if flow_run_id:
        step.flow_run_id = flow_run_id
    session.add(step)
    action_name = {Action.submit: "step.submitted", Action.approve: "step.approved", Action.send_back: "step.returned"}[
        action
    ]
    audit_change(
        step,
        action_name,
        session=session,
        now=now,
        actor=person.key,
        actor_role=role,
        source=source,
        before=before,
        comment=comment or None,
        flow_run_id=flow_run_id,
        origin=origin,
    )
    today = ctx.calendar.local_date(now)
    send_at = n.delivery_time(now, ctx.calendar)
    context = {"by": person.key, "comment": comment, "diarienummer": step.diarienummer}
    # Who hears of this action, and what they are told.
    if action is Action.submit and has_decider(step):
        told: tuple[str, str | None] | None = (n.AWAITING_DECISION, decision_principal(step, ctx.directory))
    elif action is Action.approve:
        told = (n.DECIDED, step.owner)
    elif action is Action.send_back:
        told = (n.RETURNED, step.owner)
    else:
        told = None
    notices = []
    if told is not None:
        kind, principal = told
        notices = n.addressed(
            kind,
            # One mail per change of state: keyed by the state version, not by the form's
            # round, which refused inputs and the reconciler's reschedules advance too
            # (a year with a crash healed would otherwise mail the same news under
            # another key).
            str(step.state_version),
            principal,
            directory=ctx.directory,
            day=today,
            send_at=send_at,
            instance_id=step.id,
            cycle_id=step.cycle_id,
            context=context,
        )
    n.enqueue(notices, session=session, directory=ctx.directory, now=now, mail_domain=ctx.mail_domain, mode=ctx.mode)
    session.flush()
    return step


def reject_input(
    instance_id: int,
    *,
    reason: str,
    actor_email: str,
    session: Session,
    now: dt.datetime,
    source: str,
    flow_run_id: str | None,
    expected_round: int,
    origin: dict | None = None,
) -> None:
    """Record refused input (auditors see attempts too) and move on to a new question."""
    step = locked(instance_id, session=session)
    if step.input_round != expected_round:
        raise StaleInput()
    step.input_round += 1
    session.add(step)
    audit_change(
        step,
        "step.input_rejected",
        session=session,
        now=now,
        actor=(actor_email or "okänd")[:254],
        source=source,
        before=None,
        comment=reason,
        flow_run_id=flow_run_id,
        origin=origin,
    )
    session.flush()


def advance_round(instance_id: int, *, expected_round: int, session: Session) -> None:
    """Finish a wait that needed no input (a dependency wait), so the next wait gets a new key."""
    step = locked(instance_id, session=session)
    if step.input_round == expected_round:
        step.input_round += 1
        session.add(step)
        session.flush()
