"""Creating the step runs of a cycle in Prefect: one Scheduled run per step instance."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, cast

from prefect import get_client, task
from prefect.client.schemas.actions import DeploymentFlowRunCreate
from prefect.exceptions import ObjectNotFound
from prefect.states import Scheduled, to_state_create
from sqlmodel import Session, select

from arshjul.core import runtime
from arshjul.core.database import session_scope
from arshjul.core.settings import get_settings
from models.tables import Cycle, Mode, StepInstance, StepState

if TYPE_CHECKING:
    from prefect.client.orchestration.routes import ServerRoutes

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


# Runs are sent to the server's bulk endpoint (POST /deployments/{id}/create_flow_run/bulk,
# public REST API): per run it does what POST /deployments/{id}/create_flow_run does —
# the same parameter hydration and schema check, job-variable check, work queue of the
# deployment, idempotency key and Scheduled state through the same orchestration — but
# the deployment, the hydration context and the transaction are had once per request,
# and the client sends one request per RUNS_PER_REQUEST runs instead of one per run
# (README, Benchmarks: where the time per run went). 100 is the server's own limit.
RUNS_PER_REQUEST = 100
BULK_CREATE_ROUTE = "/deployments/{id}/create_flow_run/bulk"
ATTEMPTS = 5
RETRY_PAUSE = 0.5  # seconds, times the attempt's number


class RunCreationFailed(RuntimeError):
    pass


def run_request(step: StepInstance, cycle: Cycle) -> dict:
    """The run as the server is asked to create it: what the client's
    `create_flow_run_from_deployment` sends for these arguments."""
    return DeploymentFlowRunCreate(
        parameters={"instance_id": step.id},
        context={},
        state=to_state_create(Scheduled(scheduled_time=step.opens_at)),
        tags=run_tags(step, cycle.year, cycle.mode),
        name=run_name(step, cycle.year),
        idempotency_key=f"{cycle.organisation}:{cycle.mode}:{cycle.year}:{cycle.identity}:{step.key}",
        parent_task_run_id=None,
        job_variables=None,
        labels={},
    ).model_dump(mode="json", exclude_unset=True)


async def _create(
    deployment_id, steps: list[StepInstance], cycle: Cycle, concurrency: int
) -> tuple[dict[int, str], list[tuple[StepInstance, str]]]:
    created: dict[int, str] = {}
    failed: list[tuple[StepInstance, str]] = []
    # The embedded Prefect server runs on SQLite, which takes one writer at a time
    # (concurrent requests only queue for its lock): there, one request at a time. A
    # server on PostgreSQL takes several at once; `concurrency` requests are kept in flight.
    gate = asyncio.Semaphore(concurrency)
    chunks = [steps[start : start + RUNS_PER_REQUEST] for start in range(0, len(steps), RUNS_PER_REQUEST)]
    async with get_client() as client:

        async def send(chunk: list[StepInstance]) -> None:
            for attempt in range(1, ATTEMPTS + 1):
                async with gate:
                    response = await client.request(
                        "POST",
                        cast("ServerRoutes", BULK_CREATE_ROUTE),
                        path_params={"id": deployment_id},
                        json=[run_request(step, cycle) for step in chunk],
                    )
                results = response.json()["results"]
                if len(results) != len(chunk):
                    raise RunCreationFailed(
                        f"Prefect-servern svarade med {len(results)} resultat för {len(chunk)} stegkörningar"
                    )
                again = []
                for step, result in zip(chunk, results, strict=True):
                    if result["status"] == "CREATED" and result.get("flow_run_id"):
                        created[step.id] = str(result["flow_run_id"])
                    elif attempt < ATTEMPTS:
                        again.append(step)
                    else:
                        error = (result.get("error") or "okänt fel").splitlines()[0]
                        failed.append((step, error[:300]))
                if not again:
                    return
                # A run the server could not create (on SQLite, a transaction that met
                # another writer's commit: "database is locked") is asked for again; its
                # idempotency key makes that harmless.
                chunk = again
                await asyncio.sleep(RETRY_PAUSE * attempt)

        if concurrency == 1:
            for chunk in chunks:
                await send(chunk)
        else:
            await asyncio.gather(*(send(chunk) for chunk in chunks))
    return created, failed


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
    created, failed = asyncio.run(_create(step_deployment_id(cycle.mode), missing, cycle, concurrency))
    # The ids of the runs that were created are kept even when some failed: a repeat then
    # creates only the missing ones (their idempotency keys make it harmless either way).
    with session_scope(runtime.engine()) as session:
        rows = session.exec(
            select(StepInstance).where(StepInstance.id.in_(list(created)), StepInstance.flow_run_id.is_(None))
        )
        for row in rows:
            row.flow_run_id = created[row.id]
            session.add(row)
    if failed:
        step, error = failed[0]
        raise RunCreationFailed(
            f"{len(failed)} av {len(missing)} stegkörningar kunde inte skapas i Prefect "
            f"(första: {step.key}: {error}); kör kommandot igen när felet är åtgärdat"
        )
    return len(created)
