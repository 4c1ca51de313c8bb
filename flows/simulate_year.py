"""Simulate a whole cycle through real flow runs on a simulated clock.

The cycle is stored in "simulation" mode (apart from the live one); each instance gets a
real step run of the deployment `arshjul-steg/simulering` (which no runner serves),
created when the simulated clock reaches its opening (created ahead, with openings in
the past, they would keep the late-run service busy) and executed by this process
in-process (`flows.in_process`). Simulated people submit and decide through the same
Resume form as real people (some late, a few refused at first; a follow-up step's owner
reports its goals first); the sweep reminds and escalates; every message goes through
the outbox and SMTP to the sink. The history stays in the app database and Prefect."""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict

from prefect import flow, get_run_logger
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateName,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from sqlmodel import Session, func, select

from arshjul.core import clock as clocks
from arshjul.core import runtime
from arshjul.core.clock import SimulatedClock
from arshjul.core.database import session_scope
from flows.daily_sweep import sweep, tag_overdue_runs
from flows.in_process import execute_step_run, in_process_execution, thread_client
from flows.run_step import run_step
from flows.simulated_people import Intent, SimulatedPeople, answer_as_simulation
from flows.simulation_clock import clock_file, keep_time, kept_time
from flows.simulation_outcome import Progress, SimulationSummary, summarise
from models.cycles import store_cycle
from models.dependencies import dependencies_by_step, unfinished
from models.people import load_directory
from models.states import Action, step_is_done
from models.tables import AuditEntry, Cycle, Mode, StepInstance, StepState, stored_id
from tasks.artifacts import publish_status
from tasks.flow_runs import STEP_DEPLOYMENT, create_step_runs
from tasks.mail import deliver, release_orphaned_claims
from tasks.reconcile import reconcile_cycle
from tasks.steps import resume_waiting_runs, waiting_dependents_of_done_steps

log = logging.getLogger(__name__)

MODE = Mode.simulation


