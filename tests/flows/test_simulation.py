"""`arshjul simulate` on the small organisation, through the real Prefect API: the whole
cycle is played to its end, every message goes through the outbox to a real SMTP sink,
and a second run of a finished year adds nothing."""

from __future__ import annotations

import email
from collections import Counter

import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from sqlmodel import Session, select

from arshjul.core import runtime
from arshjul.core.settings import get_settings
from models import notices as n
from models.audit import verify_chain
from models.states import step_is_done
from models.tables import AuditEntry, OutboxMessage, OutboxState, StepInstance
from notifications.sink import MailSink
from tests.conftest import SMALL_ORG, free_port
from tests.prefect_support import app_environment

pytestmark = pytest.mark.prefect


@pytest.fixture(scope="module")
def simulated(prefect_server, tmp_path_factory):
    """The small organisation's cycle 2027, simulated once for the module."""
    from flows.simulate_year import Simulation

    home = tmp_path_factory.mktemp("simulation")
    port = free_port()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARSHJUL_SINK_PORT", str(port))
        with app_environment(home, SMALL_ORG):
            sink = MailSink(get_settings().mail_dir, port).start()
            try:
                simulation = Simulation(2027, late_share=0.5, seed=7)
                summary = simulation.run()
                again = Simulation(2027, late_share=0.5, seed=7).run()
            finally:
                sink.stop()
            with Session(runtime.engine()) as session:
                steps = session.exec(select(StepInstance)).all()
                outbox = session.exec(select(OutboxMessage)).all()
                audit = session.exec(select(AuditEntry)).all()
                chain = verify_chain(session=session)
            yield dict(
                simulation=simulation,
                summary=summary,
                again=again,
                steps=steps,
                outbox=outbox,
                audit=audit,
                chain=chain,
                mail_dir=get_settings().mail_dir,
            )


def test_the_whole_cycle_is_played_through_real_flow_runs(simulated):
    summary, steps = simulated["summary"], simulated["steps"]
    assert summary.steps_total == len(steps) == 15
    assert summary.flow_runs == 15 and summary.completed == 15
    assert all(step_is_done(step) for step in steps)
    # Each run was opened and resumed at least once per action its step needed.
    assert summary.executions >= 15 + sum(2 if step.decided_by else 1 for step in steps)
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[step.flow_run_id for step in steps])), limit=50
        )
    assert len(runs) == 15
    assert Counter(run.state.type.value for run in runs) == {"COMPLETED": 15}
    assert all("simulering" in run.tags and "år:2027" in run.tags for run in runs)


def test_when_the_year_is_done_nobody_still_means_to_act(simulated):
    # An attempt planned for a step that needs no decision would be retried every day.
    leftover = [intent for intents in simulated["simulation"].people.intents.values() for intent in intents]
    assert leftover == []


def test_late_people_cause_reminders_and_escalations(simulated):
    summary, audit = simulated["summary"], simulated["audit"]
    assert summary.completed_late > 0
    assert summary.reminders > 0 and summary.escalations > 0
    actions = Counter(entry.action for entry in audit)
    assert actions["step.escalated"] == summary.escalations
    assert actions["step.submitted"] >= 15
    assert summary.refused_inputs == actions["step.input_rejected"]
    assert simulated["chain"][1] == []  # the audit log's hash chain is intact


def test_every_message_went_through_the_outbox_to_the_sink(simulated):
    summary = simulated["summary"]
    # A daily-digest reader's action notices are folded into their next digest.
    outbox = [row for row in simulated["outbox"] if row.state != OutboxState.folded.value]
    assert outbox and all(row.state == OutboxState.sent.value and row.mode == "simulation" for row in outbox)
    files = sorted(simulated["mail_dir"].glob("*.eml"))
    mails = {row.message_id for row in outbox}  # a combined mail's rows share its Message-ID
    assert summary.emails == summary.mail["mails"] == len(files) == len(mails)
    delivered = {email.message_from_bytes(path.read_bytes())["Message-ID"] for path in files}
    assert delivered == mails


