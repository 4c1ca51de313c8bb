"""Claims on the outbox: which messages are due, taking a page of them for one sender,
and recording what became of each (sent, to be retried, dead-lettered, given back).

A claim is a sender's name and a time limit written on the rows in a short transaction;
each mark gives the claim up in a transaction of its own, and only if the sender still
holds it (`notifications.sender` explains the rules that keep this crash-safe).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid

from sqlalchemy import Connection, bindparam, or_, update
from sqlmodel import Session, select

from models.notices import COMBINED_KINDS, combined_message_id, is_composed
from models.tables import Mode, OutboxMessage, OutboxState


def _is_due(now: dt.datetime, mode: Mode):
    return (
        (OutboxMessage.mode == mode)
        & (OutboxMessage.state == OutboxState.pending.value)
        & (OutboxMessage.next_attempt_at <= now)
    )


def next_due(session: Session, *, now: dt.datetime, mode: Mode) -> OutboxMessage | None:
    """The next message due, claimed or not (no lock taken)."""
    query = select(OutboxMessage).where(_is_due(now, mode)).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
    return session.exec(query.limit(1)).first()


def sender_name() -> str:
    """Who holds a claim, for whoever looks at the outbox: host, process and a token."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _real_now() -> dt.datetime:
    # Claims are about processes being alive, so they run on the real clock even when
    # the messages are due by a simulated one.
    return dt.datetime.now(dt.UTC)


def claim_page(
    connection: Connection, *, now: dt.datetime, mode: Mode, sender: str, size: int, claim_seconds: float
) -> list[int]:
    """Take up to `size` messages due at `now` that nobody holds, for `claim_seconds`,
    and with them every other due scheduled message (`COMBINED_KINDS`) to the same
    people, so that a person's scheduled mail is claimed, sent and marked as one;
    returns their ids in sending order."""
    clock = _real_now()
    free = or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < clock)
    query = (
        select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.recipient_key)
        .where(_is_due(now, mode))
        .where(free)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(size)
    )
    locking = connection.dialect.name == "postgresql"
    if locking:
        query = query.with_for_update(skip_locked=True)
    with connection.begin():
        page = list(connection.execute(query))
        ids = [row.id for row in page]
        people = {row.recipient_key for row in page if row.kind in COMBINED_KINDS}
        if people:
            siblings = (
                select(OutboxMessage.id)
                .where(_is_due(now, mode), free)
                .where(OutboxMessage.kind.in_(sorted(COMBINED_KINDS)), OutboxMessage.recipient_key.in_(sorted(people)))
                .where(OutboxMessage.id.not_in(ids))
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            )
            if locking:
                siblings = siblings.with_for_update(skip_locked=True)
            ids += list(connection.execute(siblings).scalars())
        if ids:
            until = clock + dt.timedelta(seconds=claim_seconds)
            claimed = update(OutboxMessage).where(OutboxMessage.id.in_(ids))
            connection.execute(claimed.values(claimed_by=sender, claimed_until=until))
            _compose(connection, ids)
    return ids


def _compose(connection: Connection, ids: list[int]) -> None:
    """Fix which rows make one combined mail, with its Message-ID, in the claim's own
    transaction: a sender killed after the relay took the mail leaves the composition
    behind, so whoever sends it again sends the same mail with the same Message-ID, even
    if the person's next reminder has arrived meanwhile (it goes in a mail of its own)."""
    rows = connection.execute(
        select(OutboxMessage.id, OutboxMessage.key, OutboxMessage.recipient_key, OutboxMessage.message_id).where(
            OutboxMessage.id.in_(ids), OutboxMessage.kind.in_(sorted(COMBINED_KINDS))
        )
    ).all()
    fresh: dict[str, list] = {}
    for row in rows:
        if not is_composed(row.key, row.message_id):
            fresh.setdefault(row.recipient_key, []).append(row)
    for parts in fresh.values():
        if len(parts) > 1:
            domain = parts[0].message_id.rstrip(">").rpartition("@")[2]
            combined = combined_message_id([row.key for row in parts], domain)
            connection.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_([row.id for row in parts])).values(message_id=combined)
            )


