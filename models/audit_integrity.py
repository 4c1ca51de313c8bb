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
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace

import orjson
from sqlalchemy import Text, cast, func, select, text
from sqlmodel import Session

from models.audit import GENESIS_HASH, fields_hash, hashed_fields, quick_fields_hash
from models.tables import AuditEntry

SHORT = 16  # hex digits of an entry's hash kept per entry in a checkpoint (64 bits)

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
    entries: tuple[tuple[int, str], ...]  # (id, first SHORT hex digits of its hash) since the previous one


@dataclass(frozen=True)
class Problem:
    entry_id: int | None  # None: about the log as a whole (a trigger, a checkpoint)
    message: str


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


class Walked:
    """One entry as the walk needs it: its number, its links and the fields its hash covers."""

    __slots__ = ("id", "prev_hash", "hash", "fields", "texts")

    def __init__(self, entry_id: int, prev_hash: str, entry_hash_: str, fields: dict, texts: tuple | None = None):
        self.id, self.prev_hash, self.hash, self.fields = entry_id, prev_hash, entry_hash_, fields
        self.texts = texts  # the JSON payloads as stored, where orjson parsed them

    def reference_hash(self) -> str:
        """The hash by the reference code, the payloads parsed by the standard library
        (orjson reads an integer beyond 64 bits as a float, which would hash differently)."""
        fields = self.fields
        if self.texts is not None:
            fields = dict(fields)
            for name, raw in zip(("before", "after", "origin"), self.texts, strict=True):
                if raw is not None:
                    fields[name] = json.loads(raw)
        return fields_hash(fields, self.prev_hash)

    @classmethod
    def of(cls, entry) -> Walked:
        return cls(entry.id, entry.prev_hash, entry.hash, hashed_fields(entry))


def _rows(session: Session, batch: int) -> Iterator[Walked]:
    """Every entry in id order, a batch at a time; the JSON payloads read as text and
    parsed with orjson (the driver's json.loads was half the cost of a walk)."""
    if session.get_bind().dialect.name == "postgresql":
        yield from _postgres_rows(session, batch)
        return
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
            yield Walked(entry.id, entry.prev_hash, entry.hash, hashed_fields(entry), texts)
        last_id = rows[-1].id


# The time as `hashed_fields` writes it (UTC, microseconds, "+00:00"), made by the server.
_POSTGRES_WALK = """
SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'), actor, actor_role, source,
       action, cycle_id, instance_id, before::text, after::text, comment, flow_run_id, origin::text, prev_hash, hash
FROM audit_entry ORDER BY id
"""


def _postgres_rows(session: Session, batch: int) -> Iterator[Walked]:
    """The walk on PostgreSQL: one server-side cursor streaming plain tuples, the time
    already in the hashed form, no per-row conversion by SQLAlchemy (a million entries
    spend most of their time here otherwise)."""
    driver = session.connection().connection.driver_connection
    if driver is None:
        raise RuntimeError("no database connection to walk the audit log on")
    loads = orjson.loads
    with driver.cursor(name="arshjul_audit_walk") as cursor:
        cursor.itersize = batch
        cursor.execute(_POSTGRES_WALK)
        for row in cursor:
            fields = {
                "at": row[1],
                "actor": row[2],
                "actor_role": row[3],
                "source": row[4],
                "action": row[5],
                "cycle_id": row[6],
                "instance_id": row[7],
                "before": loads(row[8]) if row[8] is not None else None,
                "after": loads(row[9]) if row[9] is not None else None,
                "comment": row[10],
                "flow_run_id": row[11],
            }
            origin = loads(row[12]) if row[12] is not None else None  # JSON null or SQL NULL
            if origin is not None:
                fields["origin"] = origin
            yield Walked(row[0], row[13], row[14], fields, (row[8], row[9], row[12]))


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
    """Walk the whole log once: the chain, and every entry against the checkpoints."""
    return verify_walk(_rows(session, batch), checkpoints)


def verify_entries(entries: Iterable, checkpoints: Sequence[Checkpoint] = ()) -> Verification:
    """The same walk over entries from anywhere (an archive's export), in id order; each
    has the audit entry's fields as attributes."""
    return verify_walk((Walked.of(entry) for entry in entries), checkpoints)


def verify_walk(rows: Iterable[Walked], checkpoints: Sequence[Checkpoint] = ()) -> Verification:
    result = Verification(checkpoints=len(checkpoints))
    expected: dict[int, tuple[str, Checkpoint]] = {}
    heads: dict[int, Checkpoint] = {}
    for checkpoint in checkpoints:
        for entry_id, short in checkpoint.entries:
            expected[entry_id] = (short, checkpoint)
        if checkpoint.head.last_id is not None:
            heads[checkpoint.head.last_id] = checkpoint
    vouched = max((c.head.last_id for c in checkpoints if c.head.last_id is not None), default=None)
    result.vouched_until = vouched
    problems = result.problems
    expected_prev = GENESIS_HASH
    last_id, last_hash = None, GENESIS_HASH
    # How many entries each checkpoint counted up to its head, compared as the walk passes it.
    counts = sorted(((c.head.last_id or 0, c.head.count, c) for c in checkpoints), key=lambda item: item[:2])
    next_count = 0
    for row in rows:
        while next_count < len(counts) and row.id > counts[next_count][0]:
            _compare_count(counts[next_count], result.checked, problems)
            next_count += 1
        result.checked += 1
        if row.prev_hash != expected_prev:
            problems.append(
                Problem(row.id, "länken till föregående post är bruten (en post har ändrats eller tagits bort)")
            )
        if (
            quick_fields_hash(row.fields, row.prev_hash) != row.hash
            and fields_hash(row.fields, row.prev_hash) != row.hash
        ):
            problems.append(Problem(row.id, "postens innehåll stämmer inte med dess hash (posten har ändrats)"))
        known = expected.pop(row.id, None)
        if known is not None:
            short, checkpoint = known
            if row.hash[:SHORT] != short:
                problems.append(
                    Problem(row.id, f"posten skiljer sig från kontrollpunkt {checkpoint.number} ({_when(checkpoint)})")
                )
        elif vouched is not None and row.id <= vouched:
            problems.append(
                Problem(row.id, "posten fanns inte när kontrollpunkterna togs (den har lagts in i efterhand)")
            )
        head_of = heads.get(row.id)
        if head_of is not None and row.hash != head_of.head.last_hash:
            problems.append(
                Problem(
                    row.id, f"hashen skiljer sig från loggens topp i kontrollpunkt {head_of.number} ({_when(head_of)})"
                )
            )
        expected_prev = row.hash
        last_id, last_hash = row.id, row.hash
    for entry_id, (_short, checkpoint) in sorted(expected.items()):
        problems.append(
            Problem(entry_id, f"posten saknas; den fanns vid kontrollpunkt {checkpoint.number} ({_when(checkpoint)})")
        )
    for pending in counts[next_count:]:
        _compare_count(pending, result.checked, problems)
    result.head = Head(last_id, last_hash, result.checked)
    problems.sort(key=lambda p: (p.entry_id is None, p.entry_id or 0))
    return result


def _compare_count(expected: tuple[int, int, Checkpoint], counted: int, problems: list[Problem]) -> None:
    last_id, count, checkpoint = expected
    if counted != count:
        problems.append(
            Problem(
                None,
                f"kontrollpunkt {checkpoint.number} ({_when(checkpoint)}) räknade {count} poster "
                f"till och med post {last_id}; nu finns {counted}",
            )
        )


def _when(checkpoint: Checkpoint) -> str:
    return checkpoint.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
