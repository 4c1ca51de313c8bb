"""The auditors' history on both backends: every step's story from the app's tables,
who acted from where, the summary, and typed text shown as text."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io

import pytest
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


def _submitted_and_decided(engine, definition, *, comment: str) -> None:
    """The region plan opened, submitted by its owner with `comment`, and approved."""
    open_(engine, definition, "regionplan:region")
    act(engine, definition, "regionplan:region", Action.submit, "erik.ekonom@example.se", comment=comment)
    act(
        engine, definition, "regionplan:region", Action.approve, "sigrid.sekreterare@example.se",
        diarienummer="RF/12/2026",
    )  # fmt: skip


def test_a_steps_story_who_acted_for_whom_and_from_where(cycle, small_definition):
    _submitted_and_decided(cycle, small_definition, comment=HOSTILE)
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


@pytest.mark.parametrize(
    ("typed", "cell"),
    [
        ('=HYPERLINK("http://x";"klicka")', '\'=HYPERLINK("http://x";"klicka")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("kommentar: =1", "kommentar: =1"),
        ("", ""),
    ],
    ids=["equals", "plus", "minus", "at", "tab", "inside", "empty"],
)
def test_a_cell_that_would_start_a_formula_stays_text(cycle, small_definition, typed, cell):
    open_(cycle, small_definition, "regionplan:region")
    history = _history(cycle, small_definition)
    story = history.stories[0]
    story.events[0] = dataclasses.replace(story.events[0], details=typed, who=typed)
    rows = list(csv.DictReader(io.StringIO(history_csv(history, "Europe/Stockholm"))))
    shown = next(row for row in rows if row["post"] == str(story.events[0].entry_id))
    assert shown["detaljer"] == cell and shown["vem"] == cell


# Typst markup that would run, format or fail if the PDF's template read typed text as markup.
TYPST_HOSTILE = '#panic("x") *fet* _kursiv_ $x^2$ ] [ \\ // <etikett> @ref = Rubrik #{1+1}'


def _pdf_text(pdf: bytes, tmp_path) -> str:
    import subprocess

    path = tmp_path / "historik.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout
    return " ".join(text.split())


def test_the_pdf_tells_every_step_the_html_tells_with_typed_text_as_text(cycle, small_definition, tmp_path):
    from arshjul.views.history import event_line, history_pdf, step_heading

    _submitted_and_decided(cycle, small_definition, comment=TYPST_HOSTILE)
    history = _history(cycle, small_definition)
    checkpoint = {"number": 2, "at": "2026-11-02T07:00:00+00:00", "last_id": 3, "count": 3, "key_id": "k1",
                  "signature": "ab" * 32}  # fmt: skip
    attestation = Attestation(MONDAY_MORNING, 3, True, checkpoint, 0, [])
    pdf = history_pdf(history, attestation, "Europe/Stockholm", MONDAY_MORNING)
    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf, tmp_path)
    html = history_html(history, attestation, "Europe/Stockholm", MONDAY_MORNING)
    assert "Granskningshistorik för årshjulet 2027" in text and "kontrollerad och intakt" in text
    assert "Den stämmer med kontrollpunkt 2" in text and "ab" * 32 in text.replace(" ", "")
    lines = [event_line(event, "Europe/Stockholm") for story in history.stories for event in story.events]
    assert lines and all(line in text for line in lines)  # every entry, phrased as in the HTML
    assert all(step_heading(story) in text for story in history.stories)
    assert TYPST_HOSTILE in text  # shown as typed: no markup ran, nothing formatted
    assert all(line.replace('"', "&#34;") in html for line in lines if "<" not in line)
    assert history_pdf(history, attestation, "Europe/Stockholm", MONDAY_MORNING) == pdf  # same document, same bytes


def test_the_pdf_says_what_was_not_proven(cycle, small_definition, tmp_path):
    from arshjul.views.history import history_pdf

    history = _history(cycle, small_definition)
    attestation = Attestation(MONDAY_MORNING, 3, False, None, 3, ["Post 2 är ändrad efter att den skrevs."])
    text = _pdf_text(history_pdf(history, attestation, "Europe/Stockholm", MONDAY_MORNING), tmp_path)
    assert "Granskningsloggen är INTE intakt" in text and "Ingen kontrollpunkt fanns" in text
    assert "Post 2 är ändrad efter att den skrevs." in text
    assert "Inget har hänt ännu." in text  # steps not yet opened say so