def register_simulation_deployment():
    """The step deployment the simulation's runs belong to (served by nobody)."""
    return run_step.to_deployment(
        name=STEP_DEPLOYMENT[MODE], description="Stegkörningar för `arshjul simulate`; körs av simuleringen själv."
    ).apply()


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class Simulation:
    def __init__(
        self,
        year: int,
        *,
        late_share: float = 0.2,
        seed: int = 1,
        workers: int = 4,
        until: dt.date | None = None,
        progress=None,
    ):
        self.year = year
        self.until = until  # stop after this day; a later run continues from there
        self.workers = workers
        self.progress = progress or (lambda message: None)
        self.definition = runtime.definition()
        self.calendar = self.definition.organisation.calendar
        self.people = SimulatedPeople(self.definition, seed=seed, late_share=late_share)
        self.executions = 0
        # How each run ended its last execution here (only this process executes them),
        # so that a person's attempt needs no request to Prefect to know whether the form
        # is there; attempts blocked by late dependencies are retried every working day.
        self.showing_form: set[str] = set()
        self.waiting_for_dependencies: set[str] = set()

    # -- Prefect ---------------------------------------------------------------------

    def execute(self, flow_run_id: str) -> None:
        state = execute_step_run(flow_run_id)
        self.executions += 1
        self.showing_form.discard(flow_run_id)
        self.waiting_for_dependencies.discard(flow_run_id)
        if state.is_paused():
            waiting = self.showing_form if state.state_details.run_input_keyset else self.waiting_for_dependencies
            waiting.add(flow_run_id)

    def execute_all(self, flow_run_ids: list[str]) -> None:
        """Execute the runs in the thread pool, each in a copy of this thread's context:
        Prefect's settings (the API, no heartbeat) live in context variables, which new
        threads do not inherit."""
        if flow_run_ids:
            context = contextvars.copy_context()
            list(self.pool.map(lambda flow_run_id: context.copy().run(self.execute, flow_run_id), flow_run_ids))

    def resumed_runs(self, deployment_id) -> list[str]:
        """Runs that were resumed (a dependency finished) and wait to be executed."""
        runs = thread_client().read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(
                    type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]),
                    name=FlowRunFilterStateName(any_=["Resuming"]),
                )
            ),
            limit=200,
        )
        return [str(run.id) for run in runs]

    def act(self, intents: list[Intent], deployment_id, today: dt.date, moment: dt.datetime, later: dt.date) -> None:
        """People fill in their steps' forms at `moment` (the round's time of day), resumed
        one by one from this thread (on SQLite the resume endpoint fails with "database is
        locked" whenever runs write at the same moment), then executed in parallel.
        Steps changed at `moment` or later are judged as at `moment`: a restart replays
        the day with the killed run's later hours stored; an unkilled year had not planned
        that intent yet (tried again `later`) nor finished that dependency."""
        if not intents:
            return
        with Session(runtime.engine()) as session:
            directory = load_directory(session=session, organisation=self.definition.organisation.info.key)
        attempts: dict[int, list[tuple[Intent, bool]]] = defaultdict(list)
        for intent in intents:
            attempts[intent.instance_id] += (
                [(intent, True), (intent, False)] if intent.wrong_first else [(intent, False)]
            )
        done_before = self.done_count()
        tomorrow = self.calendar.add_working_days(today, 1)
        first_pass = True
        while attempts:
            resumed = []
            for instance_id in list(attempts):
                intent, wrong = attempts[instance_id].pop(0)
                with Session(runtime.engine()) as session:
                    step = session.get(StepInstance, instance_id)
                if first_pass and _utc(step.updated_at) >= moment:
                    self.people.try_again(intent, later)
                    del attempts[instance_id]
                    continue
                before = moment if first_pass else None  # a second attempt follows the round's executions
                accepted = False
                if self.ready_for(step, intent, before=before) and step.flow_run_id in self.showing_form:
                    if intent.action is Action.submit and not wrong:  # a follow-up step's goals first
                        self.people.report_goals(step)
                    form = self.people.form_for(step, intent, directory, today, wrong=wrong)
                    accepted = answer_as_simulation(thread_client(), step.flow_run_id, step.input_round, form)
                if accepted:
                    self.showing_form.discard(step.flow_run_id)
                    resumed.append(step.flow_run_id)
                else:
                    # Not possible yet (a dependency is late, or the run has not asked
                    # yet): the person tries again the next working day.
                    self.people.try_again(intent, tomorrow)
                    attempts[instance_id] = []
                if not attempts[instance_id]:
                    del attempts[instance_id]
            self.execute_all(resumed)
            first_pass = False
        self.wake_ready(deployment_id, done_before)

    def done_count(self) -> int:
        """Steps done (approved or cancelled, or submitted when nobody decides) — the SQL
        form of step_is_done."""
        done = StepInstance.state.in_([StepState.approved.value, StepState.cancelled.value]) | (
            (StepInstance.state == StepState.submitted.value) & StepInstance.decided_by.is_(None)
        )
        with Session(runtime.engine()) as session:
            return session.exec(
                select(func.count()).select_from(StepInstance).where(StepInstance.cycle_id == self.cycle_id, done)
            ).one()

    def wake_ready(self, deployment_id, done_before: int) -> None:
        """Execute the runs that finished steps woke (their dependencies are now done);
        only worth asking Prefect when a step was finished."""
        while self.done_count() > done_before:
            done_before = self.done_count()
            self.execute_all(self.resumed_runs(deployment_id))

    def learn_run_states(self, deployment_id) -> None:
        """When continuing a simulation: which runs already wait, and for what."""
        offset = 0
        while True:
            runs = thread_client().read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
                ),
                limit=200,
                offset=offset,
            )
            for run in runs:
                (self.showing_form if run.state.state_details.run_input_keyset else self.waiting_for_dependencies).add(
                    str(run.id)
                )
            if len(runs) < 200:
                return
            offset += 200

    def wake_waiting_runs(self) -> None:
        """The daily sweep's safety net, as `daily_sweep` runs it live: a run that began
        to wait for a dependency while that dependency was being finished in a parallel
        run was not woken by it."""
        candidates = [
            run for run in waiting_dependents_of_done_steps(self.cycle_id) if run in self.waiting_for_dependencies
        ]
        self.execute_all(resume_waiting_runs(candidates))

    def ready_for(self, step: StepInstance, intent: Intent, *, before: dt.datetime | None = None) -> bool:
        """Whether the person can act now; with `before`, a dependency finished at that
        moment or later counts as unfinished."""
        state = StepState(step.state)
        if intent.action is Action.submit:
            if state not in (StepState.open, StepState.returned):
                return False
            step_id = stored_id(step)
            with Session(runtime.engine()) as session:
                needs = dependencies_by_step([step_id], session=session)[step_id]
            return not unfinished(needs) and (before is None or all(_utc(need.updated_at) < before for need in needs))
        return state is StepState.submitted and not step_is_done(step)

    # -- the year ----------------------------------------------------------------------

    def reconcile(self, cycle_id: int, deployment_id) -> None:
        """At every start: give back the mail claims a killed process left, heal what a
        crash (or a hand in the Prefect UI) left out of line with the app database, then
        execute what waits. Nothing else executes this cycle's runs or sends its mail, so
        a run still Running has lost its process, and a claim is a killed sender's."""
        release_orphaned_claims(MODE)
        healed = reconcile_cycle(cycle_id, orphaned=True)
        if healed:
            self.progress(f"Avstämning: {len(healed.heals)} körningar eller svar rättade efter ett avbrott")
        self.execute_all(list(dict.fromkeys([*healed.to_execute, *self.resumed_runs(deployment_id)])))

    def latest_date(self, cycle_id: int) -> dt.date:
        """The cycle's last deadline or meeting: past it, only stragglers remain."""
        with Session(runtime.engine()) as session:
            steps = session.exec(select(StepInstance).where(StepInstance.cycle_id == cycle_id)).all()
        return max(max(step.due, step.meeting or step.due) for step in steps)

    def plan_people(self, cycle_id: int, today: dt.date) -> None:
        with Session(runtime.engine()) as session:
            steps = session.exec(
                select(StepInstance).where(
                    StepInstance.cycle_id == cycle_id,
                    StepInstance.state.in_(
                        [s.value for s in (StepState.open, StepState.returned, StepState.submitted)]
                    ),
                )
            ).all()
        self.people.plan(list(steps), today)

    def moment(self, day: dt.date, hour: int) -> dt.datetime:
        return self.calendar.at_start_of_day(day).replace(hour=hour).in_timezone("UTC")

    def at(self, clock: SimulatedClock, day: dt.date, hour: int) -> None:
        moment = self.moment(day, hour)
        if moment > clock.now():
            clock.set(moment)
            keep_time(self.clock_path, moment)

    def run(self) -> SimulationSummary:
        started = time.perf_counter()
        org_key = self.definition.organisation.info.key
        with Session(runtime.engine()) as session:
            existing = session.exec(
                select(Cycle).where(Cycle.organisation == org_key, Cycle.year == self.year, Cycle.mode == MODE)
            ).first()
            resume_from = (
                session.exec(select(func.max(AuditEntry.at)).where(AuditEntry.cycle_id == existing.id)).one()
                if existing
                else None
            )
        kept = kept_time(clock_file(existing)) if existing and resume_from else None
        if kept and resume_from and kept > _utc(resume_from):
            resume_from = kept
        from models.planning import plan_cycle

        first_opening = min(step.opens for step in plan_cycle(self.definition, self.year))
        self.resumed = resume_from is not None
        start = resume_from or self.calendar.at_start_of_day(
            self.calendar.add_working_days(first_opening, -1)
        ).in_timezone("UTC")
        clock = SimulatedClock(start)
        previous_clock = clocks.use(clock)
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="simulering")
        try:
            with in_process_execution():
                return self._run(clock, started)
        finally:
            self.pool.shutdown()
            clocks.use(previous_clock)

    def _run(self, clock: SimulatedClock, started: float) -> SimulationSummary:
        with session_scope(runtime.engine()) as session:
            cycle = store_cycle(
                self.definition, self.year, session=session, now=clock.now(), mode=MODE, source="simulering"
            ).cycle
            cycle_id = cycle.id
            self.clock_path = clock_file(cycle)
        self.cycle_id = cycle_id
        deployment_id = register_simulation_deployment()
        self.reconcile(cycle_id, deployment_id)
        self.learn_run_states(deployment_id)
        # A continued simulation plays the day it stopped on again (every part of a day
        # is idempotent), so what a crash cut short of that day still happens on it.
        day = self.calendar.local_date(clock.now()) - dt.timedelta(days=1 if self.resumed else 0)
        # ... but not its morning sweep once the clock had passed it: the day's later hours
        # would make it remind or write digests the first run did not.
        swept_until = clock.now() if self.resumed else None
        last_month = None
        days = 0
        progress = Progress(self.calendar, self.latest_date(cycle_id))
        while True:
            with Session(runtime.engine()) as session:
                remaining = session.exec(select(StepInstance).where(StepInstance.cycle_id == cycle_id)).all()
            if all(step_is_done(step) for step in remaining):
                break
            day += dt.timedelta(days=1)
            if self.until and day > self.until:
                break
            if not self.calendar.is_working_day(day):
                continue
            days += 1
            progress.check(day, remaining)
            if swept_until is None or swept_until <= self.moment(day, 7):
                self.at(clock, day, 7)
                tag_overdue_runs(sweep(day, mode=MODE)["newly_overdue"])  # as the live sweep: slipped steps tagged
            self.wake_waiting_runs()
            self.at(clock, day, 8)
            if any(step.flow_run_id is None and step.opens <= day for step in remaining):
                create_step_runs.fn(cycle_id, opening_by=day)
                with Session(runtime.engine()) as session:
                    remaining = session.exec(select(StepInstance).where(StepInstance.cycle_id == cycle_id)).all()
            opening = [
                step.flow_run_id
                for step in remaining
                if StepState(step.state) is StepState.planned and step.opens <= day and step.flow_run_id
            ]
            self.execute_all(opening)
            deliver(MODE)
            self.plan_people(cycle_id, day)
            self.at(clock, day, 10)
            self.act(self.people.due_on(day), deployment_id, day, self.moment(day, 10), day)
            self.plan_people(cycle_id, day)  # decisions wanted on submissions made today
            self.at(clock, day, 14)
            tomorrow = self.calendar.add_working_days(day, 1)
            self.act(self.people.due_on(day), deployment_id, day, self.moment(day, 14), tomorrow)
            self.at(clock, day, 16)
            deliver(MODE)
            if last_month != (day.year, day.month):
                if last_month is not None:
                    publish_status(cycle_id, day)
                last_month = (day.year, day.month)
                self.progress(
                    f"{day.isoformat()}: {sum(step_is_done(s) for s in remaining)} av {len(remaining)} steg klara"
                )
        publish_status(cycle_id, day)
        deliver(MODE)
        return summarise(
            self.year,
            cycle_id,
            self.calendar,
            executions=self.executions,
            days=days,
            seconds=time.perf_counter() - started,
        )


def simulate(
    year: int, *, late_share: float = 0.2, seed: int = 1, workers: int = 4, until: dt.date | None = None, progress=None
) -> SimulationSummary:
    return Simulation(year, late_share=late_share, seed=seed, workers=workers, until=until, progress=progress).run()


@flow(name="arshjul-simulering")
def simulate_year(year: int, late_share: float = 0.2, seed: int = 1, until: dt.date | None = None) -> dict:
    """Play a whole cycle on a simulated clock, or up to the day `until` (history stays in
    the app database and Prefect; a later run continues where this one stopped)."""
    logger = get_run_logger()
    summary = simulate(year, late_share=late_share, seed=seed, until=until, progress=logger.info)
    logger.info("Simuleringen av %s är klar: %s", year, summary)
    return asdict(summary)
