"""`arshjul plan` output: the same rows as a rich table, JSON, CSV or iCalendar."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable

from rich.table import Table

from arshjul.views.ics import build_calendar, deadline_for
from arshjul.views.milestone_entries import milestone_entry, milestone_lines, milestones_for
from models.definition import Definition
from models.planned import PlannedStep

FIELDS = [
    "step",
    "period",
    "name",
    "kind",
    "process",
    "level",
    "unit",
    "unit_name",
    "owner_role",
    "owner",
    "owner_name",
    "owner_email",
    "decided_by",
    "decided_by_name",
    "decider",
    "meeting",
    "opens",
    "due",
    "nominal_due",
    "depends_on",
    "reminders",
    "escalation",
    "uid",
    "year",
    "tentative",
]


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def plan_row(step: PlannedStep, definition: Definition) -> dict:
    org = definition.organisation
    owner = org.people.get(step.owner) if step.owner else None
    return {
        "step": step.step,
        "period": step.period,
        "name": step.name,
        "kind": step.kind,
        "process": step.process,
        "level": step.level,
        "unit": step.unit,
        "unit_name": step.unit_name,
        "owner_role": step.owner_role,
        "owner": step.owner,
        "owner_name": owner.name if owner else None,
        "owner_email": owner.email if owner else None,
        "decided_by": step.decided_by,
        "decided_by_name": org.decider_name(step.decided_by),
        "decider": step.decider,
        "meeting": _date(step.meeting),
        "opens": _date(step.opens),
        "due": _date(step.due),
        "nominal_due": _date(step.nominal_due),
        "depends_on": step.depends_on,
        "reminders": [_date(day) for day in step.reminders],
        "escalation": [
            {"after": e.after, "on": _date(e.on), "alert": e.alert, "person": e.person} for e in step.escalation
        ],
        "uid": f"{step.uid}@{org.info.key}",
        "year": step.year,
        "tentative": step.tentative,
    }


def render_json(steps: Iterable[PlannedStep], definition: Definition) -> str:
    return json.dumps([plan_row(step, definition) for step in steps], ensure_ascii=False, indent=2) + "\n"


def render_csv(steps: Iterable[PlannedStep], definition: Definition) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for step in steps:
        row = plan_row(step, definition)
        row["depends_on"] = ";".join(row["depends_on"])
        row["reminders"] = ";".join(row["reminders"])
        row["escalation"] = ";".join(f"{e['on']}:{e['alert']}:{e['person'] or ''}" for e in row["escalation"])
        writer.writerow(row)
    return buffer.getvalue()


def step_description(step: PlannedStep, definition: Definition) -> str:
    """The plain-text body of a step's entry in the plan's calendar: what, who, when."""
    org = definition.organisation
    owner = org.people.get(step.owner) if step.owner else None
    lines = [
        f"Steg: {step.name}",
        f"Enhet: {step.unit_name}",
        f"Ansvarig: {owner.name if owner else '–'} ({org.roles[step.owner_role].name})",
        f"Öppnar: {step.opens.isoformat()}",
        f"Deadline: {step.due.isoformat()}",
    ]
    if step.decided_by:
        lines.append(f"Beslutas av: {org.decider_name(step.decided_by)}")
    if step.meeting:
        lines.append(f"Sammanträde: {step.meeting.isoformat()}")
    if step.nominal_due:
        lines.append(f"(Flyttad från {step.nominal_due.isoformat()}, som inte är en arbetsdag.)")
    if step.description:
        lines += ["", step.description]
    return "\n".join(lines)


def render_ics(steps: Iterable[PlannedStep], definition: Definition, *, year: int, now: dt.datetime) -> bytes:
    org = definition.organisation
    steps = list(steps)
    deadlines = [
        deadline_for(
            uid=f"{step.uid}@{org.info.key}",
            name=step.name,
            unit_name=step.unit_name,
            due=step.due,
            description=step_description(step, definition),
            reminders=step.reminders,
            categories=(definition.processes[step.process].name,),
        )
        for step in steps
    ]
    marks = milestones_for(definition, [day for step in steps for day in (step.opens, step.due)])
    entries = [*deadlines, *(milestone_entry(m, definition) for m in marks)]
    return build_calendar(
        entries,
        name=f"Årshjul {year} – {org.info.name}",
        timezone=org.info.timezone,
        dtstamp=now,
        reminder_time=org.info.workday_start,
    )


def render_table(steps: list[PlannedStep], definition: Definition, *, title: str) -> Table:
    org = definition.organisation
    table = Table(title=title, show_lines=False, header_style="bold")
    for column in ("Deadline", "Öppnar", "Steg", "Enhet", "Nivå", "Ansvarig", "Beslutas av", "Process"):
        table.add_column(column, no_wrap=column in ("Deadline", "Öppnar"))
    for step in steps:
        owner = org.people.get(step.owner) if step.owner else None
        due = step.due.isoformat() + (" *" if step.nominal_due else "") + (" (prel.)" if step.tentative else "")
        table.add_row(
            due,
            step.opens.isoformat(),
            step.name,
            step.unit_name,
            org.level_names.get(step.level, step.level),
            owner.name if owner else "–",
            org.decider_name(step.decided_by) or "–",
            definition.processes[step.process].name,
        )
    notes = ["* flyttad till föregående arbetsdag"] if any(s.nominal_due for s in steps) else []
    if any(s.tentative for s in steps):
        notes.append("prel. = preliminärt: vilar på en sammanträdesplan som inte är beslutad")
    marks = milestone_lines(milestones_for(definition, [day for step in steps for day in (step.opens, step.due)]))
    if marks:
        notes.append(marks)
    table.caption = "\n".join(notes) or None
    return table
