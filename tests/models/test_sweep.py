"""The daily sweep's selection: reminders on working days at 08:00, never after the step is
done, the overdue notice, the escalation ladder to the right manager or stand-in, digests."""

import datetime as dt

import pytest
from sqlmodel import Session, select

from arshjul.core.database import session_scope
from models import notices as n
from models.cycles import store_cycle
from models.people import load_directory
from models.states import Action
from models.steps import open_step, perform
from models.sweep import candidate_steps, digest_notices, select_due_work
from models.tables import Absence, StepInstance
from tests.conftest import step_context, step_id

UTC = dt.UTC
D = dt.date


def open_all(engine, definition, keys, now):
    with session_scope(engine) as session:
        for key in keys:
            step_id = session.exec(select(StepInstance.id).where(StepInstance.key == key)).one()
            open_step(step_id, session=session, ctx=step_context(session, definition), now=now)


def selection_on(engine, definition, day):
    with Session(engine) as session:
        context = step_context(session, definition)
        return select_due_work(candidate_steps(session=session, today=day), day, context)


UNIT_PLAN = "enhet_verksamhetsplan:enh_a1"  # Eva Ek's, due Wed 23 Dec 2026, reminders 16 and 22 Dec


@pytest.mark.parametrize(
    "day, expected",
    [
        (D(2026, 12, 15), []),  # no reminder due
        (D(2026, 12, 16), [("reminder", "2026-12-16", "eva.a1", None)]),  # 5 working days before
        (D(2026, 12, 19), []),  # a Saturday: the sweep sends nothing on a non-working day
        (D(2026, 12, 22), [("reminder", "2026-12-22", "eva.a1", None)]),
        (D(2026, 12, 23), [("due_today", "due", "eva.a1", None)]),
        (D(2026, 12, 24), []),  # julafton
        # The first working day after the deadline: overdue to the owner, and the first
        # rung of the ladder (after 1 working day) to her manager, Olle Andersson.
        (D(2026, 12, 28), [("escalation", "after-1", "olle.a", None), ("overdue", "overdue", "eva.a1", None)]),
        # Three working days late: the second rung, the förvaltningschef, joins.
        (
            D(2026, 12, 30),
            [
                ("escalation", "after-1", "olle.a", None),
                ("escalation", "after-3", "frida.forvaltning", None),
                ("overdue", "overdue", "eva.a1", None),
            ],
        ),
    ],
)
def test_reminders_overdue_and_escalation_by_day(cycle, small_definition, day, expected):
    open_all(cycle, small_definition, [UNIT_PLAN], dt.datetime(2026, 10, 1, 6, tzinfo=UTC))
    selection = selection_on(cycle, small_definition, day)
    about_unit_plan = [
        (x.kind, x.stage, x.recipient_key, x.on_behalf_of)
        for x in selection.notices
        if x.kind != n.DIGEST and x.instance_id == step_id(cycle, UNIT_PLAN)
    ]
    assert sorted(about_unit_plan) == expected


def test_no_reminder_once_submitted_or_before_opening(cycle, small_definition):
    # Not opened yet: nothing, even on its reminder day.
    assert [
        x
        for x in selection_on(cycle, small_definition, D(2026, 12, 16)).notices
        if x.instance_id == step_id(cycle, UNIT_PLAN)
    ] == []
    open_all(
        cycle,
        small_definition,
        ["regionplan:region", "rs_verksamhetsplan:rs", "omrade_verksamhetsplan:omr_a", UNIT_PLAN],
        dt.datetime(2026, 10, 1, 6, tzinfo=UTC),
    )
    chain = [
        ("regionplan:region", "erik.ekonom", "sigrid.sekreterare"),
        ("rs_verksamhetsplan:rs", "frida.forvaltning", "sigrid.sekreterare"),
        ("omrade_verksamhetsplan:omr_a", "olle.a", "frida.forvaltning"),
    ]
    ids = {key: step_id(cycle, key) for key, _, _ in chain} | {UNIT_PLAN: step_id(cycle, UNIT_PLAN)}
    with session_scope(cycle) as session:
        context = step_context(session, small_definition)
        now = dt.datetime(2026, 12, 1, 9, tzinfo=UTC)
        for key, owner, decider in chain:
            perform(
                ids[key],
                Action.submit,
                actor_email=f"{owner}@example.se",
                session=session,
                ctx=context,
                now=now,
                source="cli",
            )
            perform(
                ids[key],
                Action.approve,
                actor_email=f"{decider}@example.se",
                diarienummer="RS/1/2026",
                session=session,
                ctx=context,
                now=now,
                source="cli",
            )
        perform(
            ids[UNIT_PLAN],
            Action.submit,
            actor_email="eva.a1@example.se",
            session=session,
            ctx=context,
            now=now,
            source="cli",
        )
    for day in (D(2026, 12, 16), D(2026, 12, 23), D(2026, 12, 28), D(2027, 1, 4)):
        assert [
            x for x in selection_on(cycle, small_definition, day).notices if x.instance_id == step_id(cycle, UNIT_PLAN)
        ] == []


