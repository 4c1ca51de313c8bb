"""The I/O units that change steps: each one transaction (state, audit, outbox), then the
Prefect side effects that follow a committed change (events, waking the steps that
waited).

The step flow calls them as plain functions, not as Prefect task runs: a task run costs
the Prefect server more than the work it records, and each change is recorded in the
audit log anyway."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prefect import get_client
from prefect.exceptions import ObjectNotFound
from sqlmodel import Session

from arshjul.core import clock, runtime
from arshjul.core.database import session_scope
from models.dependencies import NEIGHBOUR_COLUMNS, dependencies_by_step, dependents, unfinished, unfinished_dependencies
from models.queries import waiting_steps_with_runs
from models.states import ACTION_BY_LABEL, Action, step_is_done
from models.steps import DIARIENUMMER, StaleInput, StepActionError, open_step, perform, reject_input
from models.tables import StepInstance, StepState
from tasks.checkpoints import checkpoint_if_cycle_closed
from tasks.events import emit_step_event

log = logging.getLogger(__name__)

EVENT_FOR_ACTION = {Action.submit: "submitted", Action.approve: "approved", Action.send_back: "returned"}


@dataclass(frozen=True)
class Outcome:
    """What became of an input: accepted (the step is now in `state`), refused (the
    message says why, in Swedish), or stale (it answered a question the step no longer
    asks, because someone acted elsewhere)."""

    accepted: bool
    stale: bool
    message: str
    state: StepState | None = None


STALE = Outcome(
    accepted=False, stale=True, message="steget har ändrats sedan formuläret visades; frågan ställs på nytt"
)


def read_step(instance_id: int) -> StepInstance:
    with Session(runtime.engine(), expire_on_commit=False) as session:
        step = session.get(StepInstance, instance_id)
        if step is None:
            raise ValueError(f"step instance {instance_id} does not exist in the app database")
        return step


def blockers_of(instance_id: int) -> list[StepInstance]:
    with Session(runtime.engine(), expire_on_commit=False) as session:
        return unfinished_dependencies(session.get(StepInstance, instance_id), session=session)


def open_step_now(instance_id: int, flow_run_id: str | None) -> bool:
    with session_scope(runtime.engine()) as session:
        step = session.get(StepInstance, instance_id)
        ctx = runtime.context_for_step(step, session=session)
        opened = open_step(
            instance_id, session=session, ctx=ctx, now=clock.now(), source="system", flow_run_id=flow_run_id
        )
    if opened:
        emit_step_event("opened", step, flow_run_id=flow_run_id)  # the same row, as committed
    return opened


def apply_action(
    instance_id: int,
    action: Action,
    *,
    actor_email: str,
    comment: str,
    diarienummer: str | None,
    source: str,
    flow_run_id: str | None = None,
    expected_round: int | None = None,
    expected_version: int | None = None,
    document_reference: str | None = None,
    origin: dict | None = None,
) -> StepInstance:
    """Perform an action in one transaction (state, audit, outbox). Raises
    StepActionError (Swedish) or StaleInput; a refused action writes nothing."""
    with session_scope(runtime.engine()) as session:
        step = session.get(StepInstance, instance_id)
        if step is None:
            raise StepActionError(f"steg {instance_id} finns inte")
        ctx = runtime.context_for_step(step, session=session)
        return perform(
            instance_id,
            action,
            actor_email=actor_email,
            comment=comment,
            diarienummer=diarienummer,
            session=session,
            ctx=ctx,
            now=clock.now(),
            source=source,
            flow_run_id=flow_run_id,
            expected_round=expected_round,
            expected_version=expected_version,
            document_reference=document_reference,
            origin=origin,
        )


def after_action(step: StepInstance, action: Action, flow_run_id: str | None = None) -> None:
    """What follows a committed action in Prefect: its event, and waking the steps that
    waited for this one."""
    emit_step_event(
        EVENT_FOR_ACTION[action],
        step,
        flow_run_id=flow_run_id,
        payload={"by": step.submitted_by if action is Action.submit else step.decided_by_person},
    )
    if step_is_done(step):
        wake_dependents(step.id)
        checkpoint_if_cycle_closed(step)


def record_input(
    instance_id: int, form: dict, *, expected_round: int, flow_run_id: str | None, source: str = "ui"
) -> Outcome:
    """Apply the input of a Resume form; refused input is recorded and explained.

    Whoever fills in the Prefect form acts on behalf of the person whose address they
    give (Prefect's sign-in is the regionstab's, shared): the audit's origin says so."""
    label = str(form.get("åtgärd", ""))
    actor = str(form.get("epostadress", "")).strip()
    action = ACTION_BY_LABEL.get(label)
    reference = " ".join(str(form.get("diarienummer") or "").split())
    is_diarienummer = bool(DIARIENUMMER.match(reference)) or action is not Action.submit
    if source == "simulering":
        origin = {"via": "simulering", "simulated_person": actor}
    else:
        origin = {"via": "prefect-formuläret", "on_behalf_of": actor, "operator": "regionstaben (Prefect-inloggningen)"}
    try:
        if action is None:
            raise StepActionError(f"okänd åtgärd '{label}': välj lämna in, godkänn eller återremittera")
        step = apply_action(
            instance_id,
            action,
            actor_email=actor,
            comment=str(form.get("kommentar") or ""),
            diarienummer=(reference if is_diarienummer else "") or None,
            document_reference=None if is_diarienummer else reference or None,
            source=source,
            flow_run_id=flow_run_id,
            expected_round=expected_round,
            origin=origin,
        )
        after_action(step, action, flow_run_id)
        return Outcome(
            accepted=True, stale=False, message=f"{label} av {actor} registrerat", state=StepState(step.state)
        )
    except StaleInput:
        return STALE
    except StepActionError as refusal:
        try:
            with session_scope(runtime.engine()) as session:
                reject_input(
                    instance_id,
                    reason=str(refusal),
                    actor_email=actor,
                    session=session,
                    now=clock.now(),
                    source=source,
                    flow_run_id=flow_run_id,
                    expected_round=expected_round,
                    origin=origin,
                )
        except StaleInput:
            return STALE
        return Outcome(accepted=False, stale=False, message=str(refusal))


