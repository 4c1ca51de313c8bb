"""Sending the outbox: claim a due message, render it, send it over SMTP, mark it sent.

One transaction per message, holding the row while it is sent (FOR UPDATE SKIP LOCKED
on PostgreSQL, so two senders never take the same row; BEGIN IMMEDIATE on SQLite). If
the sender dies between the SMTP server's acceptance and the commit, the message goes
out again later with the same Message-ID (derived from the outbox key): a message can
be repeated at most once per crash, and is never lost.

Failures: when the SMTP server cannot be reached the batch stops and nothing is
counted against the messages (they wait for the server to return). A temporary refusal
(4xx) is retried with exponential backoff; after the last attempt, or at once on a
permanent refusal (5xx), the message is dead-lettered: kept, listed for the regionstab
(`arshjul mail failed`) and re-sendable (`arshjul mail resend`).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import emails
from emails.backend.smtp import SMTPBackend
from sqlalchemy import Engine
from sqlmodel import Session, select

from arshjul.database import read_only, session_scope
from models import notices as n
from models.definition import Definition
from models.people import Directory, load_directory
from models.steps import dependents, state_label, step_is_done, unfinished_dependencies
from models.tables import OutboxMessage, OutboxState, StepInstance, StepState
from notifications.ics import Deadline, build_calendar
from notifications.rendering import MessageFacts, RenderedMessage, StepFacts, render

log = logging.getLogger(__name__)

DIGEST_HORIZON = 20  # working days ahead that a digest lists as coming


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: bool = False
    ssl: bool = False
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0
    sender: str = "Årshjulet <arshjul@example.se>"

    def backend(self) -> SMTPBackend:
        options = dict(host=self.host, port=self.port, timeout=self.timeout, local_hostname="arshjul.localdomain")
        if self.tls:
            options["tls"] = True
        if self.user:
            options.update(user=self.user, password=self.password or "")
        return SMTPBackend(ssl=self.ssl, fail_silently=True, **options)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    dead_lettered: int = 0
    server_unreachable: bool = False
    errors: list[str] = field(default_factory=list)


class _Unreachable(Exception):
    pass


def _due(now: dt.datetime, mode: str, partition: tuple[int, int] | None):
    query = select(OutboxMessage).where(OutboxMessage.mode == mode, OutboxMessage.state == OutboxState.pending.value, OutboxMessage.next_attempt_at <= now)
    if partition is not None:
        index, count = partition
        query = query.where(OutboxMessage.id % count == index)
    return query


def next_due(session: Session, *, now: dt.datetime, mode: str, partition: tuple[int, int] | None = None) -> OutboxMessage | None:
    """The next message to prepare (no lock taken)."""
    return session.exec(_due(now, mode, partition).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(1)).first()


def claim(session: Session, message_id: int, *, now: dt.datetime, mode: str) -> OutboxMessage | None:
    """Take the message for this transaction, if it is still due and nobody else has it
    (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's write lock is already held)."""
    query = _due(now, mode, None).where(OutboxMessage.id == message_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.exec(query).first()


def backoff(attempts: int, base_seconds: float) -> dt.timedelta:
    """60 s, 2 min, 4 min … capped at two hours between attempts."""
    return dt.timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), 7200))


