"""Closing a cycle: `cycle.closed` once, when every step is done — "done" asked in SQL
(models.cycles._open_step_exists) exactly as models.states.is_done says it, on both
backends."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from arshjul.core.database import session_scope
from models.cycles import _open_step_exists, close_cycle_if_done
from models.states import is_done
from models.tables import AuditEntry, Cycle, StepInstance, StepState
from tests.conftest import CYCLE_STORED_AT


def _set_all(engine, state: StepState, decided_by: str | None = "keep") -> None:
    values: dict = {"state": state.value}
    if decided_by != "keep":
        values["decided_by"] = decided_by
    with session_scope(engine) as session:
        session.exec(update(StepInstance).values(**values))


@pytest.mark.parametrize(
    ("state", "decided_by"),
    list(itertools.product(list(StepState), [None, "regionstyrelsen"])),
    ids=lambda value: str(getattr(value, "value", value)),
)
def test_open_in_sql_is_not_done_in_python(cycle, state, decided_by):
    _set_all(cycle, state, decided_by)
    with Session(cycle) as session:
        cycle_id = session.exec(select(Cycle.id)).one()
        assert _open_step_exists(cycle_id, session=session) is not is_done(state, has_decider=decided_by is not None)


def test_the_cycle_closes_once_when_its_last_step_is_done(cycle):
    with Session(cycle) as session:
        cycle_id = session.exec(select(Cycle.id)).one()
        last = session.exec(select(StepInstance.id).order_by(col(StepInstance.id).desc())).first()
    _set_all(cycle, StepState.approved)
    with session_scope(cycle) as session:
        session.exec(update(StepInstance).where(col(StepInstance.id) == last).values(state=StepState.open.value))
    with session_scope(cycle) as session:
        assert close_cycle_if_done(cycle_id, session=session, now=CYCLE_STORED_AT) is False
    _set_all(cycle, StepState.approved)
    for expected in (True, False):  # the second time: closed already
        with session_scope(cycle) as session:
            assert close_cycle_if_done(cycle_id, session=session, now=CYCLE_STORED_AT) is expected
    with Session(cycle) as session:
        closed = session.exec(select(AuditEntry).where(AuditEntry.action == "cycle.closed")).all()
        steps = len(session.exec(select(StepInstance.id)).all())
    assert len(closed) == 1 and closed[0].after == {"steps": steps}
