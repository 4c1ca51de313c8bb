"""Creating the step runs of a cycle in Prefect: one Scheduled run per step instance."""

from __future__ import annotations

import asyncio
import datetime as dt

from prefect import get_client, task
from prefect.exceptions import ObjectNotFound
from prefect.states import Scheduled
from sqlmodel import Session, select

from arshjul.core import runtime
from arshjul.core.database import session_scope
from arshjul.core.settings import get_settings
from models.tables import Cycle, Mode, StepInstance, StepState

STEP_FLOW = "arshjul-steg"
# Live runs go to the deployment `arshjul serve` (or the workers) execute; the simulation's
# runs to one nobody serves, because the simulation executes them itself.
STEP_DEPLOYMENT = {Mode.live: "arshjul", Mode.simulation: "simulering"}


class DeploymentMissing(RuntimeError):
    pass


def run_name(step: StepInstance, year: int) -> str:
    return f"{year} · {step.name} · {step.unit_name}"


def run_tags(step: StepInstance, year: int, mode: Mode) -> list[str]:
    tags = [
        "årshjul",
        f"år:{year}",
        f"process:{step.process}",
        f"nivå:{step.level}",
        f"enhet:{step.unit}",
        f"roll:{step.owner_role}",
    ]
    if mode is Mode.simulation:
        tags.append("simulering")
    return tags


def step_deployment_id(mode: Mode):
    name = f"{STEP_FLOW}/{STEP_DEPLOYMENT[mode]}"
    with get_client(sync_client=True) as client:
        try:
            return client.read_deployment_by_name(name).id
        except ObjectNotFound:
            raise DeploymentMissing(
                f"stegdeploymenten '{name}' finns inte på Prefect-servern: starta `arshjul serve` "
                "(eller registrera deploymenterna med `prefect deploy --all` i produktion)"
            ) from None


async def _create(deployment_id, steps: list[StepInstance], cycle: Cycle, concurrency: int) -> dict[int, str]:
    created: dict[int, str] = {}
    # The embedded Prefect server runs on SQLite, which takes one writer at a time
    # (concurrent requests only queue for its lock): there, one at a time. A server on
    # PostgreSQL takes many at once; `concurrency` requests are kept in flight.
    gate = asyncio.Semaphore(concurrency)
    async with get_client() as client:

        async def one(step: StepInstance) -> None:
            async with gate:
                run = await client.create_flow_run_from_deployment(
                    deployment_id,
                    parameters={"instance_id": step.id},
                    name=run_name(step, cycle.year),
                    tags=run_tags(step, cycle.year, cycle.mode),
                    state=Scheduled(scheduled_time=step.opens_at),
                    idempotency_key=f"{cycle.organisation}:{cycle.mode}:{cycle.year}:{cycle.identity}:{step.key}",
                )
            created[step.id] = str(run.id)

        if concurrency == 1:
            for step in steps:
                await one(step)
        else:
            await asyncio.gather(*(one(step) for step in steps))
    return created


@task(name="skapa stegkörningar")
def create_step_runs(cycle_id: int, opening_by: dt.date | None = None) -> int:
    """One Scheduled flow run per instance that has none yet (only those opening by
    `opening_by`, if given). Idempotency keys make a repeat (or a crash between creating
    a run and storing its id) harmless."""
    with Session(runtime.engine(), expire_on_commit=False) as session:
        cycle = session.get(Cycle, cycle_id)
        query = select(StepInstance).where(
            StepInstance.cycle_id == cycle_id,
            StepInstance.flow_run_id.is_(None),
            StepInstance.state != StepState.cancelled.value,  # cancelled before it opened: no run to make
        )
        if opening_by is not None:
            query = query.where(StepInstance.opens <= opening_by)
        missing = list(session.exec(query.order_by(StepInstance.opens_at)))
    if not missing:
        return 0
    concurrency = get_settings().resolved_run_creation_concurrency
    created = asyncio.run(_create(step_deployment_id(cycle.mode), missing, cycle, concurrency))
    with session_scope(runtime.engine()) as session:
        for step in missing:
            row = session.get(StepInstance, step.id)
            if row.flow_run_id is None:
                row.flow_run_id = created[step.id]
                session.add(row)
    return len(created)
