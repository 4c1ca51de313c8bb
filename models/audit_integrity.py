"""Checking the audit log against checkpoints kept outside the database.

The hash chain alone shows that the log is consistent with itself: anyone who can write
the table can delete its tail or change an entry and recompute every hash after it.
A checkpoint (signed, kept where a database writer cannot reach it; see
arshjul.core.checkpoints) records the log's head — last entry, its hash, the count — and
the short hash of every entry since the previous checkpoint, as CloudTrail's digest
files list the hash of every log file they cover. Walking the log against every
checkpoint names the first entry that differs from what was checkpointed, whatever was
done to it. Pure: the signatures are checked before the checkpoints reach this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace

import orjson
from sqlalchemy import Text, cast, func, select, text
from sqlmodel import Session

from models.audit import GENESIS_HASH, hashed_fields
from models.audit_walk import (
    SHORT,
    Joined,
    Plan,
    Problem,
    Row,
    join,
    make_plan,
    postgres_part,
    walk_part,
)
from models.tables import AuditEntry

__all__ = ["SHORT", "Problem"]  # the walk's own names, used from here by the rest of the app

_TABLE = AuditEntry.__table__  # type: ignore[attr-defined]
_COLUMNS = [_TABLE.c[name] for name in (
    "id", "at", "actor", "actor_role", "source", "action", "cycle_id", "instance_id",
    "before", "after", "comment", "flow_run_id", "origin", "prev_hash", "hash",
)]  # fmt: skip

_SELECTED = [cast(c, Text).label(c.name) if c.name in ("before", "after", "origin") else c for c in _COLUMNS]

# The triggers migration 0001 creates, per backend, and what each must still do.
SQLITE_TRIGGERS = {"audit_entry_no_update": "UPDATE", "audit_entry_no_delete": "DELETE"}
POSTGRES_TRIGGERS = {"audit_entry_no_change": "UPDATE OR DELETE", "audit_entry_no_truncate": "TRUNCATE"}


@dataclass(frozen=True)
class Head:
    """The log's head: what a checkpoint vouches for."""

    last_id: int | None
    last_hash: str
    count: int


@dataclass(frozen=True)
class Checkpoint:
    number: int  # its place in the checkpoint file, from 1
    at: dt.datetime
    reason: str
    head: Head
    # Every entry since the previous checkpoint: (their ids, ascending as the app writes
    # them, and the first SHORT hex digits of each one's hash, joined into one string).
    listed: tuple[Sequence[int], str]


