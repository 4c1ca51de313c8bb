"""External calendars as milestones: an organisation lists .ics files (national deadlines,
SKR's timetable) in organisation.yaml under `calendars`; each names its milestones by the
summary of their events. Steps anchor rules on them (`due: {milestone: …, offset: -5}`),
and the plan, the wheel and the personal feed show them.

Read with icalendar; a file that is missing or not iCalendar is a located problem of
organisation.yaml, never a traceback. A calendar given as a feed (`url`) is read from the
local copy a `FeedReader` hands over (the kernel's `arshjul.core.calendar_feeds` fetches
it and keeps the last good copy): this module does no network I/O of its own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import icalendar

from models.source import Issue, SourceDocument

if TYPE_CHECKING:
    from models.definition import Definition
    from models.schema_organisation import ExternalCalendar

MAX_CALENDAR_BYTES = 2_000_000


@dataclass(frozen=True)
class Milestone:
    key: str
    date: dt.date
    name: str  # the event's summary
    calendar: str  # the calendar's name
    uid: str


class FeedUnavailable(Exception):
    """A feed that could not be fetched and has no good copy; the message is Swedish."""


class FeedReader(Protocol):
    def __call__(self, key: str, url: str) -> Path:
        """The local copy of the feed at `url` (fetched now, or the last good one);
        raises FeedUnavailable when there is none."""
        ...


def read_feeds(definition: Definition, reader: FeedReader | None) -> None:
    """Resolve every feed calendar to its local copy, or record why there is none."""
    for calendar in definition.organisation.source.calendars:
        if calendar.url is None:
            continue
        if reader is None:
            definition.feed_problems[calendar.key] = "flöden över nätet läses inte i detta sammanhang"
            continue
        try:
            definition.feed_copies[calendar.key] = reader(calendar.key, calendar.url)
        except FeedUnavailable as exc:
            definition.feed_problems[calendar.key] = str(exc)


def calendar_path(definition: Definition, calendar: ExternalCalendar) -> Path | None:
    """Where the calendar's events are read from: its file, or its feed's local copy."""
    if calendar.file is not None:
        return definition.folder / calendar.file
    return definition.feed_copies.get(calendar.key)


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
        field_name = "file" if calendar.file is not None else "url"
        path = calendar_path(definition, calendar)
        try:
            if path is None:
                raise ValueError(definition.feed_problems.get(calendar.key, "flödet har inte hämtats"))
            if not path.is_file():
                raise ValueError("filen finns inte i organisationens mapp")
            events = _events(path)
        except (ValueError, OSError, KeyError, IndexError, TypeError) as exc:
            issues.append(document.issue(("calendars", index, field_name), f"{calendar.source}: {exc}"))
            continue
        for position, spec in enumerate(calendar.milestones):
            where = ("calendars", index, "milestones", position)
            if spec.key in seen:
                issues.append(document.issue((*where, "key"), f"milstolpen '{spec.key}' finns redan"))
            seen.add(spec.key)
            if not any(spec.summary.lower() in summary.lower() for _, summary, _ in events):
                issues.append(
                    document.issue((*where, "summary"), f"ingen händelse i {calendar.source} heter '{spec.summary}'")
                )
    return issues


def read_milestones(definition: Definition) -> dict[str, list[Milestone]]:
    """Every milestone's events, by key, sorted by date (unreadable files give none:
    `calendar_issues` reports them)."""
    result: dict[str, list[Milestone]] = {}
    for calendar in definition.organisation.source.calendars:
        path = calendar_path(definition, calendar)
        try:
            events = _events(path) if path is not None else []
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
