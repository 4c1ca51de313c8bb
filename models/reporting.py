"""Where a cycle stands: counts per process and level, what is overdue and what waits
downstream, and the follow-up record of what was delivered late. Read-only queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from models.states import is_overdue, step_is_done
from models.tables import StepDependency, StepInstance, StepState, stored_id
from models.workdays import WorkingCalendar

COLUMNS = ("planned", "open", "submitted", "returned", "done", "cancelled", "overdue")
COLUMN_NAMES = {
    "planned": "Planerade",
    "open": "Öppna",
    "submitted": "Inlämnade",
    "returned": "Återremitterade",
    "done": "Klara",
    "cancelled": "Inställda",
    "overdue": "Försenade",
}


@dataclass
class StatusRow:
    process: str
    level: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0))

    @property
    def total(self) -> int:
        return sum(self.counts[c] for c in COLUMNS if c != "overdue")


def status_rows(steps: list[StepInstance], today: dt.date, level_order: list[str]) -> list[StatusRow]:
    """One row per (process, level): how many steps are in each state, and how many are overdue.
    A submitted step that waits for its decider counts as submitted; a done one as done."""
    rows: dict[tuple[str, str], StatusRow] = {}
    for step in steps:
        row = rows.setdefault((step.process, step.level), StatusRow(step.process, step.level))
        state = StepState(step.state)
        column = state.value if state is StepState.cancelled else "done" if step_is_done(step) else state.value
        row.counts[column] += 1
        if is_overdue(state, step.due, today):
            row.counts["overdue"] += 1
    order = {level: index for index, level in enumerate(level_order)}
    return sorted(rows.values(), key=lambda r: (r.process, order.get(r.level, 99)))


@dataclass
class OverdueItem:
    step: StepInstance
    working_days_late: int
    waiting_downstream: list[StepInstance]


def overdue_items(
    *, session: Session, steps: list[StepInstance], today: dt.date, calendar: WorkingCalendar
) -> list[OverdueItem]:
    by_id = {stored_id(step): step for step in steps}
    downstream: dict[int, list[StepInstance]] = defaultdict(list)
    ids = list(by_id)
    for chunk in range(0, len(ids), 500):
        links = select(StepDependency).where(col(StepDependency.depends_on_id).in_(ids[chunk : chunk + 500]))
        for link in session.exec(links):
            dependent = by_id.get(link.instance_id)
            if dependent is not None and not step_is_done(dependent):
                downstream[link.depends_on_id].append(dependent)
    items = [
        OverdueItem(
            step,
            calendar.working_days_after(step.due, today),
            sorted(downstream.get(stored_id(step), []), key=lambda s: s.due),
        )
        for step in steps
        if is_overdue(StepState(step.state), step.due, today)
    ]
    return sorted(items, key=lambda item: (-item.working_days_late, item.step.due, item.step.name))


@dataclass
class Delivery:
    """How one finished step was delivered, for the auditors."""

    step: StepInstance
    submitted_on: dt.date | None
    decided_on: dt.date | None
    working_days_late: int


def deliveries(steps: list[StepInstance], calendar: WorkingCalendar) -> list[Delivery]:
    result = []
    for step in steps:
        if not step_is_done(step) or step.submitted_at is None:
            continue
        submitted_on = calendar.local_date(step.submitted_at)
        decided_on = calendar.local_date(step.decided_at) if step.decided_at else None
        result.append(Delivery(step, submitted_on, decided_on, calendar.working_days_after(step.due, submitted_on)))
    return sorted(result, key=lambda d: (d.step.due, d.step.name, d.step.unit_name))
