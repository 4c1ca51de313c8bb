"""Submitting a follow-up step needs a status for every item of its unit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import Session, select

from arshjul.core.database import session_scope
from models.cycles import store_cycle
from models.followup import record_report, stored_plan
from models.followup_import import parse_report
from models.states import Action
from models.steps import StepActionError, open_step, perform
from models.tables import AuditEntry, Mode, StepInstance, StepState
from tests.conftest import step_context

NOW = dt.datetime(2027, 5, 3, 9, 30, tzinfo=dt.UTC)
FIXTURES = Path(__file__).parent.parent / "fixtures" / "followup"
PLANNER = "helena.nordin@example.se"


@pytest.fixture
def region_cycle(tmp_path, region_definition):
    from arshjul.core.database import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    migrate(engine)
    with session_scope(engine) as session:
        store_cycle(region_definition, 2027, session=session, now=NOW - dt.timedelta(days=200))
    yield engine
    engine.dispose()


def rs_report(engine) -> int:
    with session_scope(engine) as session:
        for step in session.exec(select(StepInstance).where(StepInstance.step == "rs_verksamhetsplan")):
            step.state = StepState.approved  # what it builds on is done
            session.add(step)
        return session.exec(select(StepInstance.id).where(StepInstance.step == "tertialrapport_rs")).one()


def submit(engine, definition, instance_id):
    with session_scope(engine) as session:
        return perform(
            instance_id,
            Action.submit,
            actor_email=PLANNER,
            session=session,
            ctx=step_context(session, definition),
            now=NOW,
            source="cli",
        )


def test_the_cycle_stores_its_goal_structure(region_cycle, region_definition):
    with Session(region_cycle) as session:
        plan = stored_plan(session=session, organisation="region-jamtland-harjedalen", year=2027, mode=Mode.live)
    assert plan is not None and plan.source == region_definition.goals[2027].source


def test_a_follow_up_step_waits_for_every_status(region_cycle, region_definition):
    instance_id = rs_report(region_cycle)
    with session_scope(region_cycle) as session:
        open_step(instance_id, session=session, ctx=step_context(session, region_definition), now=NOW)
    with pytest.raises(StepActionError, match=r"uppföljningen T1 är inte komplett: 78 mål, uppdrag eller aktiviteter"):
        submit(region_cycle, region_definition, instance_id)
    plan = region_definition.goals[2027]
    parsed = parse_report(
        "seed003-T1.csv", (FIXTURES / "seed003-T1.csv").read_bytes(), plan, region_definition.organisation
    )
    with session_scope(region_cycle) as session:
        record_report(
            plan,
            "T1",
            parsed.reported[:-1],  # all but one
            [],
            organisation="region-jamtland-harjedalen",
            mode=Mode.live,
            actor="helena_nordin",
            source="cli",
            session=session,
            now=NOW,
        )
    with pytest.raises(StepActionError, match=r"1 mål, uppdrag eller aktiviteter saknar status \(Ärenden diarieförda"):
        submit(region_cycle, region_definition, instance_id)
    with session_scope(region_cycle) as session:
        record_report(
            plan, "T1", parsed.reported[-1:], [], organisation="region-jamtland-harjedalen", mode=Mode.live,
            actor="helena_nordin", source="cli", session=session, now=NOW,
        )  # fmt: skip
    assert submit(region_cycle, region_definition, instance_id).state is StepState.submitted
    with Session(region_cycle) as session:
        actions = [entry.action for entry in session.exec(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions[-3:] == ["followup.reported", "followup.reported", "step.submitted"]


def test_early_warning_goes_to_the_bodys_official_once(region_cycle, region_definition):
    from models.followup_warnings import EARLY_WARNING, warn_early
    from models.people import load_directory
    from models.tables import OutboxMessage
    from notifications.facts import MessageBuilder

    plan = region_definition.goals[2027]
    org = region_definition.organisation
    august = dt.datetime(2027, 9, 6, 9, 0, tzinfo=dt.UTC)

    def report(period: str) -> int:
        parsed = parse_report(f"seed003-{period}.csv", (FIXTURES / f"seed003-{period}.csv").read_bytes(), plan, org)
        with session_scope(region_cycle) as session:
            record_report(
                plan, period, parsed.reported, parsed.analyses, organisation=org.info.key, mode=Mode.live,
                actor="helena_nordin", source="cli", session=session, now=august,
            )  # fmt: skip
            return warn_early(
                plan, period, organisation=org.info.key, mode=Mode.live, calendar=org.calendar,
                directory=load_directory(session=session, organisation=org.info.key), mail_domain="arshjul.test",
                session=session, now=august,
            )  # fmt: skip

    assert report("T1") == 0  # nothing to compare April with
    assert report("T2") == 1
    assert report("T2") == 1  # asked again: the same notice, stored once
    with Session(region_cycle) as session:
        [row] = session.exec(select(OutboxMessage).where(OutboxMessage.kind == EARLY_WARNING)).all()
        step = session.get(StepInstance, row.instance_id)
        directory = load_directory(session=session, organisation=org.info.key)
        assert step.step == "delarsrapport_rs" and row.recipient_key == "helena_nordin"
        assert len(row.context["warnings"]) == 41
        builder = MessageBuilder(region_definition, directory, ui_url="http://127.0.0.1:4200", sender="a@example.se")
        [prepared] = builder.prepare([row.id], session, august)
    assert prepared.error is None
    import email
    from email import policy

    mail = email.message_from_string(prepared.message.as_message().as_string(), policy=policy.default)
    # The unit is left out when step and unit do not fit the subject's 70 characters.
    assert mail["Subject"] == "Tidig varning: Delårsrapport per augusti (regionstyrelsen)"
    body = mail.get_body(("plain",)).get_content()
    assert "Presentera en långsiktig fastighetsplan under året (Uppdrag): röd, har blivit röd" in body


def test_items_saved_one_by_one_give_the_official_one_early_warning(region_cycle, region_definition):
    """The web page saves each item on its own: every save grows the set of warnings, and
    the newest set replaces the one not yet sent — one mail, with all of them."""
    from models.followup_warnings import EARLY_WARNING, warn_early
    from models.people import load_directory
    from models.tables import OutboxMessage

    plan = region_definition.goals[2027]
    org = region_definition.organisation
    august = dt.datetime(2027, 9, 6, 9, 0, tzinfo=dt.UTC)

    def report(period: str, share: float = 1.0, *, at: dt.datetime = august) -> int:
        parsed = parse_report(f"seed003-{period}.csv", (FIXTURES / f"seed003-{period}.csv").read_bytes(), plan, org)
        entries = parsed.reported[: int(len(parsed.reported) * share)]
        with session_scope(region_cycle) as session:
            record_report(
                plan, period, entries, parsed.analyses, organisation=org.info.key, mode=Mode.live,
                actor="helena_nordin", source="cli", session=session, now=at,
            )  # fmt: skip
            return warn_early(
                plan, period, organisation=org.info.key, mode=Mode.live, calendar=org.calendar,
                directory=load_directory(session=session, organisation=org.info.key), mail_domain="arshjul.test",
                session=session, now=at,
            )  # fmt: skip

    def pending() -> list[int]:
        with Session(region_cycle) as session:
            rows = session.exec(select(OutboxMessage).where(OutboxMessage.kind == EARLY_WARNING)).all()
            return [len(row.context["warnings"]) for row in rows]

    report("T1")
    report("T2", 0.3)
    report("T2", 0.6, at=august + dt.timedelta(minutes=5))
    report("T2", 1.0, at=august + dt.timedelta(minutes=10))
    assert pending() == [41]


def test_who_may_import_a_period_from_the_command_line(region_cycle, region_definition):
    """The owner of the covering follow-up step (or a change_plan role) may; another chef
    may not; and once the step is submitted nobody changes what it reported."""
    from models.followup import store_plan
    from models.followup_authority import import_refusals
    from models.people import load_directory

    plan = region_definition.goals[2027]
    org = region_definition.organisation
    parsed = parse_report("seed003-T1.csv", (FIXTURES / "seed003-T1.csv").read_bytes(), plan, org)
    items = [entry.item for entry in parsed.reported]
    rs_step = rs_report(region_cycle)

    def refusals(email: str, items: list[str] = items, analyses: tuple[str, ...] = ()) -> list[str]:
        with session_scope(region_cycle) as session:
            store_plan(plan, organisation=org.info.key, mode=Mode.live, session=session, now=NOW)
            directory = load_directory(session=session, organisation=org.info.key)
            person = org.people_by_email[email]
            return import_refusals(
                plan, "T1", items, person, org=org, directory=directory, mode=Mode.live, session=session,
                analyses=analyses,
            )  # fmt: skip

    with session_scope(region_cycle) as session:
        step = session.get(StepInstance, rs_step)
        owner, unit = org.people[step.owner], step.unit
    planner = org.people["helena_nordin"]
    other = next(p for p in org.people.values() if p.key not in {owner.key, planner.key} and p.standin != owner.key)
    assert refusals(planner.email) == []  # a change_plan role: the regionstab imports the region's export
    [refused] = refusals(other.email)
    assert refused.startswith(f"{other.name} får inte rapportera målen för Regionstyrelsen")
    with session_scope(region_cycle) as session:
        open_step(rs_step, session=session, ctx=step_context(session, region_definition), now=NOW)
    assert refusals(owner.email) == []  # the owner of the open step
    with session_scope(region_cycle) as session:
        step = session.get(StepInstance, rs_step)
        step.state = StepState.submitted
        session.add(step)
    [frozen] = refusals(planner.email)
    assert "är redan inlämnad: dess mål och analyser kan inte ändras" in frozen
    # Its unit's analysis is part of what it reported too.
    assert refusals(planner.email, items=[], analyses=(unit,)) == [frozen]
    assert refusals(owner.email, items=[], analyses=(unit,)) == [frozen]
