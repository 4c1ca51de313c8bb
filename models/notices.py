"""Who is told what, and when: notices written to the outbox.

A notice is decided here (domain) and written as an outbox row in the same transaction
as the change that causes it; `notifications` renders and sends it later. The row's key
(step instance, kind, stage, recipient) is unique, so asking twice stores it once.

Delivery times: event notices (opened, submitted, decided…) go out at once during
working hours, otherwise at the start of the next working day; the sweep's reminders
and escalations go out at the start of the working day (08:00). People who chose a
daily digest get no single mails about what was done to their steps: those notices are
kept as *folded* rows, never sent by themselves, that the next digest reports as news.
Escalations about other people's steps always go out singly.

One scheduled mail per person and day: the sweep's reminders, deadline-today and
overdue notices and the digest stay one row each, and the sender combines a person's
due rows of these kinds into one mail (`COMBINED_KINDS`, `combined_message_id`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from models.people import Directory
from models.tables import Mode, OutboxMessage, OutboxState
from models.workdays import WorkingCalendar

# Kinds and what they are about.
OPENED = "opened"  # to the owner: the step is open
AWAITING_DECISION = "awaiting_decision"  # to the decider: a submission waits for a decision
REMINDER = "reminder"  # to the owner: N working days left
DUE_TODAY = "due_today"
OVERDUE = "overdue"  # to the owner, the first working day after the deadline
ESCALATION = "escalation"  # to the owner's manager or a higher role
RETURNED = "returned"  # to the owner: sent back for revision
DECIDED = "decided"  # to the owner: approved
DEADLINE_MOVED = "deadline_moved"  # to the owner: the regionstab moved the deadline
DIGEST = "digest"  # weekly (Monday) or daily summary of a person's steps
NEW_LINK = "new_link"  # to a person, at their address in the organisation: fresh signed links
CHECKPOINT = "checkpoint"  # to the auditors' address: a signed checkpoint of the audit log
CANCELLED = "cancelled"  # to the owner: the regionstab cancelled the step (with a cancelling .ics)
REASSIGNED = "reassigned"  # to the new owner: a step moved to them (steps reassign, people replace)
HANDED_OVER = "handed_over"  # to the old owner: the step is no longer theirs (a cancelling .ics)

# Kinds a daily-digest reader gets in the digest instead of as single mails (kept as
# folded rows: the digest's news).
FOLDED_INTO_DAILY_DIGEST = {OPENED, AWAITING_DECISION, RETURNED, DECIDED}

# The scheduled kinds the sender combines into one mail per person (the 08:00 batch).
# Escalations (about other people's steps) and notices caused by an action stay single.
COMBINED_KINDS = frozenset({REMINDER, DUE_TODAY, OVERDUE, DIGEST})

# What makes a digest worth sending besides open work: something new since the last one.
NEWS_KINDS = frozenset({OPENED, AWAITING_DECISION, DEADLINE_MOVED, OVERDUE, RETURNED, DECIDED, CANCELLED})

# Most urgent first, within one combined mail.
URGENCY = {OVERDUE: 0, DUE_TODAY: 1, REMINDER: 2, DIGEST: 3}


@dataclass(frozen=True)
class Notice:
    kind: str
    stage: str
    recipient_key: str
    send_at: dt.datetime
    instance_id: int | None = None
    cycle_id: int | None = None
    on_behalf_of: str | None = None  # the absent person whose step it is
    context: dict = field(default_factory=dict)
    folded: bool = False  # kept for the recipient's next digest, never sent by itself

    def key(self, mode: Mode = Mode.live) -> str:
        return message_key(self.instance_id, self.kind, self.stage, self.recipient_key, mode)


def message_key(instance_id: int | None, kind: str, stage: str, recipient_key: str, mode: Mode = Mode.live) -> str:
    key = f"{instance_id if instance_id is not None else '-'}:{kind}:{stage}:{recipient_key}"
    return key if mode is Mode.live else f"{mode}:{key}"


def message_id_for(key: str, domain: str) -> str:
    """The Message-ID of the message with this outbox key: the same on every attempt."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def is_composed(key: str, message_id: str) -> bool:
    """Whether an outbox row already belongs to a composed mail: its Message-ID is no
    longer the one of its own key (`notifications.outbox` sets it when it claims)."""
    domain = message_id.rstrip(">").rpartition("@")[2]
    return message_id != message_id_for(key, domain)


