"""What steps need and what needs them: step instances' dependencies, read a step or a
whole page of steps at a time (a region-level step can have hundreds of dependents)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from models.states import step_is_done
from models.tables import StepDependency, StepInstance, stored_id

# What a mail says about a neighbouring step, and what deciding whether a waiting step
# may go on needs: its name, whether it is done, its deadline. A step of the region's
# level can have hundreds of steps that need it: these columns, not whole rows with
# their JSON decoded, are what is read of them.
NEIGHBOUR_COLUMNS = (
    StepInstance.id,
    StepInstance.name,
    StepInstance.unit_name,
    StepInstance.due,
    StepInstance.state,
    StepInstance.decided_by,
)


def _linked_by_step(step_ids, session: Session, *, this, other, columns=None) -> dict[int, list]:
    found: dict[int, list] = {i: [] for i in step_ids}
    if found:
        query = (
            select(this, *(columns or (StepInstance,)))
            .join(StepInstance, other == StepInstance.id)
            .where(this.in_(found))
        )
        for row in session.exec(query):
            found[row[0]].append(row if columns else row[1])  # a row of the columns, or the whole step
    return found


def dependencies_by_step(step_ids, *, session: Session, columns=None) -> dict[int, list[StepInstance]]:
    """The steps each of `step_ids` needs, in one query however many steps there are
    (whole rows, or only `columns` of them)."""
    return _linked_by_step(
        step_ids, session, this=StepDependency.instance_id, other=StepDependency.depends_on_id, columns=columns
    )


def dependents_by_step(step_ids, *, session: Session, columns=None) -> dict[int, list[StepInstance]]:
    """The steps that need each of `step_ids`, in one query however many steps there are
    (whole rows, or only `columns` of them)."""
    return _linked_by_step(
        step_ids, session, this=StepDependency.depends_on_id, other=StepDependency.instance_id, columns=columns
    )


def unfinished(steps: list[StepInstance]) -> list[StepInstance]:
    """The steps not yet done, by deadline."""
    return sorted((step for step in steps if not step_is_done(step)), key=lambda step: (step.due, step.name))


def unfinished_dependencies(step: StepInstance, *, session: Session) -> list[StepInstance]:
    step_id = stored_id(step)
    return unfinished(dependencies_by_step([step_id], session=session)[step_id])


def dependents(step: StepInstance, *, session: Session) -> list[StepInstance]:
    step_id = stored_id(step)
    return sorted(dependents_by_step([step_id], session=session)[step_id], key=lambda row: (row.due, row.name))


@dataclass(frozen=True)
class Neighbours:
    """Both directions for a set of steps at once (a page of mail, a digest), each
    neighbour a row of `NEIGHBOUR_COLUMNS`."""

    needs: dict[int, list]
    needed_by: dict[int, list]

    @classmethod
    def load(cls, step_ids, *, session: Session) -> Neighbours:
        """The neighbours' `NEIGHBOUR_COLUMNS` only."""
        step_ids = set(step_ids)
        return cls(
            needs=dependencies_by_step(step_ids, session=session, columns=NEIGHBOUR_COLUMNS),
            needed_by=dependents_by_step(step_ids, session=session, columns=NEIGHBOUR_COLUMNS),
        )

    def unfinished_dependencies(self, step: StepInstance) -> list:
        return unfinished(self.needs[stored_id(step)])

    def dependents(self, step: StepInstance) -> list:
        return sorted(self.needed_by[stored_id(step)], key=lambda row: (row.due, row.name))
