"""Deadlines as iCalendar (RFC 5545), built with the `icalendar` package.

A deadline is an all-day event on the due date, marked free (TRANSP:TRANSPARENT) so it
does not block the manager's calendar, with one alarm per reminder at the start of the
working day. The UID is stable per step instance, so importing or subscribing again
updates the same event; a moved deadline is sent with the same UID and a higher SEQUENCE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import icalendar

PRODID = "-//arshjul//årshjulet//SV"


@dataclass(frozen=True)
class Deadline:
    uid: str
    summary: str
    due: dt.date
    description: str
    reminders: tuple[dt.date, ...] = ()
    url: str | None = None
    sequence: int = 0
    categories: tuple[str, ...] = field(default_factory=tuple)
    cancelled: bool = False


def deadline_event(deadline: Deadline, *, dtstamp: dt.datetime, reminder_time: dt.time) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", deadline.uid)
    event.add("dtstamp", dtstamp.astimezone(dt.timezone.utc))
    event.add("sequence", deadline.sequence)
    event.add("summary", deadline.summary)
    event.add("dtstart", deadline.due)
    event.add("dtend", deadline.due + dt.timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    event.add("description", deadline.description)
    event.add("status", "CANCELLED" if deadline.cancelled else "CONFIRMED")
    if deadline.url:
        event.add("url", deadline.url)
    if deadline.categories:
        event.add("categories", list(deadline.categories))
    for day in deadline.reminders:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Påminnelse: {deadline.summary} – deadline {deadline.due.isoformat()}")
        # Relative to the all-day start (00:00 on the due date, local time).
        alarm.add("trigger", dt.datetime.combine(day, reminder_time) - dt.datetime.combine(deadline.due, dt.time()))
        event.add_component(alarm)
    return event


def build_calendar(
    deadlines: Iterable[Deadline],
    *,
    name: str,
    timezone: str,
    dtstamp: dt.datetime,
    reminder_time: dt.time = dt.time(8, 0),
    method: str = "PUBLISH",
) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", timezone)
    # The organisation's zone, for clients that place all-day events and alarms by it.
    calendar.add_component(icalendar.Timezone.from_tzid(timezone))
    for deadline in deadlines:
        calendar.add_component(deadline_event(deadline, dtstamp=dtstamp, reminder_time=reminder_time))
    return calendar.to_ical()
