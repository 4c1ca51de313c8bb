"""Start a cycle: store its step instances and create one Scheduled step run for each."""

from __future__ import annotations

from prefect import flow, get_run_logger

from arshjul.core import clock, runtime
from arshjul.core.database import session_scope
from models.cycles import store_cycle
from models.tables import Mode
from tasks.flow_runs import create_step_runs


@flow(name="arshjul-starta-cykel")
def start_cycle(year: int, mode: Mode = Mode.live) -> dict:
    """Plan the year, store every step instance and schedule a step run per instance.
    Running it again creates nothing that exists."""
    logger = get_run_logger()
    definition = runtime.definition()
    with session_scope(runtime.engine()) as session:
        stored = store_cycle(definition, year, session=session, now=clock.now(), mode=mode, source="system")
        cycle_id = stored.cycle.id
    runs = create_step_runs(cycle_id)
    summary = {
        "cycle_id": cycle_id,
        "year": year,
        "mode": mode,
        "instances_created": len(stored.created),
        "instances_existing": stored.existing,
        "flow_runs_created": runs,
    }
    logger.info(
        "Cykel %s: %s nya steg (%s fanns redan), %s nya stegkörningar.",
        year,
        len(stored.created),
        stored.existing,
        runs,
    )
    return summary
