"""Meeting plans written as rules: an RFC 5545 RRULE (python-dateutil) expanded to the
dates of one year, less the exceptions, plus the dates listed beside it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from dateutil.rrule import rrulestr

if TYPE_CHECKING:
    from models.schema import StandingMeetings
    from models.schema_meetings import Meeting, MeetingRule
    from models.workdays import WorkingCalendar


def rule_problem(rule: str) -> str | None:
    """A Swedish sentence if `rule` is not an RRULE this application can expand."""
    text = rule.upper()
    if "COUNT=" in text or "UNTIL=" in text:
        return f"mötesregeln '{rule}' får inte ange COUNT eller UNTIL: den gäller filens år"
    if not text.startswith("FREQ=") and "RRULE:" not in text:
        return f"mötesregeln '{rule}' är ingen RRULE: skriv t.ex. FREQ=MONTHLY;BYDAY=+3TU (tredje tisdagen)"
    try:
        rrulestr(rule, dtstart=dt.datetime(2000, 1, 1))
    except (ValueError, TypeError) as exc:
        return f"mötesregeln '{rule}' går inte att tolka ({exc})"
    return None


def rule_dates(rule: str, year: int) -> list[dt.date]:
    """The rule's days in `year`."""
    start, end = dt.datetime(year, 1, 1), dt.datetime(year, 12, 31, 23, 59)
    return [moment.date() for moment in rrulestr(rule, dtstart=start).between(start, end, inc=True)]


def expand(plan: MeetingRule, year: int) -> list[Meeting]:
    """The meetings of `year` the plan describes, sorted."""
    from models.schema_meetings import Meeting

    excluded = set(plan.exclude)
    days = {day for day in rule_dates(plan.rule, year) if day.month not in plan.except_months and day not in excluded}
    listed = {meeting.date: meeting for meeting in plan.dates}
    meetings = [listed.get(day) or Meeting(date=day, time=plan.time, note="enligt mötesregeln") for day in days]
    meetings += [meeting for day, meeting in listed.items() if day not in days]
    return sorted(meetings, key=lambda meeting: meeting.date)


def standing_dates(plan: StandingMeetings, year: int, calendar: WorkingCalendar) -> list[Meeting]:
    """A body's usual rhythm in a year no meetings file covers: tentative dates, a
    holiday's moved to the next working day."""
    from models.schema_meetings import Meeting

    days = sorted(
        {calendar.roll(day, "next") for day in rule_dates(plan.rule, year) if day.month not in plan.except_months}
    )
    return [Meeting(date=day, note="preliminärt (enligt organets mötesrytm)") for day in days]