def test_no_reminder_after_the_step_was_done(simulated):
    steps = {step.id: step for step in simulated["steps"]}
    finished = {}  # the last submission (no decider) or the approval
    for entry in simulated["audit"]:
        step = steps.get(entry.instance_id)
        if step and entry.action == ("step.approved" if step.decided_by else "step.submitted"):
            finished[step.id] = entry.at
    nagging = [row for row in simulated["outbox"] if row.kind in (n.REMINDER, n.DUE_TODAY, n.OVERDUE, n.ESCALATION)]
    assert nagging
    for row in nagging:
        assert row.sent_at <= finished[row.instance_id], (steps[row.instance_id].key, row.kind, row.sent_at)


def test_a_finished_year_simulated_again_adds_nothing(simulated):
    summary, again = simulated["summary"], simulated["again"]
    assert again.executions == 0 and again.simulated_days == 0
    assert (again.flow_runs, again.completed, again.emails, again.reminders, again.escalations) == (
        summary.flow_runs,
        summary.completed,
        summary.emails,
        summary.reminders,
        summary.escalations,
    )


def test_a_simulation_stopped_midway_continues_where_it_stopped(prefect_server, tmp_path, monkeypatch):
    """As after Ctrl-C or `--until`: a new process knows nothing of the runs that wait;
    it learns their states from Prefect and plays the year to the end."""
    import datetime as dt

    from flows.simulate_year import Simulation

    port = free_port()
    monkeypatch.setenv("ARSHJUL_SINK_PORT", str(port))
    with app_environment(tmp_path, SMALL_ORG):
        sink = MailSink(get_settings().mail_dir, port).start()
        try:
            first = Simulation(2027, seed=11, until=dt.date(2026, 11, 16)).run()
            with Session(runtime.engine()) as session:
                halfway = session.exec(select(StepInstance)).all()
                stopped_at = max(session.exec(select(AuditEntry.at)))
            rest = Simulation(2027, seed=11).run()
        finally:
            sink.stop()
        with Session(runtime.engine()) as session:
            steps = session.exec(select(StepInstance)).all()
            continued = session.exec(select(AuditEntry.at).where(AuditEntry.at > stopped_at)).all()
    assert stopped_at.date() <= dt.date(2026, 11, 16)
    assert 0 < first.completed < 15 and first.flow_runs < 15
    assert any(step.state in ("open", "submitted") for step in halfway)  # runs left waiting with their form
    assert rest.completed == rest.flow_runs == 15 and all(step_is_done(step) for step in steps)
    assert rest.executions > 0 and continued  # the second run went on from where the first stopped


def test_opening_every_link_in_the_years_mail_changes_no_step(simulated):
    """Mail scanners fetch every link at delivery: a GET of every link a simulated year
    sent, step pages and Mina steg alike, changes no step and sends nothing."""
    import re
    from email import policy

    from fastapi.testclient import TestClient

    from arshjul.core import clock
    from arshjul.core.clock import SimulatedClock
    from arshjul.web.app import create_app

    links = set()
    for path in simulated["mail_dir"].glob("*.eml"):
        text = email.message_from_bytes(path.read_bytes(), policy=policy.default).get_body(("plain",)).get_content()
        links.update(re.findall(r"https?://[^/\s]+(/(?:steg|mina-steg)/[A-Za-z0-9_.\-]+)", text))
    assert len(links) > 50

    def snapshot():
        with Session(runtime.engine()) as session:
            steps = [
                (s.key, s.state, s.state_version, s.input_round, s.submitted_by, s.decided_by_person, s.updated_at)
                for s in session.exec(select(StepInstance).order_by(StepInstance.id))
            ]
            return steps, len(session.exec(select(OutboxMessage)).all())

    before = snapshot()
    last_sent = max(row.sent_at for row in simulated["outbox"] if row.sent_at is not None)  # folded: never sent
    previous = clock.use(SimulatedClock(last_sent))  # the year's last day: its recent links still work
    try:
        settings = get_settings().model_copy(update={"link_failures_allowed": 100_000})
        statuses = Counter()
        with TestClient(create_app(settings)) as client:
            for link in sorted(links):
                response = client.get(link)
                assert response.status_code in (200, 403), (link, response.status_code)
                statuses[response.status_code] += 1
    finally:
        clock.use(previous)
    assert statuses[200] > 0  # links that still work were shown
    assert snapshot() == before
