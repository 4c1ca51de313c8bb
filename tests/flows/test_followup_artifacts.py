"""A follow-up step's run shows its period's report: a table and a markdown artifact."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from sqlmodel import select
from typer.testing import CliRunner

from arshjul.cli import app
from arshjul.core import runtime
from arshjul.core.database import session_scope
from models.cycles import store_cycle
from models.tables import StepInstance
from tests.conftest import REGION_ORG
from tests.prefect_support import app_environment

pytestmark = pytest.mark.prefect
FIXTURES = Path(__file__).parent.parent / "fixtures" / "followup"


def test_the_step_run_publishes_its_period(prefect_server, tmp_path, region_definition):
    from tasks.followup_artifacts import publish_followup

    with app_environment(tmp_path, REGION_ORG):
        runtime._cache.clear()
        with session_scope(runtime.engine()) as session:
            store_cycle(region_definition, 2027, session=session, now=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
            rs_april = session.exec(select(StepInstance.id).where(StepInstance.step == "tertialrapport_rs")).one()
            plan_step = session.exec(select(StepInstance.id).where(StepInstance.step == "rs_verksamhetsplan")).one()
        result = CliRunner().invoke(
            app,
            ["followup", "import", str(FIXTURES / "seed003-T1.csv"), "--year", "2027", "--period", "T1",
             "--as", "helena.nordin@example.se"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output

        @flow
        def step_run(instance_id: int) -> bool:
            return publish_followup(instance_id)

        assert step_run(rs_april) is True
        assert step_run(plan_step) is False  # a plan follows up nothing
        # The status artifact lists the early warnings of the latest period to its official.
        from models.people import load_directory
        from models.queries import cycle_steps
        from models.tables import Cycle
        from tasks.artifacts import early_warning_lines

        result = CliRunner().invoke(
            app,
            ["followup", "import", str(FIXTURES / "seed003-T2.csv"), "--year", "2027", "--period", "T2",
             "--as", "helena.nordin@example.se"],
        )  # fmt: skip
        assert result.exit_code == 0 and "tidig varning till 1 ansvarig." in result.stdout, result.output
        with session_scope(runtime.engine()) as session:
            cycle = session.exec(select(Cycle)).one()
            steps = cycle_steps(session=session, cycle_id=cycle.id)
            directory = load_directory(session=session, organisation=cycle.organisation)
        lines = early_warning_lines(cycle, steps, directory)
        assert lines[1] == "## Tidig varning – Delår \\(per augusti\\)"
        assert (
            "| regionstyrelsen | Presentera en långsiktig fastighetsplan under året | har blivit röd | Helena Nordin |"
            in lines
        )
        assert len(lines) == 5 + 41
        runtime._cache.clear()
    keys = ["arshjul-2027-uppfoljning-t1-regionstyrelsen", "arshjul-2027-uppfoljning-t1-regionstyrelsen-siffror"]
    with get_client(sync_client=True) as client:
        artifacts = {
            a.key: a for a in client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)))
        }
    assert set(artifacts) == set(keys)
    markdown = artifacts[keys[0]].data
    assert "| Uppdrag | 20 | 18 gul, 2 röd |" in markdown and "Rapporterat: **78 av 141**" in markdown
    assert artifacts[keys[0]].flow_run_id is not None
    rows = artifacts[keys[1]].data
    assert '"Status": "r\\u00f6d", "Antal": 17' in rows or "röd" in rows
