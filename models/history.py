"""The auditors' history of a cycle: per step, in order, everything that happened to it
— opened, reminded and escalated (to whom, when sent), submitted (by whom, for whom, from
where), returned, decided (which body, which meeting, diarienummer, by whom), how late —
and a summary. Read from the app's own tables only (the audit log and the outbox), never
from Prefect, whose events and runs are not kept for good.

Every audit entry about the cycle appears exactly once, with its number, so the history
can be checked against `arshjul audit export` entry for entry."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlmodel import Session, SQLModel

from models.definition import Definition
from models.notices import message_key
from models.people import Directory
from models.reporting import deliveries
from models.tables import Cycle, StepInstance, StepState, stored_id

ACTION_NAMES = {
    "cycle.started": "Cykeln startad",
    "cycle.extended": "Cykeln utökad",
    "cycle.closed": "Cykeln avslutad",
    "step.planned": "Planerat",
    "step.opened": "Öppnat",
    "step.reminded": "Påminnelse",
    "step.overdue": "Försenat",
    "step.escalated": "Eskalerat",
    "step.submitted": "Inlämnat",
    "step.returned": "Återremitterat",
    "step.approved": "Beslutat",
    "step.input_rejected": "Försök avvisat",
    "step.deadline_moved": "Deadline flyttad",
    "link.opened": "Länken öppnad",
    "link.refused": "Länken avvisad",
    "link.requested": "Ny länk begärd",
    "links.revoked": "Länkar spärrade",
}
_TABLES = SQLModel.metadata.tables
OUTBOX_STATES = {"pending": "väntar i utkorgen", "failed": "misslyckades, se arshjul mail failed"}
NOTICE_KINDS = {"reminder": "påminnelse", "due_today": "deadline i dag", "overdue": "besked om förseningen"}


@dataclass(frozen=True)
class Event:
    entry_id: int
    at: dt.datetime
    action: str
    what: str
    who: str
    for_whom: str
    via: str
    details: str


@dataclass
class Story:
    step: Any  # the step_instance row
    process: str
    level: str
    owner: str
    decided_by: str
    events: list[Event] = field(default_factory=list)
    outcome: str = ""  # i tid, sent, försenat (ej inlämnat), …
    working_days_late: int | None = None


@dataclass
class SummaryRow:
    process: str
    level: str
    steps: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0  # past the deadline, not submitted
    pending: int = 0  # not yet due


@dataclass
class History:
    organisation: str
    year: int
    simulation: bool
    today: dt.date
    unit: str | None
    cycle_events: list[Event]
    stories: list[Story]
    summary: list[SummaryRow]
    self_decided: list[tuple[Story, Event]]
    top_escalations: list[tuple[Story, Event]]

    @property
    def entry_ids(self) -> list[int]:
        return sorted([e.entry_id for e in self.cycle_events] + [e.entry_id for s in self.stories for e in s.events])


def via_label(entry: Any) -> str:
    origin = entry.origin or {}
    if entry.source == "länk":
        client = origin.get("client")
        return "länk i mejl" + (f" (från {client})" if client else "")
    if entry.source == "ui":
        return "Prefect-formuläret" + (f", ifyllt av {origin['operator']}" if origin.get("operator") else "")
    if entry.source == "cli":
        user = origin.get("os_user")
        return "kommandoraden" + (f" (OS-användare {user} på {origin.get('host', '?')})" if user else "")
    return {
        "sweep": "daglig kontroll",
        "system": "systemet",
        "simulering": "simulering",
        "simulation": "simulering",
    }.get(entry.source, entry.source)


def build_history(
    definition: Definition,
    cycle: Cycle,
    *,
    session: Session,
    directory: Directory,
    today: dt.date,
    unit: str | None = None,
) -> History:
    org = definition.organisation
    calendar = org.calendar
    # Plain rows, not ORM objects: a region's year is thousands of entries, and building
    # a SQLModel instance costs more than everything the history does with it.
    step_table, entry_table, outbox_table = (_TABLES[name] for name in ("step_instance", "audit_entry", "outbox"))
    steps: list[Any] = list(session.execute(select(step_table).where(step_table.c.cycle_id == cycle.id)))
    if unit is not None:
        wanted = set(org.subtree(unit)) if unit in org.units else {unit}
        steps = [s for s in steps if s.unit in wanted]
    by_id = {s.id: s for s in steps}
    of_cycle = select(step_table.c.id).where(step_table.c.cycle_id == cycle.id)
    entries = session.execute(
        select(entry_table)
        .where(or_(entry_table.c.cycle_id == cycle.id, entry_table.c.instance_id.in_(of_cycle)))
        .order_by(entry_table.c.id)
    ).all()
    outbox = {row.key: row for row in session.execute(select(outbox_table).where(outbox_table.c.cycle_id == cycle.id))}
    delivered = {d.step.id: d for d in deliveries(steps, calendar)}
    stories = {
        s.id: Story(
            step=s,
            process=definition.processes[s.process].name if s.process in definition.processes else s.process,
            level=org.level_names.get(s.level, s.level),
            owner=directory.name(s.owner),
            decided_by=org.decider_name(s.decided_by) or "",
        )
        for s in steps
    }
    cycle_events: list[Event] = []
    self_decided, top = [], []
    submitters: dict[int, set[str]] = defaultdict(set)
    for entry in entries:
        step = by_id.get(entry.instance_id)
        if entry.instance_id is not None and step is None:
            continue  # a step outside the chosen unit
        event = _event(entry, step, directory, org, outbox, cycle, ZoneInfo(org.info.timezone))
        if step is None:
            cycle_events.append(event)
            continue
        story = stories[step.id]
        story.events.append(event)
        if entry.action == "step.submitted":
            submitters[stored_id(step)].add(entry.actor)
        if entry.action in ("step.approved", "step.returned") and (
            entry.actor in submitters[stored_id(step)] or entry.actor == step.owner
        ):
            self_decided.append((story, event))
        if entry.action == "step.escalated" and _top_of_ladder(entry, step):
            top.append((story, event))
    rows: dict[tuple[str, str], SummaryRow] = {}
    for story in stories.values():
        step = story.step
        row = rows.setdefault((step.process, step.level), SummaryRow(story.process, story.level))
        row.steps += 1
        delivery = delivered.get(step.id)
        if delivery is not None:
            story.working_days_late = delivery.working_days_late
            late = delivery.working_days_late > 0
            story.outcome = "sent" if late else "i tid"
            row.late += late
            row.on_time += not late
        elif StepState(step.state) in (StepState.submitted, StepState.approved):
            story.outcome = "inlämnat, väntar på beslut"
            late_days = calendar.working_days_after(step.due, calendar.local_date(step.submitted_at or step.updated_at))
            story.working_days_late = max(late_days, 0)
            row.late += late_days > 0
            row.on_time += late_days <= 0
        elif today > step.due:
            story.outcome = "försenat, ej inlämnat"
            story.working_days_late = calendar.working_days_after(step.due, today)
            row.overdue += 1
        else:
            story.outcome = "ej inlämnat (deadline har inte passerats)"
            row.pending += 1
    ordered = sorted(stories.values(), key=lambda s: (s.step.due, s.step.name, s.step.unit_name, s.step.id))
    summary = sorted(rows.values(), key=lambda r: (r.process, _level_position(r.level, org.level_names)))
    return History(
        organisation=org.info.name,
        year=cycle.year,
        simulation=cycle.mode == "simulation",
        today=today,
        unit=unit,
        cycle_events=cycle_events,
        stories=ordered,
        summary=summary,
        self_decided=self_decided,
        top_escalations=top,
    )


def _level_position(level_name: str, level_names: dict[str, str]) -> int:
    names = list(level_names.values())
    return names.index(level_name) if level_name in names else len(names)


def _top_of_ladder(entry: Any, step: StepInstance) -> bool:
    after = (entry.after or {}).get("after")
    return bool(step.escalation) and after == max(stage["after"] for stage in step.escalation)


def _event(entry: Any, step, directory: Directory, org, outbox: dict, cycle: Cycle, zone: ZoneInfo) -> Event:
    after, before, origin = entry.after or {}, entry.before or {}, entry.origin or {}
    who = directory.name(entry.actor) if entry.actor in directory else entry.actor
    for_whom, details = "", ""
    action = entry.action
    if action in ("step.reminded", "step.overdue", "step.escalated"):
        to = after.get("to")
        who = "systemet"
        for_whom = directory.name(after["on_behalf_of"]) if after.get("on_behalf_of") else ""
        row = outbox.get(
            message_key(entry.instance_id, after.get("kind", ""), after.get("stage", ""), to or "", cycle.mode)
        )
        sent = (
            f"skickat {row.sent_at.astimezone(zone):%Y-%m-%d %H:%M} till {row.recipient}"
            if row is not None and row.sent_at
            else f"ej skickat ({OUTBOX_STATES.get(row.state, row.state)})"
            if row is not None
            else "utskicket finns inte i utkorgen"
        )
        if action == "step.escalated":
            top = " – översta steget på stegen" if step is not None and _top_of_ladder(entry, step) else ""
            details = f"till {directory.name(to)} efter {after.get('after', '?')} arbetsdagars försening{top}; {sent}"
        else:
            kind = NOTICE_KINDS.get(after.get("kind", ""), after.get("kind", ""))
            details = f"{kind} till {directory.name(to)}; {sent}"
    elif action == "step.submitted":
        if step is not None and entry.actor != step.owner:
            for_whom = f"ägaren {directory.name(step.owner)}"
        parts = [f"kommentar: {entry.comment}"] if entry.comment else []
        if after.get("diarienummer"):
            parts.append(f"diarienummer {after['diarienummer']}")
        if after.get("document_reference"):
            parts.append(f"dokument: {after['document_reference']}")
        details = "; ".join(parts)
    elif action == "step.returned":
        details = f"kommentar: {entry.comment or '–'}"
        if step is not None and step.decider and entry.actor != step.decider:
            for_whom = f"beslutsfattaren {directory.name(step.decider)}"
    elif action == "step.approved":
        parts = []
        if step is not None and step.decided_by:
            parts.append(f"beslutat av {org.decider_name(step.decided_by)}")
            if step.meeting:
                parts.append(f"sammanträde {step.meeting.isoformat()}")
            if step.decider and entry.actor != step.decider:
                for_whom = f"beslutsfattaren {directory.name(step.decider)}"
        parts.append(f"diarienummer {after.get('diarienummer') or '–'}")
        if entry.comment:
            parts.append(f"kommentar: {entry.comment}")
        details = "; ".join(parts)
    elif action == "step.input_rejected":
        details = f"skäl: {entry.comment or '–'}"
    elif action == "step.deadline_moved":
        details = f"från {before.get('due', '?')} till {after.get('due', '?')}; skäl: {entry.comment or '–'}"
    elif entry.comment:
        details = entry.comment
    if origin.get("on_behalf_of") and entry.source == "ui" and not for_whom:
        for_whom = f"angav adressen {origin['on_behalf_of']}"
    return Event(
        entry_id=int(entry.id or 0),
        at=entry.at,
        action=action,
        what=ACTION_NAMES.get(action, action),
        who=who,
        for_whom=for_whom,
        via=via_label(entry),
        details=details,
    )
