"""Helpers for the tests that run real flow runs: the app's environment on a temporary
folder, the step deployment, and executing a run in this process as the simulation does."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from prefect import get_client
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from sqlmodel import Session, select

from arshjul.core import runtime
from arshjul.core.database import dispose_engines, get_engine, migrate
from arshjul.core.settings import get_settings
from models.tables import StepInstance, StepState


@contextmanager
def app_environment(home: Path, organisation: Path, database_url: str | None = None):
    """Point the app (settings, database, organisation) at a test folder, then restore."""
    saved = {key: os.environ.get(key) for key in ("ARSHJUL_HOME", "ARSHJUL_ORG", "ARSHJUL_DATABASE_URL")}
    os.environ["ARSHJUL_HOME"] = str(home)
    os.environ["ARSHJUL_ORG"] = str(organisation)
    if database_url:
        os.environ["ARSHJUL_DATABASE_URL"] = database_url
    else:
        os.environ.pop("ARSHJUL_DATABASE_URL", None)
    get_settings.cache_clear()
    dispose_engines()
    migrate(get_engine())
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        dispose_engines()


@contextmanager
def no_heartbeats():
    """In-process runs without the heartbeat thread (it costs a second per run to stop)."""
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def execute(flow_run_id: str) -> str:
    """Run a flow run in this process until it completes or suspends; return its state name."""
    from flows.in_process import execute_step_run

    return execute_step_run(flow_run_id).name


def state_of(flow_run_id: str):
    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id).state


def resume(flow_run_id: str, form: dict | None = None):
    with get_client(sync_client=True) as client:
        return client.resume_flow_run(flow_run_id, run_input=form)


def instance(key: str) -> StepInstance:
    with Session(runtime.engine()) as session:
        return session.exec(select(StepInstance).where(StepInstance.key == key)).one()


def form(action: str, email: str, comment: str = "", diarienummer: str = "") -> dict:
    return {"åtgärd": action, "epostadress": email, "kommentar": comment, "diarienummer": diarienummer}


def approve_regionplan() -> None:
    """The small organisation's regionplan, submitted and approved through the API."""
    step = instance("regionplan:region")
    if step.state == StepState.approved:
        return
    if step.state == StepState.planned:
        execute(step.flow_run_id)
    if instance(step.key).state in (StepState.open, StepState.returned):
        resume(step.flow_run_id, form("lämna in", "erik.ekonom@example.se"))
        execute(step.flow_run_id)
    resume(step.flow_run_id, form("godkänn", "sigrid.sekreterare@example.se", diarienummer="RF/12/2026"))
    execute(step.flow_run_id)
    assert instance(step.key).state == StepState.approved
