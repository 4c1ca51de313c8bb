"""Changing a running cycle: who may (the organisation's change_plan roles, and the
audit records the role held and the OS user), steps added, cancelled and reassigned,
and a person's steps handed to another — each audited and told, in one transaction."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, select

from arshjul.core.database import session_scope
from models.added_steps import plan_added_step, store_added_step, template_data
from models.audit import verify_chain
from models.definition import DefinitionError
from models.plan_changes import move_deadline
from models.plan_edits import cancel_step, reassign_step, replace_person
from models.states import Action
from models.steps import StepActionError, open_step, perform
from models.tables import AuditEntry, Cycle, OutboxMessage, StepDependency, StepInstance, StepState
from tests.conftest import step_context, step_id

UTC = dt.UTC
MONDAY_MORNING = dt.datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
RUT = "rut.direktor@example.se"  # the regiondirektör: the small organisation's change_plan role
ORIGIN = {"via": "cli", "os_user": "planerare"}


def mail(engine, kind):
    with Session(engine) as session:
        return sorted(m.recipient_key for m in session.exec(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def last_audit(engine, action):
    with Session(engine) as session:
        return session.exec(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc())
        ).first()


def act(engine, definition, instance_id, action, actor_email, **more):
    """`actor_email` acts on the step from the CLI on Monday morning, in a transaction of its own."""
    with session_scope(engine) as session:
        return perform(
            instance_id,
            action,
            actor_email=actor_email,
            session=session,
            ctx=step_context(session, definition),
            now=MONDAY_MORNING,
            source="cli",
            **more,
        )


def open_(engine, definition, key):
    with session_scope(engine) as session:
        open_step(step_id(engine, key), session=session, ctx=step_context(session, definition), now=MONDAY_MORNING)


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (RUT, True),  # holds the role organisation.yaml names
        ("eva.a1@example.se", False),  # an enhetschef moving her own region's deadline
        ("frida.forvaltning@example.se", False),
    ],
    ids=["coordinator", "enhetschef", "forvaltningschef"],
)
def test_moving_a_deadline_needs_the_change_plan_role(cycle, small_definition, actor, allowed):
    with session_scope(cycle) as session:
        call = lambda: move_deadline(  # noqa: E731
            [step_id(cycle, "regionplan:region")],
            shift=1,
            reason="Underlaget kommer sent",
            actor_email=actor,
            org=small_definition.organisation,
            session=session,
            ctx=step_context(session, small_definition),
            now=MONDAY_MORNING,
            origin=ORIGIN,
        )
        if allowed:
            call()
        else:
            with pytest.raises(StepActionError, match="det kräver rollen Regiondirektör"):
                call()
    entry = last_audit(cycle, "step.deadline_moved")
    if allowed:
        # The role actually held, and the OS user who ran the command.
        assert (entry.actor, entry.actor_role, entry.origin) == ("rut.direktor", "regiondirektor", ORIGIN)
    else:
        assert entry is None


def test_cancel_ends_the_step_tells_the_owner_and_frees_its_dependents(cycle, small_definition):
    open_(cycle, small_definition, "omrade_verksamhetsplan:omr_a")
    with session_scope(cycle) as session:
        step = cancel_step(
            step_id(cycle, "omrade_verksamhetsplan:omr_a"),
            reason="Område A slås ihop med område B",
            actor_email=RUT,
            org=small_definition.organisation,
            session=session,
            ctx=step_context(session, small_definition),
            now=MONDAY_MORNING,
            origin=ORIGIN,
        )
        assert step.state == StepState.cancelled and step.sequence == 1
    entry = last_audit(cycle, "step.cancelled")
    assert (entry.actor_role, entry.comment, entry.before["state"]) == (
        "regiondirektor",
        "Område A slås ihop med område B",
        "open",
    )
    assert mail(cycle, "cancelled") == ["olle.a"]
    with Session(cycle) as session:
        from models.dependencies import unfinished_dependencies

        unit_plan = session.get(StepInstance, step_id(cycle, "enhet_verksamhetsplan:enh_a1"))
        assert [s.key for s in unfinished_dependencies(unit_plan, session=session)] == []
    with session_scope(cycle) as session, pytest.raises(StepActionError, match="inställt"):
        cancel_step(
            step_id(cycle, "omrade_verksamhetsplan:omr_a"),
            reason="igen",
            actor_email=RUT,
            org=small_definition.organisation,
            session=session,
            ctx=step_context(session, small_definition),
            now=MONDAY_MORNING,
        )


def test_cancel_without_reason_or_role_writes_nothing(cycle, small_definition):
    for actor, reason, message in ((RUT, "  ", "ange ett skäl"), ("olle.a@example.se", "x", "får inte ställa in")):
        with session_scope(cycle) as session, pytest.raises(StepActionError, match=message):
            cancel_step(
                step_id(cycle, "regionplan:region"),
                reason=reason,
                actor_email=actor,
                org=small_definition.organisation,
                session=session,
                ctx=step_context(session, small_definition),
                now=MONDAY_MORNING,
            )
    assert last_audit(cycle, "step.cancelled") is None and mail(cycle, "cancelled") == []


def test_a_reassigned_steps_later_mail_goes_to_the_new_owner(cycle, small_definition):
    key = "regionplan:region"
    open_(cycle, small_definition, key)
    with session_scope(cycle) as session:
        reassign_step(
            step_id(cycle, key),
            "frida.forvaltning@example.se",
            reason="Erik är tjänstledig",
            actor_email=RUT,
            org=small_definition.organisation,
            session=session,
            ctx=step_context(session, small_definition),
            now=MONDAY_MORNING,
            origin=ORIGIN,
        )
    assert mail(cycle, "reassigned") == ["frida.forvaltning"] and mail(cycle, "handed_over") == ["erik.ekonom"]
    assert last_audit(cycle, "step.reassigned").before["owner"] == "erik.ekonom"
    # The old owner can no longer submit; the new one can, and the decision is told to him.
    with pytest.raises(StepActionError):
        act(cycle, small_definition, step_id(cycle, key), Action.submit, "erik.ekonom@example.se")
    instance_id = step_id(cycle, key)
    act(cycle, small_definition, instance_id, Action.submit, "frida.forvaltning@example.se")
    act(
        cycle, small_definition, instance_id, Action.approve, "sigrid.sekreterare@example.se", diarienummer="RF/12/2026"
    )
    assert mail(cycle, "decided") == ["frida.forvaltning"]


def test_people_replace_leaves_nothing_with_the_old_person(cycle, small_definition):
    """Olle (områdeschef A) leaves; Otto is tf. from 2026-11-01: every open and future step
    he owned, decided or would be alerted on is Otto's."""
    open_(cycle, small_definition, "omrade_verksamhetsplan:omr_a")
    with session_scope(cycle) as session:
        changed = replace_person(
            "olle.a",
            "otto.b@example.se",
            start=dt.date(2026, 11, 1),
            reason="Olle slutar; Otto är tf. områdeschef",
            actor_email=RUT,
            org=small_definition.organisation,
            session=session,
            ctx=step_context(session, small_definition),
            now=MONDAY_MORNING,
            origin=ORIGIN,
        )
    assert changed
    with Session(cycle) as session:
        for step in session.exec(select(StepInstance)):
            holders = {step.owner, step.decider} | {e.get("person") for e in step.escalation}
            assert "olle.a" not in holders, step.key
        pending = session.exec(
            select(OutboxMessage).where(OutboxMessage.recipient_key == "olle.a", OutboxMessage.kind != "handed_over")
        ).all()
        assert [m.kind for m in pending if m.state == "pending"] == []
        assert verify_chain(session=session)[1] == []
    assert "otto.b" in mail(cycle, "reassigned")


