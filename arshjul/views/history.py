"""The auditors' history of a cycle (models.history) as CSV, JSON, HTML and PDF. Pure:
the history and the checkpoint it was verified against in, text or bytes out. The HTML
and the PDF are standalone Swedish documents (`audit_history.html`, through
arshjul.views.documents); typed text is escaped by Jinja's autoescape."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import orjson

from arshjul.views.documents import html_to_pdf, render_document
from models.audit_integrity import Attestation
from models.history import Event, History, Story

CSV_FIELDS = [
    "post", "tid", "steg", "period", "namn", "enhet", "process", "nivå", "ägare", "deadline", "händelse",
    "vem", "för", "via", "detaljer", "utfall", "arbetsdagar_sent",
]  # fmt: skip


def _local(at: dt.datetime, timezone: str) -> str:
    return at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def _event_dict(event: Event, timezone: str) -> dict:
    return {
        "post": event.entry_id,
        "tid": _local(event.at, timezone),
        "händelse": event.what,
        "åtgärd": event.action,
        "vem": event.who,
        "för": event.for_whom,
        "via": event.via,
        "detaljer": event.details,
    }


def _story_dict(story: Story, timezone: str) -> dict:
    step = story.step
    return {
        "id": step.id,
        "steg": step.step,
        "period": step.period,
        "namn": step.name,
        "enhet": step.unit_name,
        "process": story.process,
        "nivå": story.level,
        "ägare": story.owner,
        "beslutas_av": story.decided_by,
        "sammanträde": step.meeting.isoformat() if step.meeting else None,
        "deadline": step.due.isoformat(),
        "utfall": story.outcome,
        "arbetsdagar_sent": story.working_days_late,
        "händelser": [_event_dict(e, timezone) for e in story.events],
    }


def _attestation_dict(attestation: Attestation) -> dict:
    return {
        "kontrollerad": attestation.verified_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "poster": attestation.entries,
        "intakt": attestation.intact,
        "kontrollpunkt": attestation.checkpoint,
        "poster_efter_kontrollpunkten": attestation.unproven_after,
        "fel": attestation.problems,
    }


def history_json(history: History, attestation: Attestation, timezone: str) -> str:
    document = {
        "organisation": history.organisation,
        "år": history.year,
        "simulering": history.simulation,
        "enhet": history.unit,
        "läge_per": history.today.isoformat(),
        "granskningslogg": _attestation_dict(attestation),
        "sammanfattning": [vars(row) for row in history.summary],
        "eget_beslut": [{"steg": s.step.id, "post": e.entry_id} for s, e in history.self_decided],
        "eskaleringar_till_toppen": [{"steg": s.step.id, "post": e.entry_id} for s, e in history.top_escalations],
        "cykelhändelser": [_event_dict(e, timezone) for e in history.cycle_events],
        "steg": [_story_dict(s, timezone) for s in history.stories],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"


def history_csv(history: History, timezone: str) -> str:
    """One row per audit entry, in the order of the steps and then of the entries."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for event in history.cycle_events:
        row = _event_dict(event, timezone)
        row.pop("åtgärd")
        writer.writerow(row | {"namn": "(cykeln)"})
    for story in history.stories:
        step = story.step
        for event in story.events:
            row = _event_dict(event, timezone)
            row.pop("åtgärd")
            writer.writerow(
                row
                | {
                    "steg": step.step,
                    "period": step.period or "",
                    "namn": step.name,
                    "enhet": step.unit_name,
                    "process": story.process,
                    "nivå": story.level,
                    "ägare": story.owner,
                    "deadline": step.due.isoformat(),
                    "utfall": story.outcome,
                    "arbetsdagar_sent": "" if story.working_days_late is None else story.working_days_late,
                }
            )
    return buffer.getvalue()


def history_html(history: History, attestation: Attestation, timezone: str, generated_at: dt.datetime) -> str:
    return render_document(
        "audit_history.html",
        history=history,
        attestation=attestation,
        generated=_local(generated_at, timezone),
        local=lambda at: _local(at, timezone),
    )


def history_pdf(history: History, attestation: Attestation, timezone: str, generated_at: dt.datetime) -> bytes:
    return html_to_pdf(history_html(history, attestation, timezone, generated_at))
