"""A chef reports the goals of a follow-up step on its page: one form per item, the
link's CSRF token, stored and audited with source `länk`; the step is submitted once
every item has a status."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from arshjul.core import clock, runtime
from arshjul.core.clock import SimulatedClock
from arshjul.core.database import session_scope
from arshjul.core.settings import get_settings
from models.cycles import store_cycle
from models.tables import AuditEntry, FollowupAnalysis, GoalStatus, StepInstance, StepState
from notifications.sink import MailSink
from tests.conftest import CYCLE_STORED_AT, SMALL_ORG, free_port
from tests.prefect_support import app_environment
from tests.web.conftest import PUBLIC_URL, Desk
from tests.web.test_step_links import csrf_of

GOALS = """year: 2027
malomraden: [{key: patient, name: Patient}]
levels:
  - {key: overgripande_mal, name: Övergripande mål}
  - {key: uppdrag, name: Uppdrag, scale: mal}
  - {key: mal, name: Mål, scale: mal}
  - {key: aktivitet, name: Aktiviteter, scale: aktivitet}
periods:
  - {key: T1, name: Tertial 1 (per april), as_of: Y-04-30, steps: [tertialrapport_omrade]}
items:
  - {key: om1, level: overgripande_mal, malomrade: patient, owner: rf, plan: regionplan, name: God vård}
  - {key: u1, level: uppdrag, parent: om1, owner: rs, plan: rs_verksamhetsplan, name: Kortare väntetider}
  - {key: m1, level: mal, parent: u1, owner: omr_a, plan: omrade_verksamhetsplan, name: Besök inom 90 dagar,
     indicator: {name: Andel, unit: "%", baseline: 60, target: 80, direction: higher}}
  - {key: a1, level: aktivitet, parent: m1, owner: enh_a1, plan: enhet_verksamhetsplan, name: Kvällsmottagning}
  - {key: m2, level: mal, parent: u1, owner: omr_b, plan: omrade_verksamhetsplan, name: Område B:s mål}
