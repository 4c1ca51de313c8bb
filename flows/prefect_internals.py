"""Every use of a Prefect API that Prefect does not promise to keep: its private modules
(`prefect._…`), engine functions that it calls itself, and the one engine function that
the simulation replaces while it executes runs in-process.

Nothing else in the project imports these; `tests/flows/test_prefect_internals.py` checks
each of them against the installed Prefect and fails, naming what moved, when an upgrade
changes one. Pinned for prefect==3.8.8.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import prefect.flow_engine as flow_engine
from prefect._flow_run_suspension import mark_flow_run_suspension_requested
from prefect._internal.pydantic.v2_schema import create_v2_schema, is_v2_model
from prefect.flow_engine import run_flow
from prefect.utilities.engine import propose_state_sync

__all__ = [
    "create_v2_schema",
    "is_v2_model",
    "mark_flow_run_suspension_requested",
    "propose_state_sync",
    "run_flow",
    "without_suspension_observer",
    "EXPECTED",
]

# What this module relies on: (module, name, parameters it is called with).
EXPECTED = (
    ("prefect._flow_run_suspension", "mark_flow_run_suspension_requested", ("flow_run_id", "state")),
    ("prefect._internal.pydantic.v2_schema", "create_v2_schema", ("name_", "model_base")),
    ("prefect._internal.pydantic.v2_schema", "is_v2_model", ("v",)),
    ("prefect.utilities.engine", "propose_state_sync", ("client", "state", "flow_run_id")),
    ("prefect.flow_engine", "run_flow", ("flow", "flow_run", "parameters", "return_type")),
    ("prefect.flow_engine", "observe_flow_run_suspension", ("flow_run_id", "suspension_request")),
)


class PrefectInternalsChanged(RuntimeError):
    """The installed Prefect no longer has an internal API this project relies on."""


def _observer_to_replace():
    observer = getattr(flow_engine, "observe_flow_run_suspension", None)
    if observer is None:
        raise PrefectInternalsChanged(
            "prefect.flow_engine.observe_flow_run_suspension is gone: the simulation can no longer switch off "
            "the engine's watch for suspensions requested from outside; see flows/prefect_internals.py"
        )
    missing = {"flow_run_id", "suspension_request"} - set(inspect.signature(observer).parameters)
    if missing:
        raise PrefectInternalsChanged(
            f"prefect.flow_engine.observe_flow_run_suspension takes other parameters now (missing {sorted(missing)})"
        )
    return observer


@contextmanager
def without_suspension_observer() -> Iterator[None]:
    """Prefect's engine watches every deployment run it executes for a suspension
    requested from outside (a thread with an event-stream subscription per run, joined
    with up to 2 s of wait at the end). Runs the simulation executes in-process are
    suspended only by themselves, so the watch is replaced by a no-op while it runs."""
    original = _observer_to_replace()
    flow_engine.observe_flow_run_suspension = lambda *args, **kwargs: nullcontext()  # type: ignore[assignment]
    try:
        yield
    finally:
        flow_engine.observe_flow_run_suspension = original
