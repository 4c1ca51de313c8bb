"""The app database, as SQLModel tables. Alembic owns the schema (arshjul/core/migrations).

Times are stored in UTC (`UTCDateTime` makes them aware on the way back, also on
SQLite); business dates (opens, due) are plain dates in the organisation's time zone.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, String, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel

# Named constraints, so migrations can drop and alter them on every backend.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the app stores aware UTC times only")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def stored_id(row: Any) -> int:
    """The id of a row that was read from the database or flushed to it."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: flush it first")
    return int(row.id)


def utc_column(**kwargs) -> Column:
    return Column(UTCDateTime(), **kwargs)


class ModeText(TypeDecorator):
    """A `Mode` stored as its text, and read back as a `Mode`."""

    impl = String(12)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else Mode(value).value

    def process_result_value(self, value, dialect):
        return None if value is None else Mode(value)


class Mode(enum.StrEnum):
    """Whose cycle: the live one, or `arshjul simulate`'s, kept apart from it (its runs,
    its mail, its audit entries)."""

    live = "live"
    simulation = "simulation"

    @classmethod
    def of(cls, simulation: bool) -> Mode:
        return cls.simulation if simulation else cls.live


class StepState(enum.StrEnum):
    planned = "planned"
    open = "open"
    submitted = "submitted"
    returned = "returned"
    approved = "approved"
    cancelled = "cancelled"  # ended by the regionstab with a reason (`steps cancel`): its events cancelled


STATE_NAMES = {
    StepState.planned: "planerat",
    StepState.open: "öppet",
    StepState.submitted: "inlämnat",
    StepState.returned: "återremitterat",
    StepState.approved: "godkänt",
    StepState.cancelled: "inställt",
}


# -- organisation (a snapshot of the YAML, refreshed when a cycle is started) -------------


class UnitBase(SQLModel):
    organisation: str = Field(index=True, max_length=80)
    key: str = Field(max_length=80)
    name: str = Field(max_length=500)
    level: str = Field(max_length=80)
    parent_key: str | None = Field(default=None, max_length=80)
    manager_key: str | None = Field(default=None, max_length=80)
    is_body: bool = False


class Unit(UnitBase, table=True):
    __table_args__ = (UniqueConstraint("organisation", "key"),)
    id: int | None = Field(default=None, primary_key=True)


class PersonBase(SQLModel):
    organisation: str = Field(index=True, max_length=80)
    key: str = Field(max_length=80)
    name: str = Field(max_length=500)
    email: str = Field(max_length=254, index=True)
    title: str | None = Field(default=None, max_length=500)
    reports_to: str | None = Field(default=None, max_length=80)
    standin: str | None = Field(default=None, max_length=80)
    digest: str = Field(default="weekly", max_length=10)


class Person(PersonBase, table=True):
    __table_args__ = (UniqueConstraint("organisation", "key"),)
    id: int | None = Field(default=None, primary_key=True)


class AbsenceBase(SQLModel):
    organisation: str = Field(max_length=80)
    person_key: str = Field(max_length=80, index=True)
    start: dt.date
    end: dt.date
    note: str | None = Field(default=None, max_length=500)
    source: str = Field(default="yaml", max_length=20)  # "yaml" or "cli"