def test_an_added_step_is_validated_like_a_template(small_definition):
    bad = template_data(
        key="extra_analys",
        name="Extra analys",
        kind="report",
        process="uppfoljning",
        units=["omr_a"],
        definition=small_definition,
        owner_role="omradeschefen",
        decided_by=None,
        opens="2027-03-01",
        due="2027-02-01",
        depends_on=["tertialrapport_omrad"],
        reminders=[],
        description=None,
        year=2027,
    )
    with pytest.raises(DefinitionError) as caught:
        plan_added_step(small_definition, 2027, bad)
    messages = [str(issue) for issue in caught.value.issues]
    assert "steps add: owner_role: okänd roll 'omradeschefen'" in messages
    assert "steps add: depends_on[0]: okänt steg 'tertialrapport_omrad'" in messages


def test_an_added_step_is_stored_with_its_dependencies_and_audited(cycle, small_definition):
    data = template_data(
        key="extra_analys",
        name="Extra analys av vårdköer",
        kind="report",
        process="uppfoljning",
        units=["omr_a", "omr_b"],
        definition=small_definition,
        owner_role="omradeschef",
        decided_by="forvaltningschef",
        opens="2027-05-17",
        due="{step: tertialrapport_omrade, offset: 10}",
        depends_on=["tertialrapport_omrade"],
        reminders=[2],
        description="Köer per område",
        year=2027,
    )
    data["due"] = {"step": "tertialrapport_omrade", "offset": 10}
    template, instances = plan_added_step(small_definition, 2027, data)
    assert [(s.key, s.opens, s.due, s.owner) for s in instances] == [
        ("extra_analys:omr_a", dt.date(2027, 5, 17), dt.date(2027, 5, 28), "olle.a"),
        ("extra_analys:omr_b", dt.date(2027, 5, 17), dt.date(2027, 5, 28), "otto.b"),
    ]  # Friday 14 May + 10 working days (pingstdagen is a Sunday; no holiday between)
    with session_scope(cycle) as session:
        cycle_row = session.exec(select(Cycle)).one()
        rows = store_added_step(
            small_definition,
            cycle_row,
            template,
            instances,
            owner=None,
            actor="rut.direktor",
            role="regiondirektor",
            reason="Regionstyrelsen vill se köerna",
            session=session,
            ctx=step_context(session, small_definition),
            now=MONDAY_MORNING,
            origin=ORIGIN,
        )
    needed = step_id(cycle, "tertialrapport_omrade:omr_a")  # before: a second session would wait for the first's lock
    with Session(cycle) as session:
        needs = session.exec(select(StepDependency).where(StepDependency.instance_id == rows[0].id)).all()
        assert [d.depends_on_id for d in needs] == [needed]
    entry = last_audit(cycle, "step.added")
    assert entry.actor_role == "regiondirektor" and entry.after["template"]["key"] == "extra_analys"


