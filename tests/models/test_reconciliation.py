"""What the reconciler makes of each pair of step state and run state (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from models.reconciliation import Heal, RunView, heal_for, reschedule_at
from models.tables import StepInstance, StepState

NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def step(state: StepState, decided_by: str | None = "rf", opens_at: dt.datetime = NOW) -> StepInstance:
    return StepInstance(
        id=1,
        cycle_id=1,
        key="regionplan:region",
        step="regionplan",
        name="Regionplan",
        kind="plan",
        process="styrning",
        level="region",
        unit="region",
        unit_name="Regionen",
        owner_role="ekonomidirektor",
        decided_by=decided_by,
        opens=opens_at.date(),
        due=dt.date(2026, 6, 1),
        uid="x",
        opens_at=opens_at,
        state=state,
        updated_at=NOW,
    )


def run(state_type: str, name: str = "") -> RunView:
    return RunView(state_type=state_type, state_name=name or state_type.title(), updated=NOW)


@pytest.mark.parametrize(
    ("state", "run_state", "orphaned", "heal"),
    [
        (StepState.open, "RUNNING", True, Heal.crashed),
        (StepState.open, "RUNNING", False, None),
        (StepState.submitted, "PENDING", True, Heal.crashed),
        (StepState.open, "CRASHED", False, Heal.crashed),
        (StepState.open, "COMPLETED", False, Heal.ended_early),
        (StepState.submitted, "CANCELLED", False, Heal.ended_early),
        (StepState.returned, "FAILED", False, Heal.failed),
        (StepState.planned, "CANCELLED", False, Heal.ended_early),
        (StepState.approved, "COMPLETED", False, None),
        (StepState.approved, "PAUSED", False, Heal.finish),
        (StepState.approved, "CANCELLED", False, Heal.ended_early),
        (StepState.open, "PAUSED", True, None),
        (StepState.submitted, "SCHEDULED", True, None),
        (StepState.planned, "SCHEDULED", True, None),
    ],
    ids=[
        "running-orphaned",
        "running-live-executor",
        "pending-orphaned",
        "crashed",
        "completed-by-hand",
        "cancelled-by-hand",
        "failed",
        "planned-cancelled",
        "done-completed",
        "done-still-waiting",
        "done-cancelled",
        "waiting-for-form",
        "resumed",
        "scheduled",
    ],
)
def test_heal_for(state, run_state, orphaned, heal):
    assert heal_for(step(state), run(run_state), orphaned=orphaned) == heal


@pytest.mark.parametrize("state", [StepState.open, StepState.returned, StepState.submitted])
def test_a_run_waiting_for_a_form_prefect_lacks_is_asked_again(state):
    lost = RunView(state_type="PAUSED", state_name="Suspended", updated=NOW, form_lost=True)
    assert heal_for(step(state), lost, orphaned=True) == Heal.form_lost
    assert heal_for(step(StepState.approved), lost, orphaned=True) == Heal.finish  # done: it only completes


def test_a_submitted_step_without_decider_is_done_and_its_completed_run_in_line():
    assert heal_for(step(StepState.submitted, decided_by=None), run("COMPLETED"), orphaned=True) is None


@pytest.mark.parametrize(
    ("state", "opens_at", "expected"),
    [
        (StepState.planned, NOW + dt.timedelta(days=3), NOW + dt.timedelta(days=3)),
        (StepState.planned, NOW - dt.timedelta(days=3), NOW),
        (StepState.open, NOW - dt.timedelta(days=3), NOW),
    ],
    ids=["planned-waits-for-opening", "planned-overdue-opening", "open-now"],
)
def test_a_rescheduled_run_starts_at_the_opening_or_now(state, opens_at, expected):
    assert reschedule_at(step(state, opens_at=opens_at), NOW) == expected
