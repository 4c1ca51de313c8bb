"""The guard that stops a simulated year that cannot progress: a Swedish message naming
the stuck steps instead of a simulated clock running on for years."""

from __future__ import annotations

import datetime as dt

import pytest

from flows.simulation_outcome import Progress, SimulationStuck
from models.tables import StepState
from models.workdays import WorkingCalendar
from tests.models.test_reconciliation import step


def test_a_year_that_does_not_move_past_its_last_deadline_stops_with_a_swedish_message(small_definition):
    calendar: WorkingCalendar = small_definition.organisation.calendar
    progress = Progress(calendar, latest=dt.date(2026, 6, 1), patience=5)
    stuck = [step(StepState.open)]
    day = dt.date(2026, 4, 1)
    for _ in range(10):  # still for ten days, but before the last deadline: a late step may yet come
        progress.check(day, stuck)
        day = calendar.add_working_days(day, 1)
    with pytest.raises(SimulationStuck, match="simuleringen kommer inte vidare.*Regionplan · Regionen"):
        progress.check(dt.date(2026, 6, 2), stuck)


def test_a_year_that_moves_is_never_stopped(small_definition):
    calendar = small_definition.organisation.calendar
    progress = Progress(calendar, latest=dt.date(2026, 1, 1), patience=3)
    moving = step(StepState.open)
    day = dt.date(2026, 6, 1)
    for round_ in range(20):
        moving.input_round = round_
        progress.check(day, [moving])
        day = calendar.add_working_days(day, 1)
