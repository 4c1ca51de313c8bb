"""Step operations on both backends: the rules, the audit and the outbox, in one transaction."""

import datetime as dt
import re

import pytest
from sqlmodel import Session, select

from arshjul.core.database import session_scope
from models.audit import verify_chain
from models.cycles import store_cycle
from models.plan_changes import move_deadline
from models.states import Action
from models.steps import StaleInput, StepActionError, open_step, perform, reject_input
from models.tables import AuditEntry, OutboxMessage, StepInstance, StepState
from tests.conftest import step_context, step_id

UTC = dt.UTC

MONDAY_MORNING = dt.datetime(2026, 11, 2, 9, 30, tzinfo=UTC)  # 10:30 in Stockholm, a working day


def act(engine, definition, key, action, email, **kwargs):
    with session_scope(engine) as session:
        return perform(
            step_id(engine, key),
            action,
            actor_email=email,
            session=session,
            ctx=step_context(session, definition),
            now=MONDAY_MORNING,
            source="cli",
            **kwargs,
        )


def open_(engine, definition, key):
    with session_scope(engine) as session:
        return open_step(
            step_id(engine, key), session=session, ctx=step_context(session, definition), now=MONDAY_MORNING
        )


def outbox(engine, *, folded: bool = False):
    """The mails to send (or, with `folded`, the notices kept for a daily digest)."""
    with Session(engine) as session:
        return [
            (m.kind, m.recipient_key, m.on_behalf_of)
            for m in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))
            if (m.state == "folded") == folded
        ]


def audit_actions(engine):
    with Session(engine) as session:
        return [(e.action, e.actor, e.actor_role) for e in session.exec(select(AuditEntry).order_by(AuditEntry.id))]


def test_open_then_submit_then_approve(cycle, small_definition):
    assert open_(cycle, small_definition, "regionplan:region") is True
    assert open_(cycle, small_definition, "regionplan:region") is False  # already open
    step = act(
        cycle, small_definition, "regionplan:region", Action.submit, "Erik.Ekonom@example.se", comment="Klar för RF"
    )
    assert step.state == StepState.submitted and step.submitted_by == "erik.ekonom"
    step = act(
        cycle,
        small_definition,
        "regionplan:region",
        Action.approve,
        "sigrid.sekreterare@example.se",
        diarienummer="RF/12/2026",
    )
    assert step.state == StepState.approved and step.decided_by_person == "sigrid.sekreterare"
    assert audit_actions(cycle)[1:] == [
        ("step.opened", "system", None),
        ("step.submitted", "erik.ekonom", "ägare"),
        ("step.approved", "sigrid.sekreterare", "beslutsfattare"),
    ]
    assert outbox(cycle) == [
        ("opened", "erik.ekonom", None),
        ("awaiting_decision", "sigrid.sekreterare", None),
        ("decided", "erik.ekonom", None),
    ]
    with Session(cycle) as session:
        assert verify_chain(session=session)[1] == []


@pytest.mark.parametrize(
    "action, email, kwargs, message",
    [
        (Action.submit, "nobody@example.se", {}, "okänd e-postadress 'nobody@example.se'"),
        (Action.submit, "otto.b@example.se", {}, "Otto Berg får inte lämna in detta steg: det gör ägaren Erik Ekonom"),
        (
            Action.approve,
            "erik.ekonom@example.se",
            {},
            re.escape(
                "Erik Ekonom äger steget och får därför inte besluta om det: det gör beslutsfattaren Sigrid Sekreterare"
            ),
        ),
        (
            Action.approve,
            "sigrid.sekreterare@example.se",
            {"diarienummer": "RF/1/2026"},
            "beslut kan inte fattas innan steget har lämnats in",
        ),
        (Action.send_back, "sigrid.sekreterare@example.se", {}, "en återremiss behöver en kommentar"),
        (Action.submit, "erik.ekonom@example.se", {"diarienummer": "12/2026"}, "ogiltigt diarienummer '12/2026'"),
        (
            Action.submit,
            "erik.ekonom@example.se",
            {"comment": "x" * 100_000},
            re.escape("kommentaren är för lång (100000 tecken): högst 4000 tecken"),
        ),
        (Action.submit, "e" * 100_000 + "@example.se", {}, "e-postadressen är för lång"),
        (Action.submit, "erik.ekonom@example.se", {"document_reference": "Platina " * 100}, "högst 300 tecken"),
    ],
)
def test_refused_actions_write_nothing(cycle, small_definition, action, email, kwargs, message):
    open_(cycle, small_definition, "regionplan:region")
    before = (audit_actions(cycle), outbox(cycle))
    with pytest.raises(StepActionError, match=message):
        act(cycle, small_definition, "regionplan:region", action, email, **kwargs)
    assert (audit_actions(cycle), outbox(cycle)) == before
    with Session(cycle) as session:
        assert session.get(StepInstance, step_id(cycle, "regionplan:region")).state == StepState.open


