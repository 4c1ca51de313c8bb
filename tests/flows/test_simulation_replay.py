"""A simulation restarted after a kill replays the day it stopped on with what the killed
run's later hours had already stored; each round of people acting judges the steps as at
the round's time of day, so the replay acts when an unkilled year did (no Prefect needed:
nothing here reaches a run)."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from arshjul.core import runtime
from arshjul.core.database import session_scope
from flows.simulate_year import Simulation
from flows.simulated_people import Intent
from models.cycles import store_cycle
from models.states import Action
from models.tables import Mode, StepInstance, StepState
from tests.conftest import SMALL_ORG
from tests.prefect_support import app_environment

DAY = dt.date(2027, 3, 10)


def step_of(name: str) -> StepInstance:
    with Session(runtime.engine()) as session:
        return session.exec(select(StepInstance).where(StepInstance.step == name)).first()


def change(name: str, state: StepState, at: dt.datetime) -> StepInstance:
    with session_scope(runtime.engine()) as session:
        step = session.exec(select(StepInstance).where(StepInstance.step == name)).first()
        step.state, step.updated_at = state, at
        session.add(step)
    return step_of(name)


def test_a_round_judges_the_steps_as_at_its_time_of_day(tmp_path):
    with app_environment(tmp_path, SMALL_ORG):
        with session_scope(runtime.engine()) as session:
            cycle = store_cycle(
                runtime.definition(),
                2027,
                session=session,
                now=dt.datetime(2026, 9, 1, tzinfo=dt.UTC),
                mode=Mode.simulation,
                source="simulering",
            ).cycle
        simulation = Simulation(2027)
        simulation.cycle_id = cycle.id
        ten, fourteen = simulation.moment(DAY, 10), simulation.moment(DAY, 14)
        # The regionplan, which the region's verksamhetsplan needs, was approved in the
        # 10:00 round (stored before the kill); the verksamhetsplan is open.
        change("regionplan", StepState.approved, ten)
        plan = change("rs_verksamhetsplan", StepState.open, ten - dt.timedelta(days=3))
        submit = Intent(plan.id, DAY, Action.submit)
        # An unkilled year tried the submission in that round before the approval was
        # recorded: not yet (the person comes back the next working day); in the
        # afternoon's round, or after the round's own executions, it can be submitted.
        assert not simulation.ready_for(plan, submit, before=ten)
        assert simulation.ready_for(plan, submit, before=fourteen)
        assert simulation.ready_for(plan, submit)
        # The verksamhetsplan itself was submitted in the 10:00 round: a decision planned
        # on it while replaying the day waits for the afternoon's round, where an
        # unkilled year first planned it.
        plan = change("rs_verksamhetsplan", StepState.submitted, ten)
        decide = Intent(plan.id, DAY, Action.approve)
        simulation.act([decide], None, DAY, ten, DAY)
        assert [(intent.instance_id, intent.action) for intent in simulation.people.due_on(DAY)] == [
            (plan.id, Action.approve)
        ]
