"""The auditors' copy of each checkpoint: an outbox row to the auditors' address in the
organisation, written once per checkpoint (its key names the checkpoint)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from models import notices as n
from models.tables import Mode, OutboxMessage, OutboxState

AUDITORS = "revisorerna"  # the outbox's recipient key for the auditors' address
SHOWN = ("at", "reason", "last_id", "last_hash", "count", "key_id", "signature")


def enqueue_checkpoint_mail(
    record: dict, line: str, *, to: str, session: Session, now: dt.datetime, mail_domain: str, mode: Mode = Mode.live
) -> None:
    key = n.message_key(None, n.CHECKPOINT, f"{record['last_id']}@{record['at']}", AUDITORS, mode)
    values = dict(
        key=key,
        mode=mode,
        kind=n.CHECKPOINT,
        stage=f"{record['last_id']}",
        recipient_key=AUDITORS,
        recipient=to.strip().lower(),
        context={"checkpoint": {name: record[name] for name in SHOWN}, "line": line},
        created_at=now,
        state=OutboxState.pending.value,
        attempts=0,
        next_attempt_at=now,
        message_id=n.message_id_for(key, mail_domain),
    )
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(OutboxMessage).values(**values).on_conflict_do_nothing(index_elements=["key"]))