def test_body_decision_needs_a_diarienummer(cycle, small_definition):
    open_(cycle, small_definition, "regionplan:region")
    act(cycle, small_definition, "regionplan:region", Action.submit, "erik.ekonom@example.se")
    with pytest.raises(StepActionError, match="diarienummer"):
        act(cycle, small_definition, "regionplan:region", Action.approve, "sigrid.sekreterare@example.se")


def test_return_and_resubmit(cycle, small_definition):
    key = "omrade_verksamhetsplan:omr_a"
    for dependency in ("regionplan:region", "rs_verksamhetsplan:rs"):
        open_(cycle, small_definition, dependency)
    act(cycle, small_definition, "regionplan:region", Action.submit, "erik.ekonom@example.se")
    act(
        cycle,
        small_definition,
        "regionplan:region",
        Action.approve,
        "sigrid.sekreterare@example.se",
        diarienummer="RF/1/2026",
    )
    act(cycle, small_definition, "rs_verksamhetsplan:rs", Action.submit, "frida.forvaltning@example.se")
    act(
        cycle,
        small_definition,
        "rs_verksamhetsplan:rs",
        Action.approve,
        "sigrid.sekreterare@example.se",
        diarienummer="RS/7/2026",
    )
    open_(cycle, small_definition, key)
    act(cycle, small_definition, key, Action.submit, "olle.a@example.se")
    step = act(
        cycle,
        small_definition,
        key,
        Action.send_back,
        "frida.forvaltning@example.se",
        comment="Koppla målen till RS plan",
    )
    assert step.state == StepState.returned and step.last_comment == "Koppla målen till RS plan"
    step = act(cycle, small_definition, key, Action.submit, "olle.a@example.se")
    assert step.state == StepState.submitted
    assert ("returned", "olle.a", None) in outbox(cycle)


def test_dependencies_hold_back_the_submission(cycle, small_definition):
    key = "omrade_verksamhetsplan:omr_a"
    assert open_(cycle, small_definition, key)  # the owner can start working …
    with pytest.raises(StepActionError, match="kan inte lämnas in förrän .* Regionstyrelsens verksamhetsplan"):
        act(cycle, small_definition, key, Action.submit, "olle.a@example.se")  # … but not submit


def test_standin_acts_for_the_owner(cycle, small_definition):
    key = "tertialrapport_omrade:omr_a"
    open_(cycle, small_definition, key)
    step = act(cycle, small_definition, key, Action.submit, "otto.b@example.se")  # Olle's stand-in
    assert step.submitted_by == "otto.b"
    assert audit_actions(cycle)[-1] == ("step.submitted", "otto.b", "ersättare för Olle Andersson")


def test_step_without_decider_is_done_when_submitted(cycle, small_definition):
    key = "tertialrapport_omrade:omr_b"
    open_(cycle, small_definition, key)
    act(cycle, small_definition, key, Action.submit, "otto.b@example.se")
    with pytest.raises(StepActionError, match="ingen beslutsinstans"):
        act(cycle, small_definition, key, Action.approve, "frida.forvaltning@example.se")


def test_stale_round_is_detected(cycle, small_definition):
    key = "tertialrapport_omrade:omr_a"
    open_(cycle, small_definition, key)
    act(cycle, small_definition, key, Action.submit, "olle.a@example.se", expected_round=0)
    with pytest.raises(StaleInput):
        act(cycle, small_definition, key, Action.submit, "olle.a@example.se", expected_round=0)


def test_rejected_input_is_audited_and_moves_the_round(cycle, small_definition):
    key = "tertialrapport_omrade:omr_a"
    open_(cycle, small_definition, key)
    with session_scope(cycle) as session:
        reject_input(
            step_id(cycle, key),
            reason="fel person",
            actor_email="x@example.se",
            session=session,
            now=MONDAY_MORNING,
            source="ui",
            flow_run_id=None,
            expected_round=0,
        )
    with Session(cycle) as session:
        assert session.get(StepInstance, step_id(cycle, key)).input_round == 1
    assert audit_actions(cycle)[-1] == ("step.input_rejected", "x@example.se", None)


def test_absent_owner_is_covered_by_the_standin(engine, small_definition):
    summer = dt.datetime(2027, 7, 12, 9, 0, tzinfo=UTC)  # Eva Ek is away 5 July – 6 August 2027
    with session_scope(engine) as session:
        store_cycle(small_definition, 2027, session=session, now=summer)
    with session_scope(engine) as session:
        open_step(
            step_id(engine, "enhet_verksamhetsplan:enh_a1"),
            session=session,
            ctx=step_context(session, small_definition),
            now=summer,
        )
    # Emil Björk stands in for her, but reads a daily digest: the single mail is folded.
    assert outbox(engine) == [] and outbox(engine, folded=True) == [("opened", "emil.b1", "eva.a1")]
    with session_scope(engine) as session:
        open_step(
            step_id(engine, "tertialrapport_omrade:omr_a"),
            session=session,
            ctx=step_context(session, small_definition),
            now=summer,
        )
    assert outbox(engine) == [("opened", "olle.a", None)]