class Absence(AbsenceBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


# -- cycles and step instances --------------------------------------------------------


class Cycle(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("organisation", "year", "mode"),)
    id: int | None = Field(default=None, primary_key=True)
    organisation: str = Field(max_length=80)
    year: int
    mode: Mode = Field(default=Mode.live, sa_column=Column(ModeText(), nullable=False))
    definition_digest: str = Field(max_length=64)
    created_at: dt.datetime = Field(sa_column=utc_column(nullable=False))
    # Random, per database: part of the idempotency keys of the cycle's flow runs, so a
    # fresh app database never adopts the runs another one created on the same Prefect
    # server (their parameters name step instances of that other database).
    identity: str = Field(default_factory=lambda: uuid.uuid4().hex, max_length=32)


class StepInstanceBase(SQLModel):
    key: str = Field(max_length=300)
    step: str = Field(max_length=80, index=True)
    period: str | None = Field(default=None, max_length=10)
    name: str = Field(max_length=500)
    kind: str = Field(max_length=20)
    process: str = Field(max_length=80)
    level: str = Field(max_length=80)
    unit: str = Field(max_length=80, index=True)
    unit_name: str = Field(max_length=500)
    owner_role: str = Field(max_length=80)
    owner: str | None = Field(default=None, max_length=80, index=True)
    decided_by: str | None = Field(default=None, max_length=80)
    decided_by_kind: str | None = Field(default=None, max_length=10)
    decider: str | None = Field(default=None, max_length=80)
    meeting: dt.date | None = None
    opens: dt.date
    due: dt.date = Field(index=True)
    nominal_due: dt.date | None = None
    reminders: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    escalation: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    description: str | None = None
    uid: str = Field(max_length=400)


class StepInstance(StepInstanceBase, table=True):
    __tablename__ = "step_instance"
    __table_args__ = (
        UniqueConstraint("cycle_id", "key"),
        Index("ix_step_instance_state_due", "state", "due"),
    )
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    opens_at: dt.datetime = Field(sa_column=utc_column(nullable=False))
    state: StepState = Field(default=StepState.planned, sa_column=Column(String(20), nullable=False))
    sequence: int = 0  # iCalendar SEQUENCE: raised each time the deadline moves
    # Counts the inputs this step has taken (accepted or rejected) and the waits it has
    # finished; the step flow keys each suspension by it, so a re-run after a resume
    # finds the answer to the suspension it was waiting on, and never a stale one.
    input_round: int = 0
    # Raised by every change of state (opened, submitted, approved, returned): a signed
    # link carries the version it was made for and works only while the step is there.
    state_version: int = 0
    document_reference: str | None = Field(default=None, max_length=300)
    submitted_at: dt.datetime | None = Field(default=None, sa_column=utc_column())
    submitted_by: str | None = Field(default=None, max_length=80)
    decided_at: dt.datetime | None = Field(default=None, sa_column=utc_column())
    decided_by_person: str | None = Field(default=None, max_length=80)
    diarienummer: str | None = Field(default=None, max_length=100)
    last_comment: str | None = None
    flow_run_id: str | None = Field(default=None, max_length=36, index=True)
    updated_at: dt.datetime = Field(sa_column=utc_column(nullable=False))


class StepDependency(SQLModel, table=True):
    __tablename__ = "step_dependency"
    instance_id: int = Field(foreign_key="step_instance.id", primary_key=True)
    depends_on_id: int = Field(foreign_key="step_instance.id", primary_key=True, index=True)


# -- the audit log ------------------------------------------------------------------------


class AuditEntry(SQLModel, table=True):
    """Append-only (database triggers refuse UPDATE and DELETE); each entry carries the
    hash of the previous one, so a changed or removed entry breaks the chain."""

    __tablename__ = "audit_entry"
    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(sa_column=utc_column(nullable=False, index=True))
    actor: str = Field(max_length=254)
    actor_role: str | None = Field(default=None, max_length=80)
    source: str = Field(max_length=20)
    action: str = Field(max_length=40, index=True)
    cycle_id: int | None = Field(default=None, index=True)
    instance_id: int | None = Field(default=None, index=True)
    before: dict | None = Field(default=None, sa_column=Column(JSON))
    after: dict | None = Field(default=None, sa_column=Column(JSON))
    comment: str | None = None
    flow_run_id: str | None = Field(default=None, max_length=36)
    # Where the action came from beyond `source`: the OS user of a CLI command, the
    # operator who acted in the Prefect form, a link's token id and client address.
    origin: dict | None = Field(default=None, sa_column=Column(JSON))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


# -- signed links ----------------------------------------------------------------------


class LinkHolder(SQLModel, table=True):
    """A person's links: raising `generation` revokes every link made before."""

    __tablename__ = "link_holder"
    __table_args__ = (UniqueConstraint("organisation", "person_key"),)
    id: int | None = Field(default=None, primary_key=True)
    organisation: str = Field(max_length=80)
    person_key: str = Field(max_length=80)
    generation: int = 0
    revoked_at: dt.datetime | None = Field(default=None, sa_column=utc_column())


class LinkFailure(SQLModel, table=True):
    """A refused link attempt, counted per client address to slow down guessing."""

    __tablename__ = "link_failure"
    __table_args__ = (Index("ix_link_failure_client_at", "client", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    client: str = Field(max_length=64)
    at: dt.datetime = Field(sa_column=utc_column(nullable=False))


# -- the outbox ---------------------------------------------------------------------------


class OutboxState(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"  # dead-lettered after the last attempt; can be re-sent
    folded = "folded"  # a daily-digest reader's notice: news for the next digest, never sent alone


class OutboxMessage(SQLModel, table=True):
    """One message to send, written in the transaction of the change that causes it.

    The key (step instance, kind, stage, recipient) is unique: the same reminder can be
    asked for twice but exists once. The Message-ID is derived from the key, so a resend
    after a crash carries the same Message-ID."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_next", "mode", "state", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=400, unique=True)
    instance_id: int | None = Field(default=None, foreign_key="step_instance.id", index=True)
    cycle_id: int | None = Field(default=None, index=True)
    mode: Mode = Field(
        default=Mode.live, sa_column=Column(ModeText(), nullable=False)
    )  # the live service never sends a simulation's mail
    kind: str = Field(max_length=30)
    stage: str = Field(max_length=40)
    recipient_key: str = Field(max_length=80, index=True)
    recipient: str = Field(max_length=254)
    on_behalf_of: str | None = Field(default=None, max_length=80)  # the absent person a stand-in covers
    context: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = Field(sa_column=utc_column(nullable=False))
    state: OutboxState = Field(default=OutboxState.pending, sa_column=Column(String(10), nullable=False))
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(sa_column=utc_column(nullable=False))
    sent_at: dt.datetime | None = Field(default=None, sa_column=utc_column())
    message_id: str = Field(max_length=300)
    subject: str | None = Field(default=None, max_length=500)
    last_error: str | None = None
    # The sender that has taken the message and until when (real time, not a simulated
    # clock): a sender that dies leaves its claim behind, and it lapses.
    claimed_by: str | None = Field(default=None, max_length=120)
    claimed_until: dt.datetime | None = Field(default=None, sa_column=utc_column())


# -- mail configuration faults ----------------------------------------------------------


class SmtpFault(SQLModel, table=True):
    """The relay refused this installation's configuration (a login, the sender address,
    TLS): while a row for the configuration in use stands, automatic senders do not log
    in again before `retry_at` (so a wrong password cannot lock the relay account), and
    the regionstab is shown `message`. Removed when a login with it succeeds."""

    __tablename__ = "smtp_fault"
    id: int | None = Field(default=None, primary_key=True)
    configuration: str = Field(max_length=64, unique=True)  # a digest of host, port, user, password, sender
    message: str = Field(max_length=2000)
    since: dt.datetime = Field(sa_column=utc_column(nullable=False))
    last_attempt_at: dt.datetime = Field(sa_column=utc_column(nullable=False))
    retry_at: dt.datetime = Field(sa_column=utc_column(nullable=False))


# -- follow-up of goals (issue 14) -------------------------------------------------------


class GoalPlanRecord(SQLModel, table=True):
    """A cycle's goal structure (goals-YYYY.yaml, validated) as it stood when it was last
    stored: the follow-up reads it from here, so a report describes what was reported on."""

    __tablename__ = "goal_plan"
    __table_args__ = (UniqueConstraint("organisation", "year", "mode"),)
    id: int | None = Field(default=None, primary_key=True)
    organisation: str = Field(max_length=80)
    year: int
    mode: Mode = Field(default=Mode.live, sa_column=Column(ModeText(), nullable=False))
    digest: str = Field(max_length=64)
    structure: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    stored_at: dt.datetime = Field(sa_column=utc_column(nullable=False))


class GoalStatus(SQLModel, table=True):
    """The latest status of one item in one period (no row: ej rapporterad)."""

    __tablename__ = "goal_status"
    __table_args__ = (UniqueConstraint("organisation", "year", "mode", "period", "item_key"),)
    id: int | None = Field(default=None, primary_key=True)
    organisation: str = Field(max_length=80)
    year: int
    mode: Mode = Field(default=Mode.live, sa_column=Column(ModeText(), nullable=False))
    period: str = Field(max_length=20)
    item_key: str = Field(max_length=80)
    status: str = Field(max_length=20)
    comment: str | None = None
    value: float | None = None
    reported_by: str = Field(max_length=80)
    reported_at: dt.datetime = Field(sa_column=utc_column(nullable=False))
    source: str = Field(max_length=20)


class FollowupAnalysis(SQLModel, table=True):
    """A unit's or body's analysis of its whole report for one period."""

    __tablename__ = "followup_analysis"
    __table_args__ = (UniqueConstraint("organisation", "year", "mode", "period", "target"),)
    id: int | None = Field(default=None, primary_key=True)
    organisation: str = Field(max_length=80)
    year: int
    mode: Mode = Field(default=Mode.live, sa_column=Column(ModeText(), nullable=False))
    period: str = Field(max_length=20)
    target: str = Field(max_length=80)
    text: str
    reported_by: str = Field(max_length=80)
    reported_at: dt.datetime = Field(sa_column=utc_column(nullable=False))
    source: str = Field(max_length=20)
