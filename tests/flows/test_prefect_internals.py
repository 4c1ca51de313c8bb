"""The Prefect internals the project relies on (all in `flows/prefect_internals.py`) are
still where, and what, they were. When an upgrade moves one, this fails and says which."""

from __future__ import annotations

import importlib
import inspect

import prefect.flow_engine as flow_engine
import pytest

from flows.prefect_internals import EXPECTED, PrefectInternalsChanged, without_suspension_observer


@pytest.mark.parametrize(("module", "name", "parameters"), EXPECTED, ids=[f"{m}.{n}" for m, n, _ in EXPECTED])
def test_each_internal_is_still_there_with_the_parameters_we_pass(module, name, parameters):
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        pytest.fail(
            f"Prefect no longer has {module}.{name}: flows/prefect_internals.py must be adapted to this version"
        )
    missing = set(parameters) - set(inspect.signature(found).parameters)
    assert not missing, f"{module}.{name} lost the parameters {sorted(missing)}: adapt flows/prefect_internals.py"


def test_the_suspension_observer_is_replaced_and_put_back():
    original = flow_engine.observe_flow_run_suspension
    with without_suspension_observer():
        replaced = flow_engine.observe_flow_run_suspension
        assert replaced is not original
        with replaced("any-run", object()):  # a no-op context: no thread, no subscription
            pass
    assert flow_engine.observe_flow_run_suspension is original


def test_a_moved_observer_stops_the_simulation_with_a_clear_error(monkeypatch):
    monkeypatch.delattr(flow_engine, "observe_flow_run_suspension")
    with pytest.raises(PrefectInternalsChanged, match="observe_flow_run_suspension is gone"):
        with without_suspension_observer():
            pass


def test_nothing_else_imports_prefect_internals():
    """Private Prefect APIs are used in one module only."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in root.glob("**/*.py"):
        if ".venv" in path.parts or path.name in ("prefect_internals.py", "test_prefect_internals.py"):
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("prefect._", "prefect.flow_engine", "prefect.utilities.engine", "observe_flow_run_suspension"):
            if needle in text:
                offenders.append(f"{path.relative_to(root)}: {needle}")
    assert offenders == []
