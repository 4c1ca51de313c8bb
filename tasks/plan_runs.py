"""The Prefect side of a change to the plan, after it is committed: a cancelled step's
run ends Cancelled, a step moved to someone else has its waiting form asked again (now
addressed to the new owner), an added step gets its run. The app database is already
right; these only bring its face up to date, and a run that cannot be reached now
follows when it next executes."""

from __future__ import annotations

from prefect import get_client
from prefect.exceptions import ObjectNotFound
from prefect.states import Cancelled

from models.tables import StepInstance, StepState
from tasks.flow_runs import create_step_runs
from tasks.steps import nudge_run_after_external_action, wake_dependents


def cancel_run(step: StepInstance) -> bool:
    """End a cancelled step's run as Cancelled (a run executing now sees the state and
    ends so itself); the steps that waited for it are woken."""
    wake_dependents(step.id)
    if not step.flow_run_id:
        return False
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(step.flow_run_id)
        except ObjectNotFound:
            return False
        if run.state is None or run.state.is_final() or run.state.is_running():
            return False
        client.set_flow_run_state(run.id, Cancelled(message=f"Inställt: {step.last_comment or ''}".strip()), force=True)
        return True


def ask_again(step: StepInstance, actor_email: str) -> bool:
    """A step waiting for its owner's form asks again, with the new owner's address."""
    if StepState(step.state) not in (StepState.open, StepState.returned):
        return False
    form = {"åtgärd": "lämna in", "epostadress": actor_email, "kommentar": "", "diarienummer": ""}
    return nudge_run_after_external_action(step, form)


def runs_for_added(cycle_id: int) -> int:
    """Scheduled runs for the cycle's steps that have none (the added ones)."""
    return create_step_runs.fn(cycle_id)
