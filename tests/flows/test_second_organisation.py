"""A second, differently shaped organisation (tests/fixtures/kommun: other bodies, a
director per förvaltning, meeting rules, SKR's calendar, a closure day) validates, plans,
draws and plays a full year through real flow runs with no code of its own — with a
step added mid-year, one reassigned and one cancelled along the way."""

from __future__ import annotations

import datetime as dt
import json
from email import message_from_bytes
from pathlib import Path

import pytest
from prefect import get_client
from sqlmodel import Session, select
from typer.testing import CliRunner

from arshjul.cli import app
from arshjul.core import runtime
from arshjul.core.database import session_scope
from arshjul.core.settings import get_settings
from models import notices as n
from models.added_steps import plan_added_step, store_added_step, template_data
from models.audit import verify_chain
from models.plan_edits import cancel_step, reassign_step
from models.states import step_is_done
from models.tables import Cycle, Mode, OutboxMessage, StepInstance, StepState
from notifications.sink import MailSink
from tasks.plan_runs import cancel_run
from tests.conftest import free_port
from tests.prefect_support import app_environment

KOMMUN = Path(__file__).parents[1] / "fixtures" / "kommun"
PLANNER = "kim.kommundirektor@storsjo.example"  # kommundirektören holds the change_plan role
PAUSE = dt.date(2027, 3, 1)
runner = CliRunner()


def test_the_second_organisation_validates_plans_and_draws(tmp_path):
    result = runner.invoke(app, ["validate", str(KOMMUN), "--cycles", "2027"])
    assert result.exit_code == 0, result.output
    planned = runner.invoke(app, ["plan", "2027", "--org", str(KOMMUN), "--format", "json"])
    assert planned.exit_code == 0, planned.output
    rows = json.loads(planned.stdout)
    assert len(rows) == 21 and {r["step"] for r in rows} >= {"budgetdirektiv", "delarsrapport", "lup_revision"}
    out = tmp_path / "kommun.svg"
    drawn = runner.invoke(app, ["wheel", "2027", "--org", str(KOMMUN), "--out", str(out), "--today", "2027-03-01"])
    assert drawn.exit_code == 0, drawn.output
    svg = out.read_text()
    assert "Storsjö kommun" in svg and "Delårsrapport" in svg


def _in_simulation(work):
    from arshjul.core import clock
    from arshjul.core.clock import SimulatedClock

    with Session(runtime.engine()) as session:
        cycle = session.exec(select(Cycle).where(Cycle.mode == Mode.simulation)).one()
        step_ids = {s.key: s.id for s in session.exec(select(StepInstance).where(StepInstance.cycle_id == cycle.id))}
    now = dt.datetime.combine(PAUSE, dt.time(16, 30), tzinfo=dt.UTC)
    previous = clock.use(SimulatedClock(now))
    try:
        with session_scope(runtime.engine()) as session:
            ctx = runtime.step_context(session=session, mode=Mode.simulation)
            return work(session, ctx, runtime.definition(), cycle, step_ids, now)
    finally:
        clock.use(previous)


