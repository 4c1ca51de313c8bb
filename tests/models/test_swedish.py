"""Swedish wording: dates in running text, periods, plurals, lists, validation errors."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel, Field, ValidationError

from models.swedish import (
    day_month,
    describe_error,
    describe_setting_error,
    genitive,
    join_list,
    period_label,
    short_period,
    swedish_date,
    working_days,
)

D = dt.date


@pytest.mark.parametrize(
    "day, expected",
    [
        (D(2026, 12, 23), "onsdag 23 december 2026"),
        (D(2026, 11, 17), "tisdag 17 november 2026"),
        (D(2027, 1, 1), "fredag 1 januari 2027"),
        (D(2028, 2, 29), "tisdag 29 februari 2028"),
        (D(2026, 6, 19), "fredag 19 juni 2026"),
        (D(2027, 3, 1), "måndag 1 mars 2027"),
        (D(2026, 1, 31), "lördag 31 januari 2026"),
        (D(2026, 8, 9), "söndag 9 augusti 2026"),
        (D(2026, 10, 8), "torsdag 8 oktober 2026"),
    ],
)
def test_swedish_dates(day, expected):
    assert swedish_date(day) == expected


def test_day_and_month_carry_the_year_only_when_it_differs():
    assert day_month(D(2026, 12, 23), today=D(2026, 11, 2)) == "23 december"
    assert day_month(D(2027, 1, 15), today=D(2026, 12, 1)) == "15 januari 2027"
    assert day_month(D(2027, 1, 15)) == "15 januari 2027"


def test_small_swedish_helpers():
    assert working_days(1) == "1 arbetsdag" and working_days(0) == "0 arbetsdagar"
    assert genitive("Eva Ek") == "Eva Eks" and genitive("Lars") == "Lars" and genitive("Max") == "Max"
    assert join_list([]) == "" and join_list(["A"]) == "A" and join_list(["A", "B", "C"]) == "A, B och C"


@pytest.mark.parametrize(
    "period, label, short",
    [
        ("2027-02", "februari 2027", "feb"),
        ("2027-02-16", "16 februari 2027", "16 feb"),
        ("2026-12", "december 2026", "dec"),
    ],
    ids=["month", "meeting-day", "december"],
)
def test_periods(period, label, short):
    assert period_label(period) == label and short_period(period) == short


class _Sample(BaseModel):
    retries: int = Field(ge=1)
    share: float
    enabled: bool


@pytest.mark.parametrize(
    "data, with_value, without_value",
    [
        ({"retries": "x", "share": 1, "enabled": True}, "måste vara ett heltal, fick 'x'", "måste vara ett heltal"),
        ({"retries": 0, "share": 1, "enabled": True}, "måste vara minst 1, fick 0", "måste vara minst 1"),
        ({"retries": 1, "share": "y", "enabled": True}, "måste vara ett tal, fick 'y'", "måste vara ett tal"),
        (
            {"retries": 1, "share": 1, "enabled": "kanske"},
            "måste vara true eller false, fick 'kanske'",
            "måste vara true eller false",
        ),
        ({"share": 1, "enabled": True}, "saknas (obligatoriskt fält)", "saknas (obligatoriskt fält)"),
    ],
    ids=["not-an-integer", "below-minimum", "not-a-number", "not-a-boolean", "missing"],
)
def test_validation_errors_are_worded_the_same_for_files_and_settings(data, with_value, without_value):
    with pytest.raises(ValidationError) as raised:
        _Sample.model_validate(data)
    (error,) = raised.value.errors()
    assert describe_error(error) == with_value
    assert describe_error(error, show_value=False) == without_value
    assert describe_setting_error(error, prefix="ARSHJUL_").endswith(f": {without_value}")
