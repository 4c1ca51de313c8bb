"""Every use of a Prefect API that Prefect does not promise to keep: its private modules
(`prefect._…`), engine functions that it calls itself, and the one engine function that
the simulation replaces while it executes runs in-process.

Nothing else in the project imports these; `tests/flows/test_prefect_internals.py` checks
each of them against the installed Prefect and fails, naming what moved, when an upgrade
changes one. Pinned for prefect==3.8.8.
"""

from __future__ import annotations

import inspect
import runpy
import sys
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager, nullcontext

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
    "immediate_sqlite_transactions",
    "serve_embedded_prefect",
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
    ("prefect.server.database.configurations", "AioSqliteConfiguration", ()),
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


def immediate_sqlite_transactions() -> None:
    """Make every transaction of the Prefect server on SQLite take the write lock at its
    start (BEGIN IMMEDIATE), as the app's own database does.

    Why the embedded server failed with "database is locked": its endpoints that read and
    then write (resuming a run reads the run and its input, then writes the new state)
    open a DEFERRED transaction. In WAL mode such a transaction reads from a snapshot; when
    another writer commits before it writes, SQLite refuses the upgrade to a write at once
    (SQLITE_BUSY_SNAPSHOT) — the busy timeout cannot help, since waiting would not make
    the snapshot current. During a simulation the in-process runs write all the time, so
    a resume sent from the UI failed with a server error. Started IMMEDIATE, the
    transaction queues for the lock (busy_timeout, 60 s) and then reads current data."""
    from prefect.server.database import configurations

    sqlite = configurations.AioSqliteConfiguration
    original = sqlite.begin_transaction
    if getattr(original, "arshjul_immediate", False):
        return
    if "with_for_update" not in inspect.signature(original).parameters:
        raise PrefectInternalsChanged(
            "AioSqliteConfiguration.begin_transaction no longer takes with_for_update; "
            "see flows/prefect_internals.py, immediate_sqlite_transactions"
        )

    @asynccontextmanager
    async def begin_transaction(self, session, with_for_update: bool = False):
        async with original(self, session, with_for_update=True) as transaction:
            yield transaction

    begin_transaction.arshjul_immediate = True  # type: ignore[attr-defined]
    sqlite.begin_transaction = begin_transaction  # type: ignore[method-assign]


def serve_embedded_prefect(arguments: list[str]) -> None:
    """`prefect server start <arguments>` in this process, with SQLite transactions
    started IMMEDIATE (the embedded default's server: `arshjul serve`)."""
    immediate_sqlite_transactions()
    sys.argv = ["prefect", "server", "start", *arguments]
    runpy.run_module("prefect", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    serve_embedded_prefect(sys.argv[1:])
