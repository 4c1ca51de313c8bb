"""Executing step runs in this process, as the simulation (and the integration tests)
do, instead of handing them to a served deployment or a worker.

A served run starts a subprocess each time it executes; in-process it does not, which is
what makes a simulated year take minutes (figures in the README's benchmark section).
What keeps it cheap is gathered here: one API client per thread, kept open; no heartbeat
thread; one SSL context shared by every client; and no watch for suspensions requested
from outside (see `flows.prefect_internals`).
"""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from prefect import get_client
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.objects import State, StateType
from prefect.exceptions import Pause
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW,
    temporary_settings,
)
from prefect.states import Scheduled

from flows.prefect_internals import run_flow, without_suspension_observer
from flows.run_step import run_step

_local = threading.local()


def thread_client() -> SyncPrefectClient:
    """One Prefect client per thread (and API), kept open: opening a client costs far more
    than a call."""
    url = PREFECT_API_URL.value()
    if getattr(_local, "client_url", None) != url:
        _local.client = get_client(sync_client=True).__enter__()
        _local.client_url = url
    return _local.client


def in_process_settings() -> dict:
    """Prefect settings for runs executed in this process: no heartbeat thread (stopping
    it holds up the end of every run); tasks that run outside any flow run cannot log to the
    API (their logs stay on the console)."""
    return {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None, PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW: "ignore"}


@contextmanager
def shared_ssl_contexts() -> Iterator[None]:
    """Prefect opens two API clients per run it executes, and each builds a new SSL
    context, parsing the whole CA bundle. All of them talk to the same server, so one
    context per set of arguments serves them all; the contexts are only read after
    creation."""
    original = ssl.create_default_context
    cache: dict = {}
    lock = threading.Lock()

    def shared(purpose=ssl.Purpose.SERVER_AUTH, *, cafile=None, capath=None, cadata=None):
        key = (purpose, cafile, capath, cadata)
        with lock:
            if key not in cache:
                cache[key] = original(purpose, cafile=cafile, capath=capath, cadata=cadata)
            return cache[key]

    ssl.create_default_context = shared  # type: ignore[assignment]
    try:
        yield
    finally:
        ssl.create_default_context = original


@contextmanager
def in_process_execution() -> Iterator[None]:
    """Everything `execute_step_run` relies on, for as long as runs are executed here."""
    with temporary_settings(in_process_settings()), shared_ssl_contexts(), without_suspension_observer():
        yield


def execute_step_run(flow_run_id: str) -> State:
    """Execute one step run in this process until it completes or suspends again;
    returns the state it ended in."""
    now = dt.datetime.now(dt.UTC)
    client = thread_client()
    run = client.read_flow_run(flow_run_id)
    scheduled = run.state.state_details.scheduled_time if run.state and run.state.type is StateType.SCHEDULED else None
    if scheduled and scheduled > now:
        # Prefect will not start a run before its scheduled (real) time; the simulated
        # clock has reached it, so bring it forward.
        client.set_flow_run_state(run.id, Scheduled(scheduled_time=now), force=True)
        run = client.read_flow_run(flow_run_id)
    try:
        state = run_flow(run_step, flow_run=run, parameters=run.parameters, return_type="state")
    except Pause as pause:
        # The state the server accepted when the run suspended itself: no need to ask.
        state = pause.state
    if not isinstance(state, State):
        raise RuntimeError(f"flow run {flow_run_id} ended its execution without a state ({state!r})")
    return state
