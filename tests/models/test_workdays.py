"""Working days and deadline arithmetic: tables of dates, holidays and DST switches."""

import datetime as dt

import pendulum
import pytest

from models.workdays import WorkingCalendar

D = dt.date
SWEDEN = WorkingCalendar(country="SE", categories=("public", "de_facto"), closure_days=[D(2027, 5, 7)])


@pytest.mark.parametrize(
    "day, working, reason",
    [
        (D(2027, 3, 25), True, None),  # Skärtorsdag is a working day (half day at most)
        (D(2027, 3, 26), False, "Långfredagen"),
        (D(2027, 3, 29), False, "Annandag påsk"),
        (D(2027, 5, 6), False, "Kristi himmelsfärdsdag"),
        (D(2027, 5, 7), False, "stängd dag enligt organisationen"),  # klämdag, closed by the organisation
        (D(2027, 6, 24), True, None),
        (D(2027, 6, 25), False, "Midsommarafton"),
        (D(2027, 12, 23), True, None),
        (D(2027, 12, 24), False, "Julafton"),
        (D(2027, 12, 31), False, "Nyårsafton"),
        (D(2028, 1, 6), False, "Trettondedag jul"),
        (D(2027, 6, 5), False, "lördag"),
        (D(2027, 6, 6), False, "söndag"),
        (D(2027, 6, 7), True, None),
        (D(2026, 6, 19), False, "Midsommarafton"),
        (D(2028, 6, 6), False, "Nationaldagen"),
    ],
)
def test_working_days(day, working, reason):
    assert SWEDEN.is_working_day(day) is working
    assert SWEDEN.non_working_reason(day) == reason


def test_closure_days_belong_to_the_organisation():
    without_closure = WorkingCalendar(country="SE", categories=("public", "de_facto"))
    assert without_closure.is_working_day(D(2027, 5, 7))
    assert not SWEDEN.is_working_day(D(2027, 5, 7))


def test_de_facto_days_need_their_category():
    public_only = WorkingCalendar(country="SE", categories=("public",))
    assert public_only.is_working_day(D(2027, 12, 24))
    assert not SWEDEN.is_working_day(D(2027, 12, 24))


@pytest.mark.parametrize(
    "day, direction, expected",
    [
        (D(2027, 3, 26), "previous", D(2027, 3, 25)),  # Good Friday → Maundy Thursday
        (D(2027, 3, 28), "previous", D(2027, 3, 25)),  # Easter Sunday → back over Sat and Good Friday
        (D(2027, 3, 28), "next", D(2027, 3, 30)),  # → over Easter Monday
        (D(2027, 5, 6), "previous", D(2027, 5, 5)),
        (D(2027, 5, 6), "next", D(2027, 5, 10)),  # Ascension, klämdag, weekend
        (D(2027, 6, 25), "previous", D(2027, 6, 24)),
        (D(2027, 6, 25), "next", D(2027, 6, 28)),
        (D(2027, 12, 24), "previous", D(2027, 12, 23)),
        (D(2027, 12, 24), "next", D(2027, 12, 27)),
        (D(2027, 12, 31), "previous", D(2027, 12, 30)),
        (D(2027, 12, 31), "next", D(2028, 1, 3)),
        (D(2027, 12, 31), "none", D(2027, 12, 31)),
        (D(2027, 12, 30), "previous", D(2027, 12, 30)),  # already a working day
    ],
)
def test_roll(day, direction, expected):
    assert SWEDEN.roll(day, direction) == expected