"""


@pytest.fixture
def goal_desk(prefect_server, tmp_path, monkeypatch):
    yield from _goal_desk(GOALS, tmp_path, monkeypatch)


@pytest.fixture
def two_level_desk(prefect_server, tmp_path, monkeypatch):
    """The same goals, followed up by the areas and then by the administration above them."""
    both = "steps: [tertialrapport_omrade, tertialrapport_forvaltning]"
    yield from _goal_desk(GOALS.replace("steps: [tertialrapport_omrade]", both), tmp_path, monkeypatch)


def _goal_desk(goals: str, tmp_path, monkeypatch):
    folder = tmp_path / "org"
    shutil.copytree(SMALL_ORG, folder)
    (folder / "goals-2027.yaml").write_text(goals, encoding="utf-8")
    port = free_port()
    monkeypatch.setenv("ARSHJUL_SINK_PORT", str(port))
    monkeypatch.setenv("ARSHJUL_PUBLIC_URL", PUBLIC_URL)
    with app_environment(tmp_path / "home", folder):
        from arshjul.web.app import create_app

        runtime._cache.clear()
        with session_scope(runtime.engine()) as session:
            store_cycle(runtime.definition(), 2027, session=session, now=CYCLE_STORED_AT)
        simulated = SimulatedClock(dt.datetime(2027, 5, 3, 9, 0, tzinfo=dt.UTC))
        previous = clock.use(simulated)
        sink = MailSink(get_settings().mail_dir, port).start()
        try:
            with TestClient(create_app(get_settings()), client=("198.51.100.7", 50000)) as client:
                yield Desk(client, simulated, sink)
        finally:
            sink.stop()
            clock.use(previous)
            runtime._cache.clear()


def test_a_chef_reports_each_goal_then_submits(goal_desk):
    desk = goal_desk
    desk.open("tertialrapport_omrade:omr_a")
    desk.deliver()
    [opened] = [m for m in desk.new_mail() if m["To"].addresses[0].addr_spec == "olle.a@example.se"]
    [link] = desk.links_in(opened)
    path = desk.path(link)
    page = desk.client.get(path)
    assert page.status_code == 200 and "Uppföljning av mål – Tertial 1 (per april)" in page.text
    assert "Rapporterat: <strong>0 av 2</strong>" in page.text  # m1 and the unit's activity a1, not B's m2
    assert 'id="mal-m1"' in page.text and 'id="mal-a1"' in page.text and 'id="mal-m2"' not in page.text
    csrf = csrf_of(page.text)

    refused = desk.client.post(path, data={"csrf": csrf, "atgard": "submit"}, follow_redirects=True)
    assert "uppföljningen T1 är inte komplett: 2 mål" in refused.text
    no_comment = desk.client.post(f"{path}/mal", data={"csrf": csrf, "nyckel": "m1", "status": "gul", "varde": "70"})
    assert no_comment.status_code == 422 and "status gul kräver en kommentar" in no_comment.text
    forged = desk.client.post(f"{path}/mal", data={"csrf": "0" * 64, "nyckel": "m1", "status": "gron"})
    assert forged.status_code == 403
    other = desk.client.post(f"{path}/mal", data={"csrf": csrf, "nyckel": "m2", "status": "gron"})
    assert other.status_code == 400 and "hör inte till det här steget" in other.text
    with Session(runtime.engine()) as session:
        assert session.exec(select(GoalStatus)).all() == []  # nothing refused was stored

    saved = desk.client.post(
        f"{path}/mal",
        data={
            "csrf": csrf,
            "nyckel": "m1",
            "status": "gul",
            "kommentar": "<b>Sommaren</b> drar ut tiderna",
            "varde": "72,5",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("#mal-m1")
    assert (
        desk.client.post(
            f"{path}/mal", data={"csrf": csrf, "nyckel": "a1", "status": "pagaende"}, follow_redirects=False
        ).status_code
        == 303
    )
    assert (
        desk.client.post(
            f"{path}/analys", data={"csrf": csrf, "analys": "Läget är stabilt."}, follow_redirects=False
        ).status_code
        == 303
    )
    shown = desk.client.get(path).text
    assert "Rapporterat: <strong>2 av 2</strong>" in shown and "&lt;b&gt;Sommaren&lt;/b&gt;" in shown
    assert 'value="72,5"' in shown and "Läget är stabilt." in shown
    with Session(runtime.engine()) as session:
        entries = session.exec(select(AuditEntry).where(AuditEntry.action == "followup.reported")).all()
        statuses = {row.item_key: (row.status, row.value, row.source) for row in session.exec(select(GoalStatus))}
    assert [(e.actor, e.source) for e in entries] == [("olle.a", "länk")] * 3
    assert entries[0].origin["via"] == "länk" and "token" in entries[0].origin
    assert statuses == {"m1": ("gul", 72.5, "länk"), "a1": ("pagaende", None, "länk")}

    done = desk.client.post(path, data={"csrf": csrf_of(shown), "atgard": "submit"}, follow_redirects=True)
    assert "Tack! Steget är inlämnat av dig" in done.text
    assert desk.step("tertialrapport_omrade:omr_a").state in (StepState.submitted, StepState.approved)
    # Once submitted, the same link shows the goals but no longer takes them.
    late = desk.client.post(f"{path}/mal", data={"csrf": csrf, "nyckel": "m1", "status": "gron"})
    assert late.status_code == 403


def test_a_goal_that_a_submitted_higher_step_reported_stays_as_it_was(two_level_desk):
    """The administration's report covers its areas' goals: once it is submitted, an area
    whose own step is open again (returned, say) cannot change what it reported."""
    desk = two_level_desk
    desk.open("tertialrapport_omrade:omr_a")
    desk.deliver()
    [opened] = [m for m in desk.new_mail() if m["To"].addresses[0].addr_spec == "olle.a@example.se"]
    path = desk.path(desk.links_in(opened)[0])
    csrf = csrf_of(desk.client.get(path).text)
    with session_scope(runtime.engine()) as session:
        higher = session.exec(select(StepInstance).where(StepInstance.key == "tertialrapport_forvaltning:fv")).one()
        higher.state = StepState.submitted.value  # as if submitted: only its state matters here
        session.add(higher)
    refused = desk.client.post(f"{path}/mal", data={"csrf": csrf, "nyckel": "m1", "status": "gron"})
    assert refused.status_code == 409, refused.text
    assert "Tertialrapport per april (förvaltning)" in refused.text and "är redan inlämnad" in refused.text
    analysis = desk.client.post(f"{path}/analys", data={"csrf": csrf, "analys": "Läget är stabilt."})
    assert analysis.status_code == 409 and "är redan inlämnad" in analysis.text  # the report shows it too
    with Session(runtime.engine()) as session:
        assert session.exec(select(GoalStatus)).all() == []
        assert session.exec(select(FollowupAnalysis)).all() == []
        refusal = session.exec(select(AuditEntry).where(AuditEntry.action == "link.refused")).all()[-1]
    assert refusal.source == "länk" and "är redan inlämnad" in (refusal.comment or "")