def test_notices_outside_working_hours_wait_for_the_next_working_morning(cycle, small_definition):
    friday_evening = dt.datetime(2027, 3, 25, 18, 30, tzinfo=UTC)  # Maundy Thursday 19:30; then Easter
    with session_scope(cycle) as session:
        open_step(
            step_id(cycle, "tertialrapport_omrade:omr_a"),
            session=session,
            ctx=step_context(session, small_definition),
            now=friday_evening,
        )
    with Session(cycle) as session:
        message = session.exec(select(OutboxMessage)).one()
    assert message.next_attempt_at == dt.datetime(2027, 3, 30, 6, 0, tzinfo=UTC)  # Tuesday 08:00 CEST


def test_move_deadline_for_a_group(cycle, small_definition):
    keys = ["enhet_verksamhetsplan:enh_a1", "enhet_verksamhetsplan:enh_b1"]
    for key in keys:
        open_(cycle, small_definition, key)
    with session_scope(cycle) as session:
        moved = move_deadline(
            [step_id(cycle, key) for key in keys],
            shift=3,
            reason="Regionstyrelsens beslut försenat",
            actor_email="rut.direktor@example.se",
            org=small_definition.organisation,
            session=session,
            ctx=step_context(session, small_definition),
            now=MONDAY_MORNING,
        )
    assert [step.due for step in moved] == [dt.date(2026, 12, 30)] * 2  # 23 Dec + 28, 29, 30
    assert moved[0].sequence == 1 and moved[0].nominal_due is None
    # Reminders keep their distance in working days (5 and 1 before the deadline).
    assert moved[0].reminders == ["2026-12-21", "2026-12-29"]
    assert [e["on"] for e in moved[0].escalation] == ["2027-01-04", "2027-01-07"]
    assert [a for a in audit_actions(cycle) if a[0] == "step.deadline_moved"] == [
        ("step.deadline_moved", "rut.direktor", "regiondirektor")
    ] * 2
    assert ("deadline_moved", "eva.a1", None) in outbox(cycle)
    # Emil reads a daily digest, but a moved deadline always comes as its own mail.
    assert ("deadline_moved", "emil.b1", None) in outbox(cycle)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"new_due": dt.date(2026, 12, 24)},
            "ingen arbetsdag \\(Julafton\\); närmaste arbetsdagar är 2026-12-23 och 2026-12-28",
        ),
        ({"new_due": dt.date(2026, 9, 1), "reason": ""}, "ange ett skäl"),
        ({"new_due": dt.date(2026, 9, 1)}, "ligger före öppningen 2026-10-01"),
        ({}, "ange antingen ett nytt datum eller ett antal arbetsdagar"),
        ({"shift": 10**12}, "för långt: en deadline flyttas högst 250 arbetsdagar"),
        ({"shift": -251}, "för långt"),
        ({"new_due": dt.date(2030, 1, 2)}, "orimligt långt fram: senast 2028-12-31"),
        ({"shift": 5, "reason": "x" * 100_000}, "skälet är för långt"),
    ],
)
def test_move_deadline_refusals(cycle, small_definition, kwargs, message):
    arguments = {"reason": "test"} | kwargs
    with session_scope(cycle) as session:
        with pytest.raises(StepActionError, match=message):
            move_deadline(
                [step_id(cycle, "enhet_verksamhetsplan:enh_a1")],
                actor_email="rut.direktor@example.se",
                org=small_definition.organisation,
                session=session,
                ctx=step_context(session, small_definition),
                now=MONDAY_MORNING,
                **arguments,
            )


def test_the_fields_stored_as_planned_are_fields_of_both():
    """A step instance copies these from its planned step by name; a rename on one side
    would otherwise store nothing, or draw the wheel without it."""
    import dataclasses

    from models.planned import STORED_AS_PLANNED, PlannedStep
    from models.tables import StepInstance

    planned = {f.name for f in dataclasses.fields(PlannedStep)}
    assert set(STORED_AS_PLANNED) <= planned
    assert set(STORED_AS_PLANNED) <= set(StepInstance.model_fields)
    # Everything else a planned step has is stored in another form (or is the cycle's).
    assert planned - set(STORED_AS_PLANNED) == {
        "year", "depends_on", "reminders", "escalation", "description", "reference", "tentative",
    }  # fmt: skip
