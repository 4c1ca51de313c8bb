"""The reconciler: every open step of a cycle against its Prefect run, and the
difference healed (models/reconciliation.py decides what each run needs).

Run by the daily sweep, at `arshjul serve` start and at every start of a simulation.
The order matters: first an input Prefect accepted but the app never recorded is
recorded (through the same rules as the form, source `avstämning`; a refusal is
recorded as such and the run asks again), then the run's state is put in line with the
step, each healing audited. A rescheduled run is executed again from the top like any
resumed run, so it reads the step and asks the question the app's state calls for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from dataclasses import dataclass, field

from prefect import get_client
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.input import keyset_from_base_key
from prefect.states import Crashed, Scheduled
from sqlmodel import Session, select

from arshjul.core import clock, runtime
from arshjul.core.database import session_scope
from arshjul.core.settings import get_settings
from models.reconciliation import ACTIVE, SOURCE, Heal, RunView, heal_for, record_heal, reschedule_at
from models.states import step_is_done
from models.steps import advance_round
from models.swedish_reconciliation import CRASHED_MESSAGE, RESCHEDULED_MESSAGE, ZOMBIE_MESSAGE, heal_text
from models.tables import StepInstance, StepState
from tasks.steps import record_input

log = logging.getLogger(__name__)

# The step run's form waits under the key "r<round>" in a state named "Suspended"
# (flows/suspension.py); Prefect keeps the answer under "suspended-r<round>-response".
FORM_INPUT_PREFIX = "suspended"
# A step run executes for seconds and then suspends: one that has been Running this long
# has lost its process, whatever its heartbeats said (Prefect's zombie automation
# usually marks it Crashed well before).
STUCK_AFTER = dt.timedelta(hours=1)
# A resumed run not yet picked up after this long waits for a runner that is gone.
UNPICKED_AFTER = dt.timedelta(minutes=15)

# Served runs and workers send a heartbeat event a minute (PREFECT_FLOWS_HEARTBEAT_FREQUENCY
# =60, set by `arshjul serve`; Prefect's own default is 180 s); Prefect's automation below
# marks a run Crashed when none came for ARSHJUL_ZOMBIE_SECONDS (300) and it did not end
# or suspend either.
ZOMBIE_AUTOMATION = "arshjul: kraschade körningar (uteblivna hjärtslag)"
# The events that end a heartbeat's watch: every state an execution of ours ends in
# (the dependency wait is a Paused state with its own name; see flows/suspension.py).
_EXECUTION_ENDS = ("Completed", "Failed", "Cancelled", "Crashed", "Suspended", "Paused", "Väntar på beroenden")


@dataclass
class Reconciliation:
    heals: list[tuple[str, Heal]] = field(default_factory=list)  # (step key, heal)
    to_execute: list[str] = field(default_factory=list)  # runs that now wait for an execution

    def __bool__(self) -> bool:
        return bool(self.heals)


def _runs(client: SyncPrefectClient, flow_run_ids: list[str]) -> dict[str, FlowRun]:
    runs: dict[str, FlowRun] = {}
    for start in range(0, len(flow_run_ids), 200):
        batch = flow_run_ids[start : start + 200]
        found = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=batch)), limit=200)
        runs.update({str(run.id): run for run in found})
    return runs


def _view(run: FlowRun) -> RunView:
    state = run.state
    return RunView(
        state_type=state.type.value if state else "SCHEDULED",
        state_name=state.name if state else "",
        updated=state.timestamp if state else None,
    )


def unrecorded_input(client: SyncPrefectClient, step: StepInstance) -> dict | None:
    """The answer Prefect holds for the form the step's run asks now (round
    `input_round`), if any: every recorded or refused input advances the round, so an
    answer under the current round's key was never recorded."""
    key = keyset_from_base_key(f"{FORM_INPUT_PREFIX}-r{step.input_round}")["response"]
    try:
        value = client.read_flow_run_input(step.flow_run_id, key)
    except ObjectNotFound:
        return None
    except PrefectHTTPStatusError as exc:
        if exc.response.status_code == 404:
            return None
        raise
    answer = json.loads(value) if isinstance(value, str) else value
    return answer if isinstance(answer, dict) else None


def form_lost(client: SyncPrefectClient, run: FlowRun) -> bool:
    """Whether the run waits for a form whose schema Prefect does not have: the Resume
    endpoint refuses every answer to it ("Run input schema not found"). Left by a process
    that died between suspending the run and saving its form (flows/suspension.py now
    saves the form first)."""
    keyset = run.state.state_details.run_input_keyset if run.state else None
    if not keyset or "schema" not in keyset:
        return False
    try:
        client.read_flow_run_input(run.id, keyset["schema"])
    except ObjectNotFound:
        return True
    except PrefectHTTPStatusError as exc:
        if exc.response.status_code == 404:
            return True
        raise
    return False


def _older_than(view: RunView, age: dt.timedelta, now: dt.datetime) -> bool:
    return view.updated is None or view.updated <= now - age