@pytest.mark.prefect
def test_a_full_year_with_a_step_added_one_reassigned_and_one_cancelled(prefect_server, tmp_path, monkeypatch):
    from flows.simulate_year import Simulation

    port = free_port()
    monkeypatch.setenv("ARSHJUL_SINK_PORT", str(port))
    with app_environment(tmp_path, KOMMUN):
        sink = MailSink(get_settings().mail_dir, port).start()
        try:
            first = Simulation(2027, seed=3, late_share=0.3, until=PAUSE).run()
            assert 0 < first.completed < 21

            def change(session, ctx, definition, cycle, ids, now):
                data = template_data(
                    key="extra_kolloanalys",
                    name="Analys av kolloverksamheten",
                    kind="report",
                    process="uppfoljning",
                    units=["ifo"],
                    definition=definition,
                    owner_role="avdelningschef",
                    decided_by="forvaltningsdirektor",
                    opens="2027-03-08",
                    due="2027-03-26",
                    depends_on=[],
                    reminders=[2],
                    description="Behov som uppkom under året",
                    year=2027,
                )
                template, instances = plan_added_step(definition, 2027, data)
                [added] = store_added_step(
                    definition,
                    cycle,
                    template,
                    instances,
                    owner=None,
                    actor="kim.kommundirektor",
                    role="kommundirektor",
                    reason="Socialnämnden begärde analysen",
                    session=session,
                    ctx=ctx,
                    now=now,
                    source="simulation",
                )
                reassign_step(
                    ids["delarsrapport:kfn"],
                    "bo.bibliotek",
                    reason="Karl är tjänstledig i höst",
                    actor_email=PLANNER,
                    org=definition.organisation,
                    session=session,
                    ctx=ctx,
                    now=now,
                    source="simulation",
                )
                for key, reason in (
                    ("manadsuppfoljning@2027-08:kommun", "Ingen uppföljning per juli–augusti i år"),  # not open yet
                    ("lup_revision:kommun", "Revisionen skjuts till nästa mandatperiod"),  # its run waits
                ):
                    cancel_step(
                        ids[key],
                        reason=reason,
                        actor_email=PLANNER,
                        org=definition.organisation,
                        session=session,
                        ctx=ctx,
                        now=now,
                        source="simulation",
                    )
                return added.id

            added_id = _in_simulation(change)
            with Session(runtime.engine()) as session:
                waiting = session.exec(select(StepInstance).where(StepInstance.key == "lup_revision:kommun")).one()
            assert cancel_run(waiting)  # what `steps cancel` does after its commit
            rest = Simulation(2027, seed=3, late_share=0.3).run()
        finally:
            sink.stop()
        with Session(runtime.engine()) as session:
            steps = {s.key: s for s in session.exec(select(StepInstance))}
            outbox = session.exec(select(OutboxMessage)).all()
            chain = verify_chain(session=session)
        sink_dir = get_settings().mail_dir
    assert len(steps) == 22 and all(step_is_done(step) for step in steps.values())
    added = steps["extra_kolloanalys:ifo"]
    assert added.id == added_id and added.state == StepState.approved
    assert added.decided_by_person == "sara.socialchef"  # the socialdirektör, named per unit
    never_opened, cancelled = steps["manadsuppfoljning@2027-08:kommun"], steps["lup_revision:kommun"]
    assert never_opened.state == cancelled.state == StepState.cancelled
    assert never_opened.flow_run_id is None  # cancelled before it opened: no run was made
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(added.flow_run_id).state.type.value == "COMPLETED"
        assert client.read_flow_run(cancelled.flow_run_id).state.type.value == "CANCELLED"
    told = [m.recipient_key for m in outbox if m.instance_id == cancelled.id and m.kind == n.CANCELLED]
    assert told == ["kim.kommundirektor"]
    # Every notice reached a mail (a person's scheduled notices of a day share one).
    delivered = set()
    for path in sink_dir.glob("*.eml"):
        delivered.update(message_from_bytes(path.read_bytes())["X-Arshjul-Key"].split())
    assert {m.key for m in outbox} == delivered
    # The reassigned step's later mail went to the new owner, never to the old one.
    reassigned = steps["delarsrapport:kfn"]
    about_it = [m for m in outbox if m.instance_id == reassigned.id]
    assert {m.recipient_key for m in about_it if m.kind in (n.OPENED, n.DECIDED, n.REMINDER)} <= {"bo.bibliotek"}
    assert any(m.kind == n.OPENED and m.recipient_key == "bo.bibliotek" for m in about_it)
    assert [m.kind for m in about_it if m.recipient_key == "karl.kulturchef"] == [n.HANDED_OVER]
    assert any(m.kind == n.OPENED and m.instance_id == added.id and m.recipient_key == "ivar.ifo" for m in outbox)
    assert (rest.steps_total, rest.flow_runs) == (22, 21)  # the step cancelled before it opened has no run
    # The cancelled step's calendar entry is cancelled too (METHOD:CANCEL in its mail).
    mails = [p.read_text(errors="replace") for p in sink_dir.glob("*.eml")]
    assert any("Inst=C3=A4llt" in m or "Inställt" in m or "method=CANCEL" in m for m in mails)
    assert chain[1] == []
