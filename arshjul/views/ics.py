"""Deadlines as iCalendar (RFC 5545), built with the `icalendar` package.

A deadline is an all-day event on the due date, marked free (TRANSP:TRANSPARENT) so it
does not block the manager's calendar, with one alarm per reminder at the start of the
working day. The UID is stable per step instance, so importing or subscribing again
updates the same event; a moved deadline is sent with the same UID and a higher SEQUENCE.
Every step's deadline is made by `deadline_for`, for the plan's export and for a mail's
attachment alike, so a calendar titles the same step the same way whichever it came from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

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


def deadline_for(
    *,
    uid: str,
    name: str,
    unit_name: str,
    due: dt.date,
    description: str,
    reminders: Iterable[dt.date] = (),
    url: str | None = None,
    sequence: int = 0,
    categories: tuple[str, ...] = (),
) -> Deadline:
    """A step's deadline as a calendar entry, titled with the step and its unit."""
    return Deadline(
        uid=uid,
        summary=f"Deadline: {name} – {unit_name}",
        due=due,
        description=description,
        reminders=tuple(reminders),
        url=url,
        sequence=sequence,
        categories=categories,
    )


def deadline_event(deadline: Deadline, *, dtstamp: dt.datetime, reminder_time: dt.time) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", deadline.uid)
    event.add("dtstamp", dtstamp.astimezone(dt.UTC))
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
        # The event's own title ("Deadline: … – unit"): what a calendar's pop-up shows.
        alarm.add("description", deadline.summary)
        # Relative to the all-day start (00:00 on the due date, local time).
        alarm.add("trigger", dt.datetime.combine(day, reminder_time) - dt.datetime.combine(deadline.due, dt.time()))
        event.add_component(alarm)
    return event


@lru_cache(maxsize=64)
def vtimezone(tzid: str, first_year: int, last_year: int) -> icalendar.Timezone:
    first, last = dt.date(first_year, 1, 1), dt.date(last_year + 1, 1, 1)
    return icalendar.Timezone.from_tzid(tzid, first_date=first, last_date=last)


def build_calendar(
    deadlines: Iterable[Deadline],
    *,
    name: str,
    timezone: str,
    dtstamp: dt.datetime,
    reminder_time: dt.time = dt.time(8, 0),
    method: str = "PUBLISH",
    with_vtimezone: bool = True,
) -> bytes:
    """The calendar as RFC 5545 bytes. `with_vtimezone=False` leaves out the zone's
    definition: every value here is a DATE or an alarm relative to one, so nothing
    refers to a TZID (RFC 5545 §3.6.5 asks for a VTIMEZONE only then). A mail's
    one-event attachment goes without it: the zone would outweigh the event."""
    deadlines = list(deadlines)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", timezone)
    # The organisation's zone, for clients that place all-day events and alarms by it,
    # with the transitions of the years the deadlines fall in (the whole history since
    # 1970 would make every small mail attachment a long one).
    if with_vtimezone:
        years = [d.due.year for d in deadlines] or [dtstamp.year]
        calendar.add_component(vtimezone(timezone, min(years) - 1, max(years) + 1))
    for deadline in deadlines:
        calendar.add_component(deadline_event(deadline, dtstamp=dtstamp, reminder_time=reminder_time))
    return calendar.to_ical()
