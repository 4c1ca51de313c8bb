"""The tamper-evident audit log: append, verify, export.

Each entry's hash covers its own fields and the previous entry's hash. Changing or
deleting an entry breaks every later link, which `verify_chain` reports. Appending is
serialised so the chain never forks: BEGIN IMMEDIATE on SQLite (see arshjul.core.database),
a transaction-scoped advisory lock on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import text
from sqlmodel import Session, col, select

from models.audit_hash import GENESIS_HASH, fields_hash, quick_fields_hash
from models.tables import AuditEntry

__all__ = ["GENESIS_HASH", "fields_hash", "quick_fields_hash"]  # imported from here by the rest of the app

_AUDIT_LOCK = 7_351_001  # any constant shared by all writers of this database

# "simulation" is kept for entries written before the simulation's actions were recorded
# as "simulering"; new entries of the simulation use "simulering".
SOURCES = ("ui", "cli", "sweep", "email-link", "länk", "system", "simulation", "simulering", "avstämning")


def _hashed_fields(entry: AuditEntry) -> dict:
    fields = {
        "at": entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "actor_role": entry.actor_role,
        "source": entry.source,
        "action": entry.action,
        "cycle_id": entry.cycle_id,
        "instance_id": entry.instance_id,
        "before": entry.before,
        "after": entry.after,
        "comment": entry.comment,
        "flow_run_id": entry.flow_run_id,
    }
    # Entries written before `origin` existed hash as they always did.
    if entry.origin is not None:
        fields["origin"] = entry.origin
    return fields


def hashed_fields(entry) -> dict:
    """What an entry's hash covers (anything with the entry's fields as attributes)."""
    return _hashed_fields(entry)


def quick_entry_hash(entry, prev_hash: str) -> str:
    return quick_fields_hash(_hashed_fields(entry), prev_hash)


def entry_hash(entry: AuditEntry, prev_hash: str) -> str:
    return fields_hash(_hashed_fields(entry), prev_hash)


def lock_audit_log(*, session: Session) -> None:
    """Hold the audit chain's lock until the transaction ends (SQLite: BEGIN IMMEDIATE holds it)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_AUDIT_LOCK))


def append_audit(
    *,
    session: Session,
    at: dt.datetime,
    actor: str,
    action: str,
    source: str,
    actor_role: str | None = None,
    cycle_id: int | None = None,
    instance_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    comment: str | None = None,
    flow_run_id: str | None = None,
    origin: dict | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (commit it together with the change)."""
    if source not in SOURCES:
        raise ValueError(f"unknown audit source {source!r}")
    lock_audit_log(session=session)
    last = select(AuditEntry.hash).order_by(col(AuditEntry.id).desc()).limit(1)
    prev_hash = session.exec(last).first() or GENESIS_HASH
    # Round-trip the payloads through JSON so the hash covers exactly what is stored.
    entry = AuditEntry(
        at=at.astimezone(dt.UTC),
        actor=actor,
        actor_role=actor_role,
        source=source,
        action=action,
        cycle_id=cycle_id,
        instance_id=instance_id,
        before=json.loads(json.dumps(before, default=str)) if before is not None else None,
        after=json.loads(json.dumps(after, default=str)) if after is not None else None,
        comment=comment,
        flow_run_id=flow_run_id,
        origin=json.loads(json.dumps(origin, default=str)) if origin is not None else None,
        prev_hash=prev_hash,
        hash="",
    )
    entry.hash = entry_hash(entry, prev_hash)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainProblem:
    entry_id: int
    message: str


def verify_chain(*, session: Session) -> tuple[int, list[ChainProblem]]:
    """Walk the whole log in order; return (entries checked, problems found in the chain).
    Against checkpoints, and with the triggers checked: models.audit_integrity."""
    from models.audit_integrity import verify_log  # it builds on this module's hashing

    result = verify_log(session=session)
    return result.checked, [ChainProblem(p.entry_id, p.message) for p in result.problems if p.entry_id is not None]


def iter_entries(
    *,
    session: Session,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    instance_id: int | None = None,
) -> Iterator[AuditEntry]:
    query = select(AuditEntry).order_by(col(AuditEntry.id))
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    if instance_id is not None:
        query = query.where(AuditEntry.instance_id == instance_id)
    yield from session.exec(query)