# What becomes of a claimed message, each giving up the claim. Built once: a sender runs
# one of them per message.
_CLAIMED = (OutboxMessage.id == bindparam("row_id")) & (OutboxMessage.claimed_by == bindparam("holder"))
_MARK_SENT = (
    update(OutboxMessage)
    .where(_CLAIMED)
    .values(
        state=OutboxState.sent.value,
        sent_at=bindparam("when"),
        attempts=bindparam("tries"),
        subject=bindparam("title"),
        message_id=bindparam("mid"),
        last_error=None,
        claimed_by=None,
        claimed_until=None,
    )
)
_MARK_RETRY = (
    update(OutboxMessage)
    .where(_CLAIMED)
    .values(
        next_attempt_at=bindparam("when"),
        attempts=bindparam("tries"),
        subject=bindparam("title"),
        last_error=bindparam("problem"),
        claimed_by=None,
        claimed_until=None,
    )
)
_MARK_FAILED = (
    update(OutboxMessage)
    .where(_CLAIMED)
    .values(
        state=OutboxState.failed.value,
        attempts=bindparam("tries"),
        subject=bindparam("title"),
        last_error=bindparam("problem"),
        claimed_by=None,
        claimed_until=None,
    )
)


Rows = OutboxMessage | list[OutboxMessage]


def _finish(
    connection: Connection, statement, rows: Rows, sender: str, *, when=None, title=None, problem=None, mid=None
) -> bool:
    """Record what became of the claimed rows of one mail (one of the statements above),
    all in one transaction; False when the claim had lapsed and another sender took them."""
    rows = rows if isinstance(rows, list) else [rows]
    values = [
        dict(
            row_id=row.id,
            holder=sender,
            tries=row.attempts + 1,
            when=when,
            title=title,
            problem=problem,
            mid=mid or row.message_id,
        )
        for row in rows
    ]
    with connection.begin():
        marked = sum(connection.execute(statement, value).rowcount for value in values)
    return marked == len(rows)


def mark_sent(
    connection: Connection, rows: Rows, sender: str, *, when: dt.datetime, title: str, message_id: str | None = None
) -> bool:
    """Mark the rows of one mail sent, with the mail's Message-ID. False when the claim
    had lapsed: another sender may send the message again."""
    return _finish(connection, _MARK_SENT, rows, sender, when=when, title=title, mid=message_id)


def mark_retry(connection: Connection, rows: Rows, sender: str, *, when: dt.datetime, title: str, problem: str) -> bool:
    return _finish(connection, _MARK_RETRY, rows, sender, when=when, title=title, problem=problem)


def mark_failed(connection: Connection, rows: Rows, sender: str, *, problem: str, title: str | None = None) -> bool:
    """Dead-letter the message: kept, listed for the regionstab and re-sendable."""
    return _finish(connection, _MARK_FAILED, rows, sender, title=title, problem=problem)


def release(connection: Connection, message_ids, sender: str) -> None:
    """Give back claimed messages that were not sent (they are due again at once)."""
    message_ids = list(message_ids)
    if message_ids:
        with connection.begin():
            connection.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(message_ids), OutboxMessage.claimed_by == sender)
                .values(claimed_by=None, claimed_until=None)
            )


def release_all(connection: Connection, *, mode: Mode) -> int:
    """Give back every claim on the mode's messages: for a caller that knows it is their
    only sender and has not started sending (a restarted simulation), so that a claim a
    killed process left does not hold its messages until it lapses. Returns how many."""
    with connection.begin():
        released = connection.execute(
            update(OutboxMessage)
            .where(OutboxMessage.mode == mode, OutboxMessage.claimed_by.is_not(None))
            .values(claimed_by=None, claimed_until=None)
        )
    return released.rowcount or 0


def backoff(attempts: int, base_seconds: float) -> dt.timedelta:
    """60 s, 2 min, 4 min … capped at two hours between attempts."""
    return dt.timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), 7200))
