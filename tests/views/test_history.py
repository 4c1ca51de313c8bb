"""The auditors' history on both backends: every step's story from the app's tables,
who acted from where, the summary, and typed text shown as text."""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlmodel import Session, select

from arshjul.views.history import history_csv, history_html
from models.audit_integrity import Attestation
from models.history import build_history
from models.people import load_directory
from models.states import Action
from models.tables import AuditEntry, Cycle
from tests.models.test_steps import MONDAY_MORNING, act, open_

HOSTILE = '<script>alert("x")</script> & <b>fet</b>'


def _history(engine, definition, today=dt.date(2026, 11, 2)):
    with Session(engine) as session:
        cycle = session.exec(select(Cycle)).one()
        directory = load_directory(session=session, organisation=definition.organisation.info.key)
        return build_history(definition, cycle, session=session, directory=directory, today=today)


def test_a_steps_story_who_acted_for_whom_and_from_where(cycle, small_definition):
    open_(cycle, small_definition, "regionplan:region")
    act(cycle, small_definition, "regionplan:region", Action.submit, "erik.ekonom@example.se", comment=HOSTILE)
    act(
        cycle, small_definition, "regionplan:region", Action.approve, "sigrid.sekreterare@example.se",
        diarienummer="RF/12/2026",
    )  # fmt: skip
    history = _history(cycle, small_definition)
    story = next(s for s in history.stories if s.step.key == "regionplan:region")
    assert [e.what for e in story.events] == ["Öppnat", "Inlämnat", "Beslutat"]
    submitted, decided = story.events[1], story.events[2]
    assert submitted.who == "Erik Ekonom" and submitted.via == "kommandoraden"
    assert "Regionfullmäktige" in decided.details and "RF/12/2026" in decided.details
    assert "sammanträde 2026-06-16" in decided.details
    assert story.outcome == "sent" and story.working_days_late > 0  # submitted in November, due in June
    assert history.self_decided == []
    with Session(cycle) as session:
        ids = [e.id for e in session.exec(select(AuditEntry))]
    assert history.entry_ids == sorted(ids)  # every entry once: the cycle's and the steps'
    row = next(r for r in history.summary if r.level == "Region" and r.process == "Planering")
    assert row.late == 1 and row.steps >= 1
    later = _history(cycle, small_definition, today=dt.date(2027, 12, 31))
    overdue = [s for s in later.stories if s.outcome == "försenat, ej inlämnat"]
    assert overdue and all(s.working_days_late > 0 for s in overdue)


def test_typed_text_is_escaped_in_the_document(cycle, small_definition):
    open_(cycle, small_definition, "regionplan:region")
    act(cycle, small_definition, "regionplan:region", Action.submit, "erik.ekonom@example.se", comment=HOSTILE)
    history = _history(cycle, small_definition)
    attestation = Attestation(MONDAY_MORNING, 3, True, None, 3, [])
    html = history_html(history, attestation, "Europe/Stockholm", MONDAY_MORNING)
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;fet&lt;/b&gt;" in html
    assert "Ingen kontrollpunkt fanns" in html  # says what was not proven
    rows = list(csv.DictReader(io.StringIO(history_csv(history, "Europe/Stockholm"))))
    assert any(HOSTILE in row["detaljer"] for row in rows)  # CSV keeps the text as typed