class MessageBuilder:
    """Gathers what a message is about (reads), renders it (pure) and builds the MIME
    message with its calendar attachment."""

    def __init__(self, definition: Definition, directory: Directory, *, ui_url: str, sender: str):
        self.definition = definition
        self.org = definition.organisation
        self.directory = directory
        self.ui_url = ui_url.rstrip("/")
        self.sender = sender

    def step_url(self, step: StepInstance) -> str | None:
        return f"{self.ui_url}/runs/flow-run/{step.flow_run_id}" if step.flow_run_id else None

    def step_facts(self, step: StepInstance, session: Session, today: dt.date) -> StepFacts:
        owner = self.directory.members.get(step.owner)
        return StepFacts(
            name=step.name,
            unit_name=step.unit_name,
            owner_name=owner.name if owner else (step.owner or "–"),
            owner_title=owner.title if owner else None,
            due=step.due,
            opens=step.opens,
            decided_by_name=self.org.decider_name(step.decided_by) if step.decided_by in self.org.roles or step.decided_by in self.org.bodies else step.decided_by,
            decider_name=self.directory.name(step.decider) if step.decider else None,
            meeting=step.meeting,
            state_label=state_label(step, today),
            url=self.step_url(step),
            description=step.description,
            last_comment=step.last_comment,
            diarienummer=step.diarienummer,
            waiting_for=tuple(f"{b.name} · {b.unit_name}" for b in unfinished_dependencies(step, session=session)),
            waiting_downstream=tuple(f"{d.name} · {d.unit_name}" for d in dependents(step, session=session) if not step_is_done(d)),
        )

    def digest_lists(self, person: str, session: Session, today: dt.date) -> tuple[tuple, tuple, tuple]:
        horizon = self.org.calendar.add_working_days(today, DIGEST_HORIZON)
        owned = session.exec(
            select(StepInstance).where(StepInstance.owner == person, StepInstance.state.in_([s.value for s in (StepState.planned, StepState.open, StepState.returned)]))
        ).all()
        deciding = session.exec(select(StepInstance).where(StepInstance.decider == person, StepInstance.state == StepState.submitted.value)).all()
        open_steps = sorted((s for s in owned if StepState(s.state) is not StepState.planned), key=lambda s: s.due)
        coming = sorted((s for s in owned if StepState(s.state) is StepState.planned and s.opens <= horizon), key=lambda s: s.opens)
        to_decide = sorted(deciding, key=lambda s: s.due)
        facts = lambda steps: tuple(self.step_facts(s, session, today) for s in steps)  # noqa: E731
        return facts(open_steps), facts(coming), facts(to_decide)

    def facts(self, row: OutboxMessage, session: Session, now: dt.datetime) -> tuple[MessageFacts, StepInstance | None]:
        today = self.org.calendar.local_date(now)
        context = row.context or {}
        recipient = self.directory.name(row.recipient_key)
        on_behalf = self.directory.name(row.on_behalf_of) if row.on_behalf_of else None
        common = dict(recipient_name=recipient, organisation_name=self.org.info.name, on_behalf_of_name=on_behalf, today=today, ui_url=self.ui_url)
        if row.kind == n.DIGEST:
            open_steps, coming, to_decide = self.digest_lists(row.recipient_key, session, today)
            return MessageFacts(kind=row.kind, step=None, digest_daily=bool(context.get("daily")), digest_open=open_steps, digest_coming=coming, digest_to_decide=to_decide, **common), None
        step = session.get(StepInstance, row.instance_id)
        facts = MessageFacts(
            kind=row.kind,
            step=self.step_facts(step, session, today),
            working_days_left=context.get("working_days_left"),
            working_days_late=context.get("working_days_late") if row.kind in (n.OVERDUE, n.ESCALATION) else None,
            acted_by_name=self.directory.name(context["by"]) if context.get("by") else None,
            comment=context.get("comment") or None,
            old_due=dt.date.fromisoformat(context["old_due"]) if context.get("old_due") else None,
            reason=context.get("reason"),
            escalation_owner_name=self.directory.name(context.get("owner") or step.owner) if row.kind == n.ESCALATION else None,
            **common,
        )
        return facts, step

    def build(self, row: OutboxMessage, session: Session, now: dt.datetime) -> tuple[emails.Message, RenderedMessage]:
        facts, step = self.facts(row, session, now)
        rendered = render(facts)
        message = emails.Message(
            message_id=row.message_id,
            date=now,
            subject=rendered.subject,
            mail_from=self.sender,
            mail_to=(self.directory.name(row.recipient_key), row.recipient),
            text=rendered.text,
            html=rendered.html,
            headers={"Auto-Submitted": "auto-generated", "X-Arshjul-Key": row.key},
        )
        if step is not None:
            deadline = Deadline(
                uid=step.uid,
                summary=f"Deadline: {step.name} – {step.unit_name}",
                due=step.due,
                description=f"{step.name} · {step.unit_name}\nDeadline {step.due.isoformat()}" + (f"\n{self.step_url(step)}" if step.flow_run_id else ""),
                reminders=tuple(dt.date.fromisoformat(day) for day in step.reminders),
                url=self.step_url(step),
                sequence=step.sequence,
            )
            calendar = build_calendar(
                [deadline], name=f"Årshjul – {self.org.info.name}", timezone=self.org.info.timezone, dtstamp=now, reminder_time=self.org.info.workday_start
            )
            message.attach(data=calendar, filename="deadline.ics", content_disposition="attachment", mime_type="text/calendar; method=PUBLISH; charset=utf-8")
        return message, rendered