@pytest.mark.parametrize(
    "day, count, expected",
    [
        (D(2027, 3, 24), 2, D(2027, 3, 30)),  # Thu 25, (Good Friday, weekend, Easter Monday), Tue 30
        (D(2027, 3, 30), -2, D(2027, 3, 24)),
        (D(2027, 5, 4), 3, D(2027, 5, 11)),  # Wed 5, (Ascension, klämdag, weekend), Mon 10, Tue 11
        (D(2027, 6, 28), -1, D(2027, 6, 24)),  # back over midsommar
        (D(2027, 12, 22), 3, D(2027, 12, 28)),  # 23, (julafton, weekend), 27, 28
        (D(2027, 12, 31), -1, D(2027, 12, 30)),
        (D(2027, 12, 31), 0, D(2027, 12, 31)),
        (D(2027, 3, 26), 1, D(2027, 3, 30)),  # counting from a holiday
    ],
)
def test_add_working_days(day, count, expected):
    assert SWEDEN.add_working_days(day, count) == expected


@pytest.mark.parametrize(
    "due, today, overdue_days",
    [
        (D(2027, 3, 25), D(2027, 3, 25), 0),
        (D(2027, 3, 25), D(2027, 3, 29), 0),  # only holidays and a weekend have passed
        (D(2027, 3, 25), D(2027, 3, 30), 1),
        (D(2027, 12, 23), D(2028, 1, 3), 5),  # 27–30 Dec and Mon 3 Jan; nyårsafton and the weekend do not count
        (D(2027, 6, 24), D(2027, 6, 28), 1),
    ],
)
def test_working_days_after(due, today, overdue_days):
    assert SWEDEN.working_days_after(due, today) == overdue_days


@pytest.mark.parametrize(
    "day, utc",
    [
        # Winter time (CET, UTC+1) until Sunday 28 March 2027 …
        (D(2027, 3, 26), "2027-03-26T07:00:00+00:00"),
        # … summer time (CEST, UTC+2) from then on …
        (D(2027, 3, 29), "2027-03-29T06:00:00+00:00"),
        (D(2027, 3, 28), "2027-03-28T06:00:00+00:00"),  # the switch day itself: 02:00 → 03:00
        # … and back to winter time on Sunday 31 October 2027.
        (D(2027, 10, 29), "2027-10-29T06:00:00+00:00"),
        (D(2027, 10, 31), "2027-10-31T07:00:00+00:00"),
        (D(2027, 11, 1), "2027-11-01T07:00:00+00:00"),
    ],
)
def test_start_of_working_day_across_dst(day, utc):
    moment = SWEDEN.at_start_of_day(day)
    assert moment.in_timezone("UTC").isoformat() == utc
    assert (moment.hour, moment.minute) == (8, 0)
    assert SWEDEN.local_date(moment.in_timezone("UTC")) == day


def test_local_date_near_midnight_follows_stockholm():
    # 23:30 UTC on 31 Dec is already 1 Jan in Stockholm.
    assert SWEDEN.local_date(pendulum.datetime(2027, 12, 31, 23, 30, tz="UTC")) == D(2028, 1, 1)
    # Summer: 22:30 UTC is 00:30 the next day.
    assert SWEDEN.local_date(pendulum.datetime(2027, 6, 24, 22, 30, tz="UTC")) == D(2027, 6, 25)
    # The night the clocks go back: 00:30 UTC is 02:30 summer time, 01:30 UTC is 02:30 winter time.
    assert SWEDEN.local_date(dt.datetime(2026, 10, 24, 21, 59, tzinfo=dt.UTC)) == D(2026, 10, 24)
    assert SWEDEN.local_date(dt.datetime(2026, 10, 24, 22, 0, tzinfo=dt.UTC)) == D(2026, 10, 25)
    # A naive moment, as SQLite returns them, is UTC.
    assert SWEDEN.local_date(dt.datetime(2027, 12, 31, 23, 30)) == D(2028, 1, 1)
    assert SWEDEN.local_date(dt.datetime(2027, 12, 31, 22, 59)) == D(2027, 12, 31)


def test_another_countrys_holidays_in_its_default_language():
    # Swedish names are used only where the holidays package has them for the country.
    norway = WorkingCalendar(country="NO")
    assert "Constitution Day" in norway.non_working_reason(dt.date(2027, 5, 17))
    assert norway.is_working_day(dt.date(2027, 6, 25))  # midsommarafton is Swedish
