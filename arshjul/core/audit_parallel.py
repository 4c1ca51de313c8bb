"""`audit verify` on PostgreSQL, one process per core.

The id range is cut into as many parts as there are cores (none smaller than
PART_MIN entries). This process exports its snapshot and walks the first part; a worker
process (arshjul.core.audit_worker) walks each other part in the same snapshot, so the
parts together are exactly the log one walk would have read. Each part recomputes every
entry's hash from its stored fields, checks its links and its entries against the
checkpoints; `models.audit_walk.join` checks the links between the parts and the
checkpoints' counts. SQLite, and a log too small to share, walk in this process.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Sequence

import psycopg
from sqlalchemy import text
from sqlmodel import Session

from models.audit_integrity import Checkpoint, Verification, verification, verify_log
from models.audit_walk import join, make_plan, postgres_part, walk_part

PART_MIN = 100_000  # entries: below this a worker's start costs more than it saves


class WalkError(RuntimeError):
    """A worker of the walk failed (Swedish message)."""


def verify_database(
    *,
    session: Session,
    checkpoints: Sequence[Checkpoint] = (),
    processes: int | None = None,
    part_min: int = PART_MIN,
) -> Verification:
    """The whole log against the checkpoints: as `verify_log`, in several processes where it pays."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return verify_log(session=session, checkpoints=checkpoints)
    low, high = session.execute(text("SELECT min(id), max(id) FROM audit_entry")).one()
    processes = processes or os.cpu_count() or 1
    parts = 1 if low is None else max(1, min(processes, (high - low + 1) // max(part_min, 1)))
    if parts == 1:
        return verify_log(session=session, checkpoints=checkpoints)
    cuts = [low - 1 + (high - low + 1) * k // parts for k in range(1, parts)]
    ranges = list(zip([None, *cuts], [*cuts, None], strict=True))
    plan = make_plan(checkpoints)
    conninfo = bind.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        exported = connection.execute("SELECT pg_export_snapshot()").fetchone()
        assert exported is not None
        snapshot = exported[0]
        workers = [_start(conninfo, snapshot, part_low, part_high, plan.part(part_low, part_high))
                   for part_low, part_high in ranges[1:]]  # fmt: skip
        try:
            first = walk_part(postgres_part(connection, *ranges[0]), plan.part(*ranges[0]))
            found = [first] + [_result(worker) for worker in workers]
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait()
        connection.rollback()
    return verification(join(found, plan), plan, checkpoints)


def _start(conninfo: str, snapshot: str, low, high, plan) -> subprocess.Popen:
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    worker = subprocess.Popen(
        [sys.executable, "-m", "arshjul.core.audit_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=environment,
    )
    assert worker.stdin is not None
    worker.stdin.write(pickle.dumps((conninfo, snapshot, low, high, plan), protocol=pickle.HIGHEST_PROTOCOL))
    worker.stdin.close()
    return worker


def _result(worker: subprocess.Popen):
    assert worker.stdout is not None
    data = worker.stdout.read()
    if worker.wait() != 0 or not data:
        raise WalkError(
            f"granskningsloggen kunde inte läsas: en av processerna som läser den avbröts (kod {worker.returncode})"
        )
    return pickle.loads(data)
