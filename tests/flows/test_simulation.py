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

    import flows.simulate_year as simulation
    from flows.simulate_year import Simulation
    from flows.simulation_clock import clock_file, kept_time
    from models.tables import Cycle

    swept: list[dt.date] = []

    def sweep(day, **kwargs):
        swept.append(day)
        return real_sweep(day, **kwargs)

    real_sweep = simulation.sweep
    monkeypatch.setattr(simulation, "sweep", sweep)
    port = free_port()
    monkeypatch.setenv("ARSHJUL_SINK_PORT", str(port))
    with app_environment(tmp_path, SMALL_ORG):
        sink = MailSink(get_settings().mail_dir, port).start()
        try:
            first = Simulation(2027, seed=11, until=dt.date(2026, 11, 16)).run()
            with Session(runtime.engine()) as session:
                halfway = session.exec(select(StepInstance)).all()
                stopped_at = max(session.exec(select(AuditEntry.at)))
            with Session(runtime.engine()) as session:
                cycle = session.exec(select(Cycle)).one()
            kept = kept_time(clock_file(cycle))
            swept.clear()
            rest = Simulation(2027, seed=11).run()
            calendar = runtime.definition().organisation.calendar
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
    # It plays the day it stopped on again, but not that day's sweep, which had run: swept
    # again, it would see what the day's later hours had done and remind or write digests
    # an uninterrupted year does not.
    # The clock's last moment was kept: the day's end, past its last audit entry.
    assert kept == calendar.at_start_of_day(dt.date(2026, 11, 16)).replace(hour=16).in_timezone("UTC")
    stopped_on = calendar.local_date(stopped_at.replace(tzinfo=dt.UTC))
    assert stopped_at.replace(tzinfo=dt.UTC) > calendar.at_start_of_day(stopped_on).replace(hour=7)
    assert stopped_on not in swept and swept and min(swept) > stopped_on


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


def test_the_simulated_people_are_recorded_as_the_simulation(simulated):
    actions = [e for e in simulated["audit"] if e.action in ("step.submitted", "step.approved", "step.returned")]
    refused = [e for e in simulated["audit"] if e.action == "step.input_rejected"]
    assert actions and all(e.source == "simulering" for e in actions + refused)
    assert all(e.origin["via"] == "simulering" and e.origin["simulated_person"] for e in actions)
    assert not [e for e in simulated["audit"] if e.source == "ui"]  # nobody used the form in this year


def _history(tmp_path, output_format: str):
    from typer.testing import CliRunner

    from arshjul.cli import app

    path = tmp_path / f"historik.{output_format}"
    result = CliRunner().invoke(
        app, ["audit", "history", "2027", "--simulation", "--format", output_format, "-o", str(path)]
    )
    assert result.exit_code == 0, result.output
    return path


def test_the_cycle_closed_with_a_signed_checkpoint_mailed_to_the_auditors(simulated):
    from arshjul.core.checkpoints import checkpoint_path, read_checkpoints, verifying_key

    audit = simulated["audit"]
    closed = [e for e in audit if e.action == "cycle.closed"]
    assert len(closed) == 1 and closed[0].id == max(e.id for e in audit)  # the last step's action closed it
    checkpoints, problems = read_checkpoints(checkpoint_path(get_settings()), verifying_key(get_settings()))
    assert problems == [] and checkpoints[-1].head.last_id == closed[0].id
    assert checkpoints[-1].reason == "cykel 2027 avslutad"
    mails = [row for row in simulated["outbox"] if row.kind == n.CHECKPOINT]
    assert len(mails) == 1 and mails[0].recipient == "revisorerna@example.se"
    assert mails[0].context["checkpoint"]["last_id"] == closed[0].id


