"""Creating step runs through Prefect's bulk route (`tasks/flow_runs.py`): the route is
served, a run made through it is the run `create_flow_run_from_deployment` makes, and a
run the server refuses is asked for again and then reported."""

from __future__ import annotations

import datetime as dt

import pytest
from prefect import get_client
from prefect.client.schemas.objects import StateType
from sqlmodel import Session, select

from arshjul.core import runtime
from models.tables import StepInstance
from tests.conftest import SMALL_ORG
from tests.prefect_support import app_environment, no_heartbeats

pytestmark = pytest.mark.prefect


@pytest.fixture(scope="module")
def cycle(prefect_server, tmp_path_factory):
    """The small organisation's cycle 2027, started once for this module."""
    from flows.run_step import run_step
    from flows.start_cycle import start_cycle

    home = tmp_path_factory.mktemp("app")
    with app_environment(home, SMALL_ORG), no_heartbeats():
        deployment_id = run_step.to_deployment(name="arshjul").apply()
        first = start_cycle(2027)
        assert first["flow_runs_created"] == 15
        yield {"deployment_id": deployment_id, "first": first}


def test_the_bulk_route_is_served_and_takes_our_requests_whole():
    """`create_step_runs` sends RUNS_PER_REQUEST runs a request to the server's bulk route.
    An upgrade that drops the route or lowers its limit fails here, not at a user's start."""
    import re

    from prefect.server.api import deployments

    from tasks.flow_runs import BULK_CREATE_ROUTE, RUNS_PER_REQUEST

    served = {
        (re.sub(r":\w+}", "}", route.path), method)  # "{id:uuid}" is "{id}" to a client
        for route in deployments.router.routes
        for method in getattr(route, "methods", ())
    }
    assert (BULK_CREATE_ROUTE, "POST") in served, (
        f"Prefect no longer serves POST {BULK_CREATE_ROUTE}: adapt tasks/flow_runs.py"
    )
    assert deployments.BULK_CREATE_LIMIT >= RUNS_PER_REQUEST


def test_a_bulk_created_run_is_the_run_create_flow_run_from_deployment_makes(cycle):
    """The same step instance's run, made once through the bulk route and once through the
    client's `create_flow_run_from_deployment` (each under its own idempotency key): every
    field the UI, the workers and the scheduler read is the same."""
    import asyncio

    from prefect.states import Scheduled

    from models.tables import Cycle
    from tasks.flow_runs import _create, run_name, run_tags

    with Session(runtime.engine()) as session:
        step = session.exec(select(StepInstance).where(StepInstance.key == "regionplan:region")).one()
        real = session.get(Cycle, step.cycle_id)
    twin = real.model_copy(update={"identity": "jamforelse"})  # another key: a run of its own
    created, failed = asyncio.run(_create(cycle["deployment_id"], [step], twin, concurrency=1))
    assert failed == []
    with get_client(sync_client=True) as client:
        single = client.create_flow_run_from_deployment(
            cycle["deployment_id"],
            parameters={"instance_id": step.id},
            name=run_name(step, 2027),
            tags=run_tags(step, 2027, real.mode),
            state=Scheduled(scheduled_time=step.opens_at),
            idempotency_key="jamforelse-enstaka",
        )
        bulk = client.read_flow_run(created[step.id])
        single = client.read_flow_run(single.id)
        try:
            fields = (
                "name",
                "flow_id",
                "deployment_id",
                "deployment_version",
                "parameters",
                "work_queue_name",
                "work_queue_id",
                "work_pool_name",
                "job_variables",
                "infrastructure_document_id",
                "context",
                "empirical_policy",
                "parent_task_run_id",
                "created_by",
                "auto_scheduled",
            )
            assert {name: getattr(bulk, name) for name in fields} == {name: getattr(single, name) for name in fields}
            assert sorted(bulk.tags) == sorted(single.tags)
            assert {k: v for k, v in bulk.labels.items()} == {k: v for k, v in single.labels.items()}
            assert bulk.idempotency_key.endswith(":jamforelse:regionplan:region")
            for run in (bulk, single):
                assert run.state.type is StateType.SCHEDULED and run.state.name == "Scheduled"
                assert run.state.state_details.scheduled_time == dt.datetime(2026, 1, 12, 7, 0, tzinfo=dt.UTC)
                assert run.next_scheduled_start_time == dt.datetime(2026, 1, 12, 7, 0, tzinfo=dt.UTC)
        finally:
            for run in (bulk, single):
                client.delete_flow_run(run.id)  # other tests count the deployment's runs


def test_a_run_the_server_refuses_is_asked_for_again_then_reported(cycle, monkeypatch):
    """A run the bulk route answers FAILED for (on SQLite: "database is locked") is sent
    again; if it keeps failing, `create_step_runs` says so in Swedish — after storing the
    runs that were created — and a repeat creates only what is missing."""
    import asyncio

    import tasks.flow_runs as flow_runs
    from models.tables import Cycle

    with Session(runtime.engine()) as session:
        steps = list(session.exec(select(StepInstance).order_by(StepInstance.id)).all()[:2])
        real = session.get(Cycle, steps[0].cycle_id)
    twin = real.model_copy(update={"identity": "avvisad"})
    original = flow_runs.run_request
    refused = steps[1].id
    calls = []

    def refusing(step, cycle_):
        body = original(step, cycle_)
        if step.id == refused:
            calls.append(step.id)
            body["parameters"] = {"instance_id": "inte ett tal"}  # the schema refuses it
        return body

    monkeypatch.setattr(flow_runs, "run_request", refusing)
    monkeypatch.setattr(flow_runs, "RETRY_PAUSE", 0.0)
    created, failed = asyncio.run(flow_runs._create(cycle["deployment_id"], steps, twin, concurrency=1))
    assert set(created) == {steps[0].id}
    assert [step.id for step, _ in failed] == [refused] and len(calls) == flow_runs.ATTEMPTS
    with get_client(sync_client=True) as client:
        client.delete_flow_run(created[steps[0].id])