@dataclass
class Verification:
    checked: int = 0
    head: Head = field(default_factory=lambda: Head(None, GENESIS_HASH, 0))
    problems: list[Problem] = field(default_factory=list)
    checkpoints: int = 0
    vouched_until: int | None = None  # the last entry a checkpoint vouches for

    @property
    def first_bad_entry(self) -> int | None:
        ids = [p.entry_id for p in self.problems if p.entry_id is not None]
        return min(ids) if ids else None

    @property
    def intact(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Attestation:
    """What a report was verified against, printed on it."""

    verified_at: dt.datetime
    entries: int
    intact: bool
    checkpoint: dict | None  # the latest checkpoint: number, at, last_id, count, key_id, signature
    unproven_after: int  # entries after the latest checkpoint
    problems: list[str]


def log_head(*, session: Session) -> Head:
    last = session.execute(select(_TABLE.c.id, _TABLE.c.hash).order_by(_TABLE.c.id.desc()).limit(1)).first()
    count = session.execute(select(func.count()).select_from(_TABLE)).scalar_one()
    return Head(last.id, last.hash, count) if last else Head(None, GENESIS_HASH, 0)


def short_hashes_after(after_id: int | None, *, session: Session) -> list[tuple[int, str]]:
    """(id, short hash) of every entry after `after_id`, in order: a checkpoint's list."""
    query = select(_TABLE.c.id, _TABLE.c.hash).order_by(_TABLE.c.id)
    if after_id is not None:
        query = query.where(_TABLE.c.id > after_id)
    return [(row.id, row.hash[:SHORT]) for row in session.execute(query)]


def _entry_row(entry, texts: tuple | None = None) -> Row:
    return (entry.id, entry.prev_hash, entry.hash, hashed_fields(entry), texts)


def _rows(session: Session, batch: int) -> Iterator[Row]:
    """Every entry in id order, a batch at a time; the JSON payloads read as text and
    parsed with orjson (the driver's json.loads was half the cost of a walk)."""
    last_id = None
    loads = orjson.loads
    while True:
        query = select(*_SELECTED).order_by(_TABLE.c.id).limit(batch)
        if last_id is not None:
            query = query.where(_TABLE.c.id > last_id)
        rows = session.execute(query).all()
        if not rows:
            return
        for row in rows:
            entry = SimpleNamespace(**row._mapping)
            texts = (entry.before, entry.after, entry.origin)
            entry.before = loads(entry.before) if entry.before is not None else None
            entry.after = loads(entry.after) if entry.after is not None else None
            entry.origin = loads(entry.origin) if entry.origin is not None else None
            yield _entry_row(entry, texts)
        last_id = rows[-1].id


def trigger_problems(*, session: Session) -> list[Problem]:
    """The append-only triggers must be there, enabled, and still refuse."""
    problems = []
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text(
                "SELECT t.tgname, t.tgenabled, p.prosrc FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
                "WHERE t.tgrelid = 'audit_entry'::regclass AND NOT t.tgisinternal"
            )
        ).all()
        found = {row.tgname: row for row in rows}
        for name, what in POSTGRES_TRIGGERS.items():
            row = found.get(name)
            if row is None:
                problems.append(Problem(None, f"spärren mot {what} i tabellen audit_entry saknas (triggern {name})"))
            elif row.tgenabled == "D":
                problems.append(Problem(None, f"spärren mot {what} (triggern {name}) är avstängd"))
            elif "RAISE EXCEPTION" not in row.prosrc.upper():
                problems.append(Problem(None, f"spärren mot {what} (triggern {name}) stoppar inte längre ändringar"))
    else:
        rows = session.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_entry'")
        ).all()
        bodies: dict[str, str] = {row.name: row.sql or "" for row in rows}
        for name, what in SQLITE_TRIGGERS.items():
            body = bodies.get(name)
            if body is None:
                problems.append(Problem(None, f"spärren mot {what} i tabellen audit_entry saknas (triggern {name})"))
            elif "RAISE(ABORT" not in body.upper().replace(" ", "") or what not in body.upper():
                problems.append(Problem(None, f"spärren mot {what} (triggern {name}) stoppar inte längre ändringar"))
    return problems


def verify_log(*, session: Session, checkpoints: Sequence[Checkpoint] = (), batch: int = 20_000) -> Verification:
    """Walk the whole log once, in this process: the chain, and every entry against the
    checkpoints (in several processes on PostgreSQL: arshjul.core.audit_parallel)."""
    if session.get_bind().dialect.name == "postgresql":
        driver = session.connection().connection.driver_connection
        if driver is None:
            raise RuntimeError("no database connection to walk the audit log on")
        return verify_walk(postgres_part(driver, None, None), checkpoints)
    return verify_walk(_rows(session, batch), checkpoints)


def verify_entries(entries: Iterable, checkpoints: Sequence[Checkpoint] = ()) -> Verification:
    """The same walk over entries from anywhere (an archive's export), in id order; each
    has the audit entry's fields as attributes."""
    return verify_walk((_entry_row(entry) for entry in entries), checkpoints)


def verify_walk(rows: Iterable[Row], checkpoints: Sequence[Checkpoint] = ()) -> Verification:
    """One walk over everything: a single part."""
    plan = make_plan(checkpoints)
    return verification(join([walk_part(rows, plan)], plan), plan, checkpoints)


def verification(joined: Joined, plan: Plan, checkpoints: Sequence[Checkpoint]) -> Verification:
    last_id, last_hash = joined.last if joined.last is not None else (None, GENESIS_HASH)
    return Verification(
        checked=joined.checked,
        head=Head(last_id, last_hash, joined.checked),
        problems=joined.problems,
        checkpoints=len(checkpoints),
        vouched_until=plan.vouched,
    )