def test_reminders_go_out_at_eight_in_stockholm(cycle, small_definition):
    open_all(cycle, small_definition, [UNIT_PLAN], dt.datetime(2026, 10, 1, 6, tzinfo=UTC))
    selection = selection_on(cycle, small_definition, D(2026, 12, 16))
    assert {x.send_at for x in selection.notices} == {dt.datetime(2026, 12, 16, 7, 0, tzinfo=UTC)}  # 08:00 CET


def test_absent_manager_is_covered_by_the_standin(cycle, small_definition):
    open_all(cycle, small_definition, [UNIT_PLAN], dt.datetime(2026, 10, 1, 6, tzinfo=UTC))
    with session_scope(cycle) as session:
        session.add(
            Absence(
                organisation="liten-region", person_key="olle.a", start=D(2026, 12, 21), end=D(2027, 1, 8), source="cli"
            )
        )
    selection = selection_on(cycle, small_definition, D(2026, 12, 28))
    escalations = [(x.recipient_key, x.on_behalf_of) for x in selection.notices if x.kind == n.ESCALATION]
    assert escalations == [("otto.b", "olle.a")]  # Otto stands in for Olle and is told so


def test_a_missed_day_is_caught_up_with_the_newest_reminder(cycle, small_definition):
    open_all(cycle, small_definition, [UNIT_PLAN], dt.datetime(2026, 10, 1, 6, tzinfo=UTC))
    # The service was down on 16 and 17 December; on the 18th the reminder of the 16th
    # still goes out (once: its outbox key is the reminder's date), with today's count.
    selection = selection_on(cycle, small_definition, D(2026, 12, 18))
    reminder = [x for x in selection.notices if x.kind == n.REMINDER]
    assert [(x.stage, x.context["working_days_left"]) for x in reminder] == [("2026-12-16", 3)]


def test_enqueue_is_idempotent_per_key(cycle, small_definition):
    open_all(cycle, small_definition, [UNIT_PLAN], dt.datetime(2026, 10, 1, 6, tzinfo=UTC))
    selection = selection_on(cycle, small_definition, D(2026, 12, 28))
    with session_scope(cycle) as session:
        first = n.enqueue(
            selection.notices,
            session=session,
            directory=load_directory(session=session, organisation="liten-region"),
            now=dt.datetime(2026, 12, 28, 6, tzinfo=UTC),
            mail_domain="test",
        )
    with session_scope(cycle) as session:
        second = n.enqueue(
            selection.notices,
            session=session,
            directory=load_directory(session=session, organisation="liten-region"),
            now=dt.datetime(2026, 12, 28, 6, tzinfo=UTC),
            mail_domain="test",
        )
    assert len(first) == len(selection.notices) and second == set()


def test_weekly_digest_on_the_first_working_day_of_the_week(cycle, small_definition):
    open_all(
        cycle, small_definition, [UNIT_PLAN, "omrade_verksamhetsplan:omr_b"], dt.datetime(2026, 10, 1, 6, tzinfo=UTC)
    )
    with Session(cycle) as session:
        context = step_context(session, small_definition)
        monday = digest_notices(session=session, today=D(2026, 12, 14), ctx=context)
        tuesday = digest_notices(session=session, today=D(2026, 12, 15), ctx=context)
        after_christmas = digest_notices(session=session, today=D(2026, 12, 28), ctx=context)
    weekly = {(x.recipient_key, x.stage) for x in monday if not x.context["daily"]}
    assert ("eva.a1", "weekly-2026-W51") in weekly and ("otto.b", "weekly-2026-W51") in weekly
    # Emil Björk chose a daily digest: one on a working day with news, none on a day
    # with nothing new (his step opened in October).
    assert tuesday == []
    assert ("eva.a1", "weekly-2026-W53") in {(x.recipient_key, x.stage) for x in after_christmas}


def test_easter_monday_week_digest_comes_on_tuesday(engine, small_definition):
    with session_scope(engine) as session:
        store_cycle(small_definition, 2027, session=session, now=dt.datetime(2027, 3, 1, 8, tzinfo=UTC))
    # Opened the Friday before Easter: news for the week's digest.
    open_all(engine, small_definition, ["tertialrapport_omrade:omr_a"], dt.datetime(2027, 3, 26, 8, tzinfo=UTC))
    with Session(engine) as session:
        context = step_context(session, small_definition)
        assert digest_notices(session=session, today=D(2027, 3, 29), ctx=context) == []  # Easter Monday: no sweep
        tuesday = digest_notices(session=session, today=D(2027, 3, 30), ctx=context)
    assert ("olle.a", "weekly-2027-W13") in {(x.recipient_key, x.stage) for x in tuesday}