def test_people_replace_never_makes_a_steps_owner_its_decider(cycle, small_definition):
    """Erik owns the region's plan and Sigrid records its decision: handing Erik's steps to
    Sigrid would let her approve her own submission, so it is refused and nothing changes."""
    with Session(cycle) as session:
        step = session.get(StepInstance, step_id(cycle, "regionplan:region"))
        assert (step.owner, step.decider) == ("erik.ekonom", "sigrid.sekreterare")
    with session_scope(cycle) as session, pytest.raises(StepActionError, match="kan inte också"):
        replace_person(
            "erik.ekonom",
            "sigrid.sekreterare@example.se",
            start=dt.date(2026, 11, 1),
            reason="Erik slutar",
            actor_email=RUT,
            org=small_definition.organisation,
            session=session,
            ctx=step_context(session, small_definition),
            now=MONDAY_MORNING,
            origin=ORIGIN,
        )
    with Session(cycle) as session:
        step = session.get(StepInstance, step_id(cycle, "regionplan:region"))
        assert (step.owner, step.decider) == ("erik.ekonom", "sigrid.sekreterare")


def test_a_change_over_units_audits_every_role_that_allowed_it(small_definition, monkeypatch):
    """The audit records the role actually held: for a change over several units where
    the person holds a different role in each, all of them, never just the first."""
    from models import plan_authority

    org = small_definition.organisation
    person = next(iter(org.people.values()))
    held = {"omr_a": "omradeschef", "omr_b": "forvaltningschef", "fv": "forvaltningschef"}
    monkeypatch.setattr(plan_authority, "plan_role", lambda _org, _person, unit: held.get(unit))
    assert plan_authority.require_plan_role(org, person, ["omr_a"], "flytta deadlines") == "omradeschef"
    both = plan_authority.require_plan_role(org, person, ["omr_a", "omr_b", "fv", "omr_a"], "flytta deadlines")
    assert both == "omradeschef, forvaltningschef"
    many = {f"enh_{n}": f"roll_med_ett_langt_namn_{n}" for n in range(5)}
    monkeypatch.setattr(plan_authority, "plan_role", lambda _org, _person, unit: many.get(unit))
    listed = plan_authority.require_plan_role(org, person, list(many), "flytta deadlines")
    assert listed == "roll_med_ett_langt_namn_0, roll_med_ett_langt_namn_1, …"  # what the column holds
    assert len(listed) <= plan_authority.ACTOR_ROLE_LENGTH
    monkeypatch.setattr(plan_authority, "plan_role", lambda _org, _person, unit: held.get(unit))
    with pytest.raises(StepActionError, match="får inte flytta deadlines för Enhet A1"):
        plan_authority.require_plan_role(org, person, ["omr_a", "enh_a1"], "flytta deadlines")
