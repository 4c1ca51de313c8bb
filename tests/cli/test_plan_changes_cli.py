"""`steps add|cancel|reassign|move-deadline`, `people replace|absent` from the command line:
the change_plan role from the organisation's data decides who may, the audit records
that role and the OS user, and a refusal is Swedish, exit code 2, nothing written."""

from __future__ import annotations

import datetime as dt
import getpass
import socket

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from arshjul.cli import app
from arshjul.core.database import get_engine, session_scope
from models.cycles import store_cycle
from models.tables import Absence, AuditEntry, StepInstance, StepState
from models.validation import load_definition
from tests.conftest import SMALL_ORG
from tests.prefect_support import app_environment

runner = CliRunner()
RUT = "rut.direktor@example.se"
NOW = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def live_cycle(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # no Prefect: the CLI says so and goes on
    with app_environment(tmp_path, SMALL_ORG):
        with session_scope(get_engine()) as session:
            store_cycle(load_definition(SMALL_ORG), 2027, session=session, now=NOW)
        yield get_engine()


def instance(engine, key: str) -> StepInstance:
    with Session(engine) as session:
        return session.exec(select(StepInstance).where(StepInstance.key == key)).one()


def audits(engine, action: str) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["steps", "move-deadline", "{id}", "--by", "2", "--reason", "x", "--as", "eva.a1@example.se"],
            "får inte flytta",
        ),
        (["steps", "cancel", "{id}", "--reason", "x", "--as", "eva.a1@example.se"], "får inte ställa in"),
        (["steps", "cancel", "{id}", "--as", RUT], "ange ett skäl"),
        (["steps", "reassign", "{id}", "--to", "nobody@x.se", "--reason", "x", "--as", RUT], "okänd person"),
        (["steps", "cancel", "999999", "--reason", "x", "--as", RUT], "steg 999999 finns inte"),
        (
            [
                "people",
                "absent",
                "eva.a1@example.se",
                "--from",
                "2027-03-01",
                "--to",
                "2027-03-05",
                "--as",
                "olle.a@example.se",
            ],
            "får inte registrera frånvaro för andra",
        ),
    ],
    ids=[
        "enhetschef-moves-region-deadline",
        "enhetschef-cancels",
        "no-reason",
        "unknown-person",
        "unknown-step",
        "absence-for-another",
    ],
)
def test_refusals_are_swedish_exit_two_and_write_nothing(live_cycle, args, message):
    step = instance(live_cycle, "regionplan:region")
    before = len(audits(live_cycle, "step.deadline_moved") + audits(live_cycle, "step.cancelled"))
    result = runner.invoke(app, [a.replace("{id}", str(step.id)) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(audits(live_cycle, "step.deadline_moved") + audits(live_cycle, "step.cancelled")) == before
    with Session(live_cycle) as session:
        assert session.exec(select(Absence).where(Absence.source == "cli")).all() == []


def test_cancel_records_the_role_held_and_the_os_user(live_cycle):
    step = instance(live_cycle, "omrade_verksamhetsplan:omr_a")
    result = runner.invoke(app, ["steps", "cancel", str(step.id), "--reason", "Området läggs ned", "--as", RUT])
    assert result.exit_code == 0, result.output
    assert instance(live_cycle, step.key).state == StepState.cancelled
    [entry] = audits(live_cycle, "step.cancelled")
    assert entry.actor_role == "regiondirektor"
    assert entry.origin == {
        "via": "cli",
        "os_user": getpass.getuser(),
        "host": socket.gethostname(),
        "on_behalf_of": RUT,
    }


def test_add_reassign_and_replace_from_the_command_line(live_cycle):
    added = runner.invoke(
        app,
        [
            "steps",
            "add",
            "--year",
            "2027",
            "--key",
            "koanalys",
            "--name",
            "Köanalys",
            "--unit",
            "omr_a",
            "--process",
            "uppfoljning",
            "--opens",
            "2027-05-17",
            "--due",
            "{step: tertialrapport_omrade, offset: 5}",
            "--owner-role",
            "omradeschef",
            "--depends-on",
            "tertialrapport_omrade",
            "--reason",
            "RS vill se köerna",
            "--as",
            RUT,
        ],
    )
    assert added.exit_code == 0, added.output
    row = instance(live_cycle, "koanalys:omr_a")
    assert (row.owner, row.opens, row.due) == ("olle.a", dt.date(2027, 5, 17), dt.date(2027, 5, 21))
    bad = runner.invoke(
        app,
        [
            "steps",
            "add",
            "--year",
            "2027",
            "--key",
            "fel",
            "--name",
            "Fel",
            "--unit",
            "omr_a",
            "--process",
            "nej",
            "--opens",
            "2027-05-17",
            "--due",
            "2027-05-10",
            "--owner-role",
            "omradeschef",
            "--reason",
            "x",
            "--as",
            RUT,
        ],
    )
    assert bad.exit_code == 2 and "okänd process 'nej'" in bad.output
    moved = runner.invoke(
        app, ["steps", "reassign", str(row.id), "--to", "otto.b", "--reason", "Olle är sjuk", "--as", RUT]
    )
    assert moved.exit_code == 0, moved.output
    assert instance(live_cycle, "koanalys:omr_a").owner == "otto.b"
    replaced = runner.invoke(
        app,
        [
            "people",
            "replace",
            "olle.a",
            "otto.b@example.se",
            "--from",
            "2026-11-01",
            "--reason",
            "tf. områdeschef",
            "--as",
            RUT,
        ],
    )
    assert replaced.exit_code == 0, replaced.output
    with Session(live_cycle) as session:
        for step in session.exec(select(StepInstance)):
            assert "olle.a" not in {step.owner, step.decider, *(e.get("person") for e in step.escalation)}
