"""Working days: which dates count, and arithmetic in working days.

A working day is a weekday that is neither a holiday of the organisation's country (in
the `holidays` categories it lists: for Sweden "public" plus "de_facto", which adds
midsommarafton, julafton and nyårsafton) nor one of the organisation's own closure days.
Pure functions of dates; the clock is never read here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cached_property

import holidays
import pendulum

from models.swedish import weekday


class WorkingCalendar:
    def __init__(
        self,
        *,
        country: str = "SE",
        categories: Iterable[str] = ("public",),
        closure_days: Iterable[dt.date] = (),
        timezone: str = "Europe/Stockholm",
        workday_start: dt.time = dt.time(8, 0),
    ):
        self.country = country
        self.categories = tuple(categories)
        self.closure_days = frozenset(closure_days)
        self.timezone = timezone
        self.workday_start = workday_start
        self._working: dict[dt.date, bool] = {}

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        # Swedish names ("Midsommarafton") where the package has them.
        language = "sv" if "sv" in holidays.list_localized_countries().get(self.country, ()) else None
        return holidays.country_holidays(self.country, categories=self.categories, language=language)

    def non_working_reason(self, day: dt.date) -> str | None:
        """Why `day` is not a working day (in Swedish), or None if it is one."""
        if day.weekday() >= 5:
            return weekday(day)
        name = self._holidays.get(day)
        if name:
            return str(name)
        if day in self.closure_days:
            return "stängd dag enligt organisationen"
        return None

    def is_working_day(self, day: dt.date) -> bool:
        known = self._working.get(day)
        if known is None:
            known = self._working[day] = self.non_working_reason(day) is None
        return known

    def roll(self, day: dt.date, direction: str) -> dt.date:
        """Move a non-working day to the previous or next working day ('none' keeps it)."""
        if direction == "none":
            return day
        step = dt.timedelta(days=-1 if direction == "previous" else 1)
        while not self.is_working_day(day):
            day += step
        return day

    def add_working_days(self, day: dt.date, count: int) -> dt.date:
        """The `count`-th working day after `day` (before it if negative); `day` itself
        is not counted. With count 0, `day` is returned unchanged."""
        step = dt.timedelta(days=1 if count > 0 else -1)
        remaining = abs(count)
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_after(self, start: dt.date, end: dt.date) -> int:
        """How many working days lie after `start` up to and including `end` (0 if end <= start).
        A step due on `start` is this many working days overdue on `end`."""
        if end <= start:
            return 0
        count = 0
        day = start
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def at_start_of_day(self, day: dt.date) -> pendulum.DateTime:
        """The moment the working day starts (e.g. 08:00) in the organisation's time zone."""
        return pendulum.datetime(
            day.year, day.month, day.day, self.workday_start.hour, self.workday_start.minute, tz=self.timezone
        )

    @cached_property
    def _zone(self) -> pendulum.Timezone:
        return pendulum.timezone(self.timezone)

    def local_date(self, moment: dt.datetime) -> dt.date:
        """The calendar date of a moment in the organisation's time zone (a naive moment
        is taken as UTC, as the database returns them)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(self._zone).date()
