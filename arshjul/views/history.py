"""The auditors' history of a cycle (models.history) as CSV, JSON, HTML and PDF. Pure:
the history and the checkpoint it was verified against in, text or bytes out. The HTML
(`audit_history.html`) and the PDF (`audit_history.typ`, typeset by Typst) are the same
standalone Swedish document: each line that tells what happened is phrased once, here,
and both templates show it. Typed text stays text: Jinja escapes it, and Typst gets it
as data, never as markup."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import orjson

from arshjul.views.documents import render_document, typeset
from models import swedish
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


# A cell that starts with one of these is read as a formula by Excel and LibreOffice
# (OWASP's "CSV injection"): a typed comment like =HYPERLINK(…) must stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: object) -> object:
    """A cell as a spreadsheet shows it as text: a leading apostrophe before a formula start."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _SpreadsheetWriter(csv.DictWriter):
    def writerow(self, rowdict):
        return super().writerow({name: spreadsheet_text(value) for name, value in rowdict.items()})


def history_csv(history: History, timezone: str) -> str:
    """One row per audit entry, in the order of the steps and then of the entries. Meant
    for a spreadsheet: a cell that would start a formula starts with an apostrophe."""
    buffer = io.StringIO()
    writer = _SpreadsheetWriter(buffer, fieldnames=CSV_FIELDS)
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


def step_heading(story: Story) -> str:
    step = story.step
    period = swedish.period_label(step.period) if step.period else ""
    named = f"{step.name} ({period})" if period and period not in step.name else step.name
    return f"{named} · {step.unit_name}"


def step_facts(story: Story) -> tuple[str, str]:
    """The step's facts, and its outcome (shown in red when it was late)."""
    step = story.step
    facts = [story.process, story.level, f"ägare {story.owner}"]
    if story.decided_by:
        facts.append(f"beslutas av {story.decided_by}")
    if step.meeting:
        facts.append(f"sammanträde {swedish.swedish_date(step.meeting)}")
    facts.append(f"deadline {swedish.swedish_date(step.due)}")
    late = story.working_days_late
    if late and story.outcome == "sent":
        outcome = f"inlämnat {swedish.working_days(late)} efter deadline"
    elif late:
        outcome = f"{story.outcome} ({swedish.working_days(late)} efter deadline)"
    else:
        outcome = story.outcome
    return " · ".join(facts) + " · ", outcome


def event_line(event: Event, timezone: str) -> str:
    """One entry of a step's story: time · post · event · who (for whom) · from where · details."""
    line = f"{_local(event.at, timezone)} · post {event.entry_id} · {event.what}"
    if event.who:
        line += f" · {event.who}"
    if event.for_whom:
        line += f" för {event.for_whom}"
    if event.via:
        line += f" · {event.via}"
    if event.details:
        line += f" · {event.details}"
    return line


def attestation_lines(attestation: Attestation, timezone: str) -> tuple[str, list[dict]]:
    """What the verification found: a headline (with its count and time), then lines, each
    {text, codes: [(label, value)] shown in monospace after it, warning}."""
    verdict = "är kontrollerad och intakt" if attestation.intact else "är INTE intakt"
    headline = f"Granskningsloggen {verdict}"
    checked = _local(attestation.verified_at, timezone)
    lines: list[dict] = [_line(f"({attestation.entries} poster, kontrollerad {checked}).")]
    checkpoint = attestation.checkpoint
    if checkpoint:
        signed = str(checkpoint["at"]).replace("T", " ").replace("+00:00", " UTC")
        lines.append(
            _line(
                f"Den stämmer med kontrollpunkt {checkpoint['number']}, signerad {signed}: "
                f"post {checkpoint['last_id']}, {checkpoint['count']} poster,",
                codes=[("nyckel", checkpoint["key_id"]), ("signatur", checkpoint["signature"])],
            )
        )
        if attestation.unproven_after:
            lines.append(
                _line(
                    f"{swedish.count(attestation.unproven_after, 'post', 'poster')} efter kontrollpunkten "
                    "är ännu inte bestyrkta av någon kontrollpunkt."
                )
            )
    else:
        lines.append(
            _line(
                "Ingen kontrollpunkt fanns: kontrollen visar bara att loggen hänger ihop med sig själv, inte att "
                "inga poster har tagits bort i slutet eller att kedjan inte har räknats om.",
                warning=True,
            )
        )
    lines.extend(_line(problem, warning=True) for problem in attestation.problems)
    return headline, lines


def _line(text: str, *, codes: list[tuple[str, str]] | None = None, warning: bool = False) -> dict:
    return {"text": text, "codes": [list(code) for code in codes or []], "warning": warning}


def document_meta(history: History, generated: str) -> str:
    parts = [history.organisation]
    if history.unit:
        parts.append(f"enhet {history.unit} med underliggande enheter")
    if history.simulation:
        parts.append("simulering, inte skarp drift")
    parts += [f"läget {swedish.swedish_date(history.today)}", f"upprättad {generated}"]
    return " · ".join(parts)


def history_html(history: History, attestation: Attestation, timezone: str, generated_at: dt.datetime) -> str:
    return render_document(
        "audit_history.html",
        history=history,
        attestation=attestation,
        attested=attestation_lines(attestation, timezone),
        meta=document_meta(history, _local(generated_at, timezone)),
        local=lambda at: _local(at, timezone),
        heading=step_heading,
        facts=step_facts,
        line=lambda event: event_line(event, timezone),
    )


def _summary_rows(history: History) -> list[list[str]]:
    return [
        [row.process, row.level, str(row.steps), str(row.on_time), str(row.late), str(row.overdue), str(row.pending)]
        for row in history.summary
    ]


def _step_document(story: Story, timezone: str) -> dict:
    facts, outcome = step_facts(story)
    return {
        "heading": step_heading(story),
        "facts": facts,
        "outcome": outcome,
        "late": bool(story.working_days_late),
        "events": [event_line(event, timezone) for event in story.events],
    }


def history_pdf(history: History, attestation: Attestation, timezone: str, generated_at: dt.datetime) -> bytes:
    """The same document as the HTML, typeset by Typst: a tenth of WeasyPrint's time for the
    region's 80 pages, which WeasyPrint broke line by line in Python."""
    headline, lines = attestation_lines(attestation, timezone)
    document = {
        "title": f"Granskningshistorik för årshjulet {history.year}",
        "organisation": history.organisation,
        "meta": document_meta(history, _local(generated_at, timezone)),
        "attestation": {"intact": attestation.intact, "headline": headline, "lines": lines},
        "summary": _summary_rows(history),
        "self_decided": [
            [story.step.name, story.step.unit_name, str(event.entry_id), event.who]
            for story, event in history.self_decided
        ],
        "top_escalations": [
            {
                "lead": f"{_local(event.at, timezone)} · post {event.entry_id} · ",
                "step": story.step.name,
                "rest": f" · {story.step.unit_name} · {event.details}",
            }
            for story, event in history.top_escalations
        ],
        "cycle_events": [
            [_local(e.at, timezone), str(e.entry_id), e.what, e.who, e.via, e.details] for e in history.cycle_events
        ],
        "steps": [_step_document(story, timezone) for story in history.stories],
    }
    return typeset("audit_history.typ", document, created=generated_at)
