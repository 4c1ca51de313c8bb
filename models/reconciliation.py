"""Reconciliation: the app database is the truth, a step's Prefect run is its face.

`heal_for` decides, purely, what a run needs so that it matches its step again; the
reconciler (tasks/reconcile.py) reads the runs, applies the heals and audits each one
here, with the source `avstämning`. What can be out of line:

- a run left Running (or Pending) by a process that is gone: crashed, then rescheduled;
- a run that ended (Completed, Cancelled, Failed, Crashed) while its step is not done:
  the state was forced in the Prefect UI, or the process died: rescheduled, so a fresh
  execution takes the step up from the app's state;
- a run still Suspended although its step is done (an action taken elsewhere whose
  nudge was lost): rescheduled, so it completes;
- an input Prefect accepted (the Resume) that the app never recorded: the reconciler
  records it through the same rules as the form (or records the refusal), then the
  run asks again;
- a run Suspended with a form whose schema Prefect never got (its process died between
  the suspension and the saving of the form, in versions that saved it after): no
  Resume can answer it, so it is rescheduled and asks again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session, col, select

from models.states import step_is_done
from models.steps import audit_change
from models.tables import AuditEntry, StepInstance, StepState

SOURCE = "avstämning"
ACTION = "run.reconciled"


class Heal(StrEnum):
    crashed = "crashed"  # Running with its process gone (or Crashed): rescheduled
    ended_early = "ended_early"  # Completed or Cancelled (by hand) while the step is open
    failed = "failed"  # Failed while the step is open
    finish = "finish"  # the step is done but the run still waits
    input_recorded = "input_recorded"  # an accepted Resume the app had not recorded
    form_lost = "form_lost"  # Suspended with a form Prefect has no schema for: no Resume can answer it


ACTIVE = {"RUNNING", "PENDING", "CANCELLING"}
ENDED = {"COMPLETED", "CANCELLED", "CRASHED", "FAILED"}


@dataclass(frozen=True)
class RunView:
    """What the reconciler needs of a Prefect run, without Prefect's types."""

    state_type: str  # Prefect's StateType value: SCHEDULED, RUNNING, PAUSED, COMPLETED, …
    state_name: str
    updated: dt.datetime | None  # when the run entered its state
    form_lost: bool = False  # it waits for a form whose schema Prefect does not have


def heal_for(step: StepInstance, run: RunView, *, orphaned: bool) -> Heal | None:
    """What the run needs to match its step, or None. `orphaned`: the caller knows that no
    process executes this run now (it is the only executor and has just started), or the
    run's heartbeats stopped long ago."""
    done = step_is_done(step)
    if run.state_type in ACTIVE:
        return Heal.crashed if orphaned else None
    if run.state_type == "COMPLETED":
        return None if done else Heal.ended_early
    if run.state_type == "FAILED":
        return Heal.failed
    if run.state_type == "CRASHED":
        return Heal.crashed
    if run.state_type in ENDED:
        return Heal.ended_early
    if run.state_type == "PAUSED" and done:
        return Heal.finish
    if run.state_type == "PAUSED" and run.form_lost:
        return Heal.form_lost
    return None


def reschedule_at(step: StepInstance, now: dt.datetime) -> dt.datetime:
    """A planned step's run waits for the opening; any other starts now."""
    if StepState(step.state) is StepState.planned and step.opens_at > now:
        return step.opens_at
    return now


def record_heal(
    step: StepInstance,
    heal: Heal,
    *,
    session: Session,
    now: dt.datetime,
    run_before: str,
    run_after: str,
    note: str,
) -> AuditEntry:
    """Audit one healing of a run, in the caller's transaction."""
    return audit_change(
        step,
        ACTION,
        session=session,
        now=now,
        actor="system",
        source=SOURCE,
        before={"run_state": run_before, "step_state": str(step.state)},
        after={"heal": heal.value, "run_state": run_after},
        comment=note,
        flow_run_id=step.flow_run_id,
    )


def recent_heals(*, session: Session, cycle_id: int, limit: int = 50) -> list[AuditEntry]:
    """The latest healings of a cycle's runs (and inputs the reconciler recorded), newest first."""
    return list(
        session.exec(
            select(AuditEntry)
            .where(AuditEntry.cycle_id == cycle_id, AuditEntry.source == SOURCE)
            .order_by(col(AuditEntry.id).desc())
            .limit(limit)
        )
    )
