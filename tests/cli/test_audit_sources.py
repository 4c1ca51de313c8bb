"""Honest sources: an action taken with `arshjul steps …` is audited as `cli`, with the OS
user who ran the command, the host, and the person it was done for."""

from __future__ import annotations

import getpass

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from arshjul.core.database import dispose_engines, session_scope
from arshjul.core.settings import get_settings
from models.steps import open_step
from models.tables import AuditEntry
from tests.conftest import CYCLE_STORED_AT, SMALL_ORG, step_context, step_id


@pytest.fixture
def cli_database(cycle, small_definition, monkeypatch, tmp_path):
    url = cycle.url.render_as_string(hide_password=False)
    monkeypatch.setenv("ARSHJUL_DATABASE_URL", url)
    monkeypatch.setenv("ARSHJUL_HOME", str(tmp_path))
    monkeypatch.setenv("ARSHJUL_ORG", str(SMALL_ORG))
    # No Prefect server: the CLI says the run catches up later, which is not what is tested.
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    get_settings.cache_clear()
    dispose_engines()
    yield cycle
    get_settings.cache_clear()
    dispose_engines()


def test_a_cli_submission_records_the_os_user(cli_database, small_definition):
    from arshjul.cli import app

    engine = cli_database
    instance = step_id(engine, "regionplan:region")
    with session_scope(engine) as session:
        open_step(instance, session=session, ctx=step_context(session, small_definition), now=CYCLE_STORED_AT)
    result = CliRunner().invoke(app, ["steps", "submit", str(instance), "--as", "erik.ekonom@example.se"])
    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "step.submitted")).one()
    assert entry.source == "cli" and entry.actor == "erik.ekonom"
    assert entry.origin["via"] == "cli" and entry.origin["os_user"] == getpass.getuser()
    assert entry.origin["on_behalf_of"] == "erik.ekonom@example.se" and entry.origin["host"]
