"""External calendars as milestones: an organisation lists .ics files (national deadlines,
SKR's timetable) in organisation.yaml under `calendars`; each names its milestones by the
summary of their events. Steps anchor rules on them (`due: {milestone: …, offset: -5}`),
and the plan, the wheel and the personal feed show them.

Read with icalendar; a file that is missing or not iCalendar is a located problem of
organisation.yaml, never a traceback."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import icalendar

from models.source import Issue, SourceDocument

if TYPE_CHECKING:
    from models.definition import Definition

MAX_CALENDAR_BYTES = 2_000_000


@dataclass(frozen=True)
class Milestone:
    key: str
    date: dt.date
    name: str  # the event's summary
    calendar: str  # the calendar's name
    uid: str


def _events(path) -> list[tuple[dt.date, str, str]]:
    """(date, summary, uid) of every VEVENT; raises ValueError for an unreadable file."""
    if path.stat().st_size > MAX_CALENDAR_BYTES:
        raise ValueError(f"filen är större än {MAX_CALENDAR_BYTES // 1_000_000} MB")
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    found = []
    for event in calendar.walk("VEVENT"):
        start = event.get("DTSTART")
        if start is None:
            continue
        day = start.dt.date() if isinstance(start.dt, dt.datetime) else start.dt
        found.append((day, str(event.get("SUMMARY", "")), str(event.get("UID", ""))))
    return sorted(found)


def calendar_issues(definition: Definition, document: SourceDocument) -> list[Issue]:
    issues = []
    seen: set[str] = set()
    for index, calendar in enumerate(definition.organisation.source.calendars):
        path = definition.folder / calendar.file
        try:
            if not path.is_file():
                raise ValueError("filen finns inte i organisationens mapp")
            events = _events(path)
        except (ValueError, OSError, KeyError, IndexError, TypeError) as exc:
            issues.append(document.issue(("calendars", index, "file"), f"{calendar.file}: {exc}"))
            continue
        for position, spec in enumerate(calendar.milestones):
            where = ("calendars", index, "milestones", position)
            if spec.key in seen:
                issues.append(document.issue((*where, "key"), f"milstolpen '{spec.key}' finns redan"))
            seen.add(spec.key)
            if not any(spec.summary.lower() in summary.lower() for _, summary, _ in events):
                issues.append(
                    document.issue((*where, "summary"), f"ingen händelse i {calendar.file} heter '{spec.summary}'")
                )
    return issues


def read_milestones(definition: Definition) -> dict[str, list[Milestone]]:
    """Every milestone's events, by key, sorted by date (unreadable files give none:
    `calendar_issues` reports them)."""
    result: dict[str, list[Milestone]] = {}
    for calendar in definition.organisation.source.calendars:
        try:
            events = _events(definition.folder / calendar.file)
        except (ValueError, OSError, KeyError, IndexError, TypeError):
            events = []
        for spec in calendar.milestones:
            result[spec.key] = [
                Milestone(spec.key, day, summary, calendar.name, uid)
                for day, summary, uid in events
                if spec.summary.lower() in summary.lower()
            ]
    return result


def milestones_in(definition: Definition, start: dt.date, end: dt.date) -> list[Milestone]:
    """The milestones between two days, for the plan, the wheel and the feed."""
    return sorted(
        (m for found in definition.milestones.values() for m in found if start <= m.date <= end),
        key=lambda m: (m.date, m.key),
    )