def deliver_due(
    engine: Engine,
    definition: Definition,
    *,
    smtp: SmtpConfig,
    now: dt.datetime,
    ui_url: str,
    mode: str = "live",
    limit: int | None = None,
    max_attempts: int = 8,
    retry_base_seconds: float = 60.0,
    partition: tuple[int, int] | None = None,
) -> DeliveryReport:
    """Send every outbox message due at `now` (up to `limit`); see the module docstring.

    Each message is prepared (read, rendered, built) outside any write lock, then taken,
    sent and marked in a transaction of its own. With `partition=(i, n)` this sender
    only takes messages whose id is i modulo n, so n processes share a batch without
    preparing the same message twice."""
    report = DeliveryReport()
    reader = read_only(engine)
    with Session(reader) as session:
        if next_due(session, now=now, mode=mode, partition=partition) is None:
            return report  # the common case: nothing is due; skip opening SMTP
        directory = load_directory(session, definition.organisation.info.key)
    builder = MessageBuilder(definition, directory, ui_url=ui_url, sender=smtp.sender)
    backend = smtp.backend()
    skipped: set[int] = set()
    try:
        while limit is None or report.sent + report.retried + report.dead_lettered < limit:
            with Session(reader) as session:
                query = _due(now, mode, partition)
                if skipped:
                    query = query.where(OutboxMessage.id.not_in(skipped))
                row = session.exec(query.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(1)).first()
                if row is None:
                    break
                message, _ = builder.build(row, session, now)
            try:
                with session_scope(engine) as session:
                    taken = claim(session, row.id, now=now, mode=mode)
                    if taken is None:
                        skipped.add(row.id)  # another sender has it
                        continue
                    _send_one(taken, message, session, backend, now=now, report=report, max_attempts=max_attempts, retry_base_seconds=retry_base_seconds)
            except _Unreachable as exc:
                report.server_unreachable = True
                report.errors.append(str(exc))
                log.warning("SMTP-servern %s:%s svarar inte (%s); meddelandena väntar", smtp.host, smtp.port, exc)
                break
    finally:
        backend.close()
    return report


def _send_one(row, message, session, backend, *, now, report, max_attempts, retry_base_seconds) -> None:
    response = message.send(to=row.recipient, set_mail_to=False, smtp=backend)
    if response is not None and response.success:
        row.state = OutboxState.sent
        row.sent_at = now
        row.attempts += 1
        row.subject = message.subject
        row.last_error = None
        session.add(row)
        report.sent += 1
        return
    error = getattr(response, "error", None)
    status = getattr(response, "status_code", None)
    if status is None:  # no SMTP conversation: the server is not there
        backend.close()
        raise _Unreachable(str(error) or "ingen anslutning")
    row.attempts += 1
    row.last_error = f"{status} {error or getattr(response, 'status_text', '')}".strip()
    row.subject = message.subject
    if 500 <= int(status) < 600 or row.attempts >= max_attempts:
        row.state = OutboxState.failed
        report.dead_lettered += 1
    else:
        row.next_attempt_at = now + backoff(row.attempts, retry_base_seconds)
        report.retried += 1
    session.add(row)
    backend.close()  # start the next message on a fresh connection