def wake_dependents(instance_id: int) -> list[str]:
    """Resume the runs of steps that waited only for this one (their runs are suspended
    without a form while they wait). Returns the flow run ids resumed."""
    with Session(runtime.engine(), expire_on_commit=False) as session:
        step = session.get(StepInstance, instance_id)
        waiting = [
            d
            for d in dependents(step, session=session)
            if StepState(d.state) in (StepState.open, StepState.returned) and d.flow_run_id
        ]
        needs = dependencies_by_step([d.id for d in waiting], session=session, columns=NEIGHBOUR_COLUMNS)
        ready = [d for d in waiting if not unfinished(needs[d.id])]
    return resume_waiting_runs([d.flow_run_id for d in ready])


def resume_waiting_runs(flow_run_ids: list[str]) -> list[str]:
    """Resume runs that are suspended waiting for dependencies (no input expected)."""
    resumed = []
    if not flow_run_ids:
        return resumed
    with get_client(sync_client=True) as client:
        for flow_run_id in flow_run_ids:
            try:
                run = client.read_flow_run(flow_run_id)
            except ObjectNotFound:
                log.warning("flow run %s of a waiting step no longer exists", flow_run_id)
                continue
            if run.state and run.state.is_paused() and not run.state.state_details.run_input_keyset:
                response = client.resume_flow_run(run.id)
                if response.status.value == "ACCEPT":
                    resumed.append(flow_run_id)
    return resumed


def nudge_run_after_external_action(step: StepInstance, form: dict) -> bool:
    """After an action taken outside the UI (CLI, simulation), resume the step's run if it
    sits waiting for a form, so it reads the new state. The form values only satisfy the
    waiting form's schema: the run sees that its question was answered elsewhere."""
    if not step.flow_run_id:
        return False
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(step.flow_run_id)
        except ObjectNotFound:
            return False
        if not (run.state and run.state.is_paused()):
            return False
        keyset = run.state.state_details.run_input_keyset
        response = client.resume_flow_run(run.id, run_input=form if keyset else None)
        return response.status.value == "ACCEPT"


def waiting_dependents_of_done_steps(cycle_id: int) -> list[str]:
    """Safety net for the sweep: runs still waiting although their dependencies are done."""
    with Session(runtime.engine()) as session:
        waiting = waiting_steps_with_runs(session=session, cycle_id=cycle_id)
        needs = dependencies_by_step([s.id for s in waiting], session=session, columns=NEIGHBOUR_COLUMNS)
        return [s.flow_run_id for s in waiting if not unfinished(needs[s.id])]
