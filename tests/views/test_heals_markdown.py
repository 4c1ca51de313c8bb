"""The reconciler's artifact shows a step's name as typed: made inert once, not twice
(twice, every `-` and `.` of a name showed with a backslash in the Prefect UI)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import tasks.artifacts as artifacts
from arshjul.views.markdown import table_cell
from tests.conftest import SMALL_ORG
from tests.prefect_support import app_environment


def test_a_healed_steps_name_is_escaped_once(tmp_path, monkeypatch):
    step = SimpleNamespace(id=7, name="Mål- och budget 2027.", unit_name="Region", flow_run_id="3f2a")
    heal = SimpleNamespace(
        instance_id=7, at=dt.datetime(2027, 3, 1, 9), comment="körningen kraschade", action="run.reconciled"
    )
    with app_environment(tmp_path / "home", SMALL_ORG):
        monkeypatch.setattr(artifacts, "cycle_steps", lambda **kwargs: [step])
        shown = artifacts.heals_markdown(SimpleNamespace(id=1, year=2027), [heal])
    assert f"[{table_cell(step.name)}](" in shown
    assert "\\\\" not in shown
