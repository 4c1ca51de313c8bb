"""`arshjul simulate`: the simulated owners of follow-up steps report their goals with a
seeded mix, so every period of a simulated year has a complete roll-up."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from arshjul.core import runtime
from arshjul.core.database import session_scope
from flows.simulated_people import SimulatedPeople
from models.cycles import store_cycle
from models.followup import period_statuses
from models.rollup import roll_up
from models.tables import AuditEntry, Mode, StepInstance
from tests.conftest import REGION_ORG
from tests.prefect_support import app_environment


def simulated_year(tmp_path, seed: int) -> dict[str, dict[str, str]]:
    with app_environment(tmp_path / f"home-{seed}", REGION_ORG):
        runtime._cache.clear()
        definition = runtime.definition()
        plan = definition.goals[2027]
        with session_scope(runtime.engine()) as session:
            store_cycle(
                definition, 2027, session=session, now=dt.datetime(2026, 1, 5, tzinfo=dt.UTC), mode=Mode.simulation
            )
        people = SimulatedPeople(definition, seed=seed, late_share=0.2)
        result = {}
        for period in plan.source.periods:
            with Session(runtime.engine()) as session:
                steps = session.exec(select(StepInstance).where(StepInstance.step.in_(period.steps))).all()
            for step in sorted(steps, key=lambda s: s.due):
                people.report_goals(step)
            with Session(runtime.engine()) as session:
                statuses = period_statuses(
                    session=session, organisation=definition.organisation.info.key, year=2027,
                    mode=Mode.simulation, period=period.key,
                )  # fmt: skip
                sources = set(session.exec(select(AuditEntry.source).where(AuditEntry.action == "followup.reported")))
            assert sources == {"simulering"}
            rolled = roll_up(plan, definition.organisation, statuses, period=period.key)
            assert rolled.coverage == 1.0, period.key  # a complete roll-up for every period
            result[period.key] = {key: entry.status for key, entry in statuses.items()}
        runtime._cache.clear()
    return result


def test_a_simulated_year_reports_every_goal_in_every_period(tmp_path):
    first = simulated_year(tmp_path, seed=1)
    assert set(first) == {"T1", "T2", "T3"}
    statuses = list(first["T2"].values())
    assert {"gron", "gul", "rod", "pagaende", "planerad"} <= set(statuses)  # a mix, not one status
    assert first["T1"] != first["T2"]
    assert simulated_year(tmp_path, seed=1) == first  # seeded: the same year again