def combined_message_id(keys, domain: str) -> str:
    """The Message-ID of one mail made of several outbox rows: derived from all their
    keys (in any order), and the row's own Message-ID when it is one row."""
    keys = sorted(set(keys))
    if len(keys) == 1:
        return message_id_for(keys[0], domain)
    return message_id_for("+".join(keys), domain)


def delivery_time(now: dt.datetime, calendar: WorkingCalendar, workday_end: dt.time = dt.time(17, 0)) -> dt.datetime:
    """Now, if it is working hours on a working day; else the start of the next working day."""
    local = calendar.local_date(now)
    start = calendar.at_start_of_day(local)
    end = start.replace(hour=workday_end.hour, minute=workday_end.minute)
    if calendar.is_working_day(local) and start <= now < end:
        return now
    day = local if calendar.is_working_day(local) and now < start else calendar.add_working_days(local, 1)
    return calendar.at_start_of_day(day).in_timezone("UTC")


def next_morning(now: dt.datetime, calendar: WorkingCalendar) -> dt.datetime:
    """The start of the next working day after today (08:00 local): for news that can
    gather during a day and go out as one mail."""
    return calendar.at_start_of_day(calendar.add_working_days(calendar.local_date(now), 1)).in_timezone("UTC")


def addressed(
    kind: str,
    stage: str,
    principal: str | None,
    *,
    directory: Directory,
    day: dt.date,
    send_at: dt.datetime,
    instance_id: int | None,
    cycle_id: int | None,
    context: dict | None = None,
) -> list[Notice]:
    """A notice meant for `principal`, delivered to whoever acts for them on `day`
    (their stand-in while they are away); folded into the next digest when that person
    reads a daily digest."""
    if principal is None or principal not in directory:
        return []
    recipient = directory.acting_for(principal, day)
    folded = kind in FOLDED_INTO_DAILY_DIGEST and directory[recipient].digest == "daily"
    return [
        Notice(
            kind=kind,
            stage=stage,
            recipient_key=recipient,
            send_at=send_at,
            instance_id=instance_id,
            cycle_id=cycle_id,
            on_behalf_of=principal if recipient != principal else None,
            context=context or {},
            folded=folded,
        )
    ]


def enqueue(
    notices: list[Notice],
    *,
    session: Session,
    directory: Directory,
    now: dt.datetime,
    mail_domain: str,
    mode: Mode = Mode.live,
) -> set[str]:
    """Write notices to the outbox in the caller's transaction; existing keys are left as
    they are. Returns the keys that were new."""
    if not notices:
        return set()
    rows = []
    for notice in notices:
        key = notice.key(mode)
        rows.append(
            dict(
                key=key,
                instance_id=notice.instance_id,
                cycle_id=notice.cycle_id,
                mode=mode,
                kind=notice.kind,
                stage=notice.stage,
                recipient_key=notice.recipient_key,
                recipient=directory[notice.recipient_key].email,
                on_behalf_of=notice.on_behalf_of,
                context=notice.context,
                created_at=now,
                state=(OutboxState.folded if notice.folded else OutboxState.pending).value,
                attempts=0,
                next_attempt_at=notice.send_at,
                message_id=message_id_for(key, mail_domain),
            )
        )
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    new: set[str] = set()
    for start in range(0, len(rows), 500):  # stay under the backends' bound-parameter limits
        statement = (
            insert(OutboxMessage)
            .values(rows[start : start + 500])
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(col(OutboxMessage.key))
        )
        new.update(session.exec(statement).scalars())
    return new