def reconcile_cycle(cycle_id: int, *, orphaned: bool) -> Reconciliation:
    """Compare every step of the cycle that has a run with the run, and heal. `orphaned`:
    no process executes this cycle's runs now (the caller is their only executor and has
    not started any); else a run counts as stuck after STUCK_AFTER."""
    result = Reconciliation()
    with Session(runtime.engine(), expire_on_commit=False) as session:
        steps = list(
            session.exec(
                select(StepInstance).where(StepInstance.cycle_id == cycle_id, StepInstance.flow_run_id.is_not(None))
            )
        )
    if not steps:
        return result
    with get_client(sync_client=True) as client:
        runs = _runs(client, [step.flow_run_id for step in steps])
        for step in steps:
            run = runs.get(step.flow_run_id)
            if run is None:
                log.warning("flow run %s of step %s no longer exists in Prefect", step.flow_run_id, step.key)
                continue
            _reconcile_step(client, step, run, orphaned=orphaned, result=result)
    return result


def _reconcile_step(
    client: SyncPrefectClient, step: StepInstance, run: FlowRun, *, orphaned: bool, result: Reconciliation
) -> None:
    now = clock.now()
    real_now = dt.datetime.now(dt.UTC)
    view = _view(run)
    stuck = orphaned or (view.state_type in ACTIVE and _older_than(view, STUCK_AFTER, real_now))
    resuming = view.state_type == "SCHEDULED" and view.state_name in ("Resuming", "AwaitingRetry")
    waiting_owner_or_decider = StepState(step.state) in (StepState.open, StepState.returned, StepState.submitted)
    # An accepted Resume the app never recorded: the run was resumed (or was executing
    # the answer) when its process died.
    if (
        waiting_owner_or_decider
        and not step_is_done(step)
        and view.state_type != "PAUSED"
        and (not resuming or orphaned or _older_than(view, UNPICKED_AFTER, real_now))
        and (view.state_type not in ACTIVE or stuck)
    ):
        answer = unrecorded_input(client, step)
        if answer is not None:
            outcome = record_input(
                step.id, answer, expected_round=step.input_round, flow_run_id=step.flow_run_id, source=SOURCE
            )
            if not outcome.stale:
                result.heals.append((step.key, Heal.input_recorded))
                log.info("Avstämning: %s – %s", step.key, outcome.message)
            with Session(runtime.engine(), expire_on_commit=False) as session:
                step = session.get(StepInstance, step.id)
    if orphaned and view.state_type == "PAUSED" and not step_is_done(step) and form_lost(client, run):
        # Asked only at an executor's start: a live run saves its form before it suspends.
        view = dataclasses.replace(view, form_lost=True)
    heal = heal_for(step, view, orphaned=stuck)
    if heal is None:
        if resuming or (view.state_type == "SCHEDULED" and step.opens_at <= now):
            result.to_execute.append(step.flow_run_id)
        return
    with session_scope(runtime.engine()) as session:
        if heal is not Heal.finish and StepState(step.state) is not StepState.planned:
            # Prefect keeps every key a run has suspended with and refuses it a second
            # time; the abandoned wait's key is spent, so the fresh execution asks anew.
            advance_round(step.id, expected_round=step.input_round, session=session)
        record_heal(
            step,
            heal,
            session=session,
            now=now,
            run_before=view.state_type,
            run_after="SCHEDULED",
            note=heal_text(heal.value, view.state_type),
        )
    if view.state_type in ACTIVE:
        client.set_flow_run_state(run.id, Crashed(message=CRASHED_MESSAGE), force=True)
    client.set_flow_run_state(
        run.id, Scheduled(scheduled_time=reschedule_at(step, now), message=RESCHEDULED_MESSAGE), force=True
    )
    result.heals.append((step.key, heal))
    if reschedule_at(step, now) <= now:
        result.to_execute.append(step.flow_run_id)
    log.info("Avstämning: %s – %s", step.key, heal_text(heal.value, view.state_type))


def reconcile_live(*, orphaned: bool) -> int:
    """Reconcile every live cycle of the organisation; publish the status of those healed.
    Returns how many healings were made."""
    from models.queries import live_cycles
    from tasks.artifacts import publish_status

    definition = runtime.definition()
    today = definition.organisation.calendar.local_date(clock.now())
    with Session(runtime.engine()) as session:
        cycles = live_cycles(session=session, organisation=definition.organisation.info.key)
    total = 0
    for cycle in cycles:
        healed = reconcile_cycle(cycle.id, orphaned=orphaned)
        if healed:
            total += len(healed.heals)
            publish_status.fn(cycle.id, today)
    return total


def ensure_zombie_detection() -> bool:
    """Create Prefect's zombie detection (an automation on the heartbeat events) unless it
    exists. Returns True if it was created now."""
    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    try:
        Automation.read(name=ZOMBIE_AUTOMATION)
        return False
    except ValueError:
        pass
    Automation(
        name=ZOMBIE_AUTOMATION,
        description="Markerar en körning som kraschad när dess hjärtslag har uteblivit; avstämningen startar om den.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", *(f"prefect.flow-run.{name}" for name in _EXECUTION_ENDS)},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=dt.timedelta(seconds=get_settings().zombie_seconds),
        ),
        actions=[ChangeFlowRunState(state=StateType.CRASHED, message=ZOMBIE_MESSAGE)],
    ).create()
    return True