def test_the_history_tells_every_steps_story_and_matches_the_export_entry_for_entry(simulated, tmp_path):
    import csv
    import json

    from typer.testing import CliRunner

    from arshjul.cli import app

    history = json.loads(_history(tmp_path, "json").read_text(encoding="utf-8"))
    export = tmp_path / "export.csv"
    assert CliRunner().invoke(app, ["audit", "export", "-o", str(export)]).exit_code == 0
    exported = list(csv.DictReader(export.open(encoding="utf-8")))
    listed = [e["post"] for step in history["steg"] for e in step["händelser"]] + [
        e["post"] for e in history["cykelhändelser"]
    ]
    # The database may hold other tests' entries too (other cycles, entries of no cycle):
    # every entry of this cycle and its steps is listed once, and nothing else.
    shown = set(listed)
    assert len(shown) == len(listed) and shown <= {int(row["id"]) for row in exported}
    steps = {row["instance_id"] for row in exported if int(row["id"]) in shown and row["instance_id"]}
    assert len(steps) == 15
    assert {int(row["id"]) for row in exported if row["instance_id"] in steps} <= shown  # each step's whole story
    by_id = {int(row["id"]): row for row in exported}
    assert len(history["steg"]) == 15
    for step in history["steg"]:
        actions = [e["åtgärd"] for e in step["händelser"]]
        assert actions[0] == "step.opened" and "step.submitted" in actions, step["namn"]
        assert [e["post"] for e in step["händelser"]] == sorted(e["post"] for e in step["händelser"])  # in order
        assert all(by_id[e["post"]]["action"] == e["åtgärd"] for e in step["händelser"])
        if step["beslutas_av"]:
            decision = next(e for e in step["händelser"] if e["åtgärd"] == "step.approved")
            assert step["beslutas_av"] in decision["detaljer"] and "diarienummer" in decision["detaljer"]
        submitted = next(e for e in step["händelser"] if e["åtgärd"] == "step.submitted")
        assert submitted["vem"] and submitted["via"] == "simulering"
        assert step["utfall"] in ("i tid", "sent") and step["arbetsdagar_sent"] is not None
    reminders = [e for step in history["steg"] for e in step["händelser"] if e["åtgärd"] == "step.reminded"]
    assert reminders and all(" till " in e["detaljer"] and "skickat" in e["detaljer"] for e in reminders)
    assert history["eget_beslut"] == []
    assert history["granskningslogg"]["intakt"] and history["granskningslogg"]["kontrollpunkt"]
    summary = history["sammanfattning"]
    assert sum(row["steps"] for row in summary) == 15
    assert sum(row["late"] for row in summary) == simulated["summary"].completed_late


def test_the_history_as_html_pdf_and_csv(simulated, tmp_path):
    import csv
    import subprocess

    html = _history(tmp_path, "html").read_text(encoding="utf-8")
    assert "Granskningshistorik för årshjulet 2027" in html and "kontrollerad och intakt" in html
    assert "kontrollpunkt" in html and "<script" not in html
    pdf = _history(tmp_path, "pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(tmp_path / "sida")], check=True)
    assert list(tmp_path.glob("sida-*.png"))
    rows = list(csv.DictReader(_history(tmp_path, "csv").open(encoding="utf-8")))
    assert rows and {"post", "händelse", "vem", "för", "via", "detaljer"} <= set(rows[0])


def test_the_closed_cycle_archives_into_a_bundle_that_verifies_without_the_database(simulated, tmp_path):
    import json
    import zipfile

    from typer.testing import CliRunner

    from arshjul.cli import app

    runner = CliRunner()
    bundle = tmp_path / "arkiv-2027.zip"
    made = runner.invoke(app, ["cycle", "archive", "2027", "--simulation", "-o", str(bundle)])
    assert made.exit_code == 0, made.output
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        listing = json.loads(archive.read("manifest.json"))
        audit_log = archive.read("granskningslogg.jsonl").decode()
    assert {
        "historik-2027.html", "historik-2027.pdf", "historik-2027.csv", "historik-2027.json", "epostlogg-2027.csv",
        "uppfoljning-2027.csv", "granskningslogg.jsonl", "kontrollpunkter.jsonl", "manifest.json", "manifest.sig",
    } <= names  # fmt: skip
    assert set(listing["filer"]) == names - {"manifest.json", "manifest.sig"}
    verified = runner.invoke(app, ["cycle", "verify-archive", str(bundle)])
    assert verified.exit_code == 0, verified.output

    # An auditor's copy tampered with: one entry of the log changed, and the manifest re-hashed to match.
    lines = audit_log.splitlines()
    forged = json.loads(lines[5])
    forged["actor"] = "någon annan"
    lines[5] = json.dumps(forged, ensure_ascii=False)
    folder = tmp_path / "manipulerat"
    folder.mkdir()
    with zipfile.ZipFile(bundle) as archive:
        for name in names:
            (folder / name).write_bytes(archive.read(name))
    (folder / "granskningslogg.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    broken = runner.invoke(app, ["cycle", "verify-archive", str(folder)])
    assert broken.exit_code == 1
    assert "granskningslogg.jsonl är ändrad" in broken.stderr
    assert f"post {forged['id']}:" in broken.stderr  # the chain itself names the entry


@pytest.mark.browser
def test_the_history_reads_in_a_browser(simulated, tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.integration.test_browser import CHROMIUM, CHROMIUM_ARGS, ensure_chromium

    ensure_chromium()
    html = _history(tmp_path, "html")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(html.as_uri())
            assert page.get_by_role("heading", name="Granskningshistorik för årshjulet 2027").is_visible()
            assert page.locator("section.step").count() == 15
            assert page.get_by_text("Granskningsloggen är kontrollerad och intakt").is_visible()
            assert page.locator("section.step p.event").count() > 60  # one line per entry
            page.screenshot(path=str(tmp_path / "historik.png"), full_page=True)
        finally:
            browser.close()
