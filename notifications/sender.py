"""Sending the outbox: claim a page of due messages, prepare them, send each over SMTP
and mark it sent. A person's due scheduled messages (reminders, deadline today, overdue,
digest) are claimed together and go out as one mail, its rows marked in one transaction
and its Message-ID derived from all their keys (`models.notices.combined_message_id`).

A sender first claims a page of due messages in a short transaction (FOR UPDATE SKIP
LOCKED on PostgreSQL, so two senders never take the same row; BEGIN IMMEDIATE on
SQLite): it writes its name and a time limit on them (`notifications.outbox`). It then
reads what the messages are about, renders them and builds the MIME messages with their
calendar attachments (`notifications.facts`, `notifications.mime`), all outside any
transaction, and sends them one by one, marking each sent in a short transaction of its
own. No database lock is held during an SMTP conversation, so a slow relay holds up
neither the other senders nor the rest of the application.

A sender that dies leaves its claim behind; the claim lapses after `claim_seconds`
(real time) and another sender takes the messages. If the sender died between the SMTP
server's acceptance and the mark, that message goes out again with the same Message-ID
(derived from the outbox key): a message is repeated at most once per crash, and never
lost. A sender only starts a message while at least half of its claim is left, so a
live sender's claim never lapses under it.

Failures: when the SMTP server cannot be reached the batch stops, the claims are given
back and nothing is counted against the messages (they wait for the server to return).
When it refuses the configuration (a login, the sender address, TLS) the batch stops at
that first refusal in the same way, and the fault is stored and reported
(`notifications.smtp_faults`): no further logins until it is fixed or its retry time.
A temporary refusal (4xx) is retried with exponential backoff; after the last attempt,
or at once on a permanent refusal (5xx) or a message that cannot be built, the message
is dead-lettered: kept, listed for the regionstab (`arshjul mail failed`) and
re-sendable (`arshjul mail resend`).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from emails.backend.smtp import SMTPBackend
from sqlalchemy import Connection, Engine
from sqlmodel import Session

from arshjul.core.database import read_only
from arshjul.core.links import LinkMaker
from models import swedish_faults as fault_words
from models.definition import Definition
from models.people import load_directory
from models.tables import Mode
from notifications.facts import MessageBuilder, Prepared
from notifications.outbox import backoff, claim_page, mark_failed, mark_retry, mark_sent, next_due, release, sender_name
from notifications.smtp_faults import (
    Misconfigured,
    OneLoginBackend,
    Unreachable,
    check_login,
    clear_faults,
    configuration_key,
    connect,
    record_fault,
    refused_for_good,
    standing_fault,
)

log = logging.getLogger(__name__)


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
        return OneLoginBackend(ssl=self.ssl, fail_silently=True, **options)

    @property
    def sender_address(self) -> str:
        return email.utils.parseaddr(self.sender)[1] or self.sender


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    dead_lettered: int = 0
    server_unreachable: bool = False
    errors: list[str] = field(default_factory=list)
    # The relay refuses this configuration (Swedish, for the regionstab); `fault_held`:
    # no login was tried, the stored fault's retry time has not come.
    configuration_error: str | None = None
    fault_held: bool = False
    fault_cleared: bool = False

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.dead_lettered

    @classmethod
    def combined(cls, reports: list[DeliveryReport]) -> DeliveryReport:
        """The sum of several senders' reports."""
        total = cls()
        for report in reports:
            total.sent += report.sent
            total.retried += report.retried
            total.dead_lettered += report.dead_lettered
            total.server_unreachable |= report.server_unreachable
            total.errors += report.errors
            total.configuration_error = total.configuration_error or report.configuration_error
        return total


def deliver_due(
    engine: Engine,
    definition: Definition,
    *,
    smtp: SmtpConfig,
    now: dt.datetime,
    ui_url: str,
    mode: Mode = Mode.live,
    limit: int | None = None,
    max_attempts: int = 8,
    retry_base_seconds: float = 60.0,
    claim_seconds: float = 600.0,
    page_size: int = 50,
    connections: int = 1,
    links: LinkMaker | None = None,
    fault_retry_minutes: float = 30.0,
    retry_refused_now: bool = False,
) -> DeliveryReport:
    """Send every outbox message due at `now` (up to `limit`); see the module docstring.

    With `connections` > 1 that many senders run in threads of this process, each over
    an SMTP connection of its own: while one waits for the server's reply, another
    builds its next message. Any number of senders may run at once, in any number of
    processes.

    A stored configuration fault of this `smtp` holds sending (no login) until its
    retry time, unless `retry_refused_now` (a person asking, `arshjul mail send`)."""
    if claim_seconds < 4 * smtp.timeout:
        raise ValueError(
            f"claim_seconds ({claim_seconds:g}) must be at least four SMTP timeouts ({4 * smtp.timeout:g} s)"
        )
    if connections < 1:
        raise ValueError(f"connections must be at least 1, not {connections}")
    fault = standing_fault(engine)
    ours = fault is not None and fault.configuration == configuration_key(smtp)
    held = DeliveryReport()
    if fault is not None and ours:
        message = fault_words.fault_standing(fault.message, fault.since, fault.retry_at)
        held = DeliveryReport(configuration_error=message, fault_held=True)
        if not retry_refused_now and fault.retry_at > dt.datetime.now(dt.UTC):
            return held
    with Session(read_only(engine)) as session:
        if next_due(session, now=now, mode=mode) is None:
            # The common case: nothing is due, no SMTP. A refusal still stands, though,
            # and a person asking is given a real answer.
            return _check_again(engine, smtp, fault_retry_minutes) if retry_refused_now and fault else held
        directory = load_directory(session=session, organisation=definition.organisation.info.key)
    # One login first: a refused one stops everything before another connection tries.
    first = smtp.backend()
    try:
        connect(first, smtp)
    except (Misconfigured, Unreachable) as exc:
        first.close()
        return _stopped(engine, smtp, exc, fault_retry_minutes)
    batch = _Batch(
        engine=engine,
        builder=MessageBuilder(definition, directory, ui_url=ui_url, sender=smtp.sender, links=links),
        smtp=smtp,
        now=now,
        mode=mode,
        limit=limit,
        max_attempts=max_attempts,
        retry_base_seconds=retry_base_seconds,
        claim_seconds=claim_seconds,
        page_size=page_size,
    )
    if connections == 1:
        report = _send_over_one_connection(batch, first)
    else:
        with ThreadPoolExecutor(connections, thread_name_prefix="arshjul-smtp") as pool:
            lanes = [
                pool.submit(_send_over_one_connection, batch, first if n == 0 else None) for n in range(connections)
            ]
            report = DeliveryReport.combined([lane.result() for lane in lanes])
    if report.configuration_error:
        record_fault(engine, smtp, report.configuration_error, retry_minutes=fault_retry_minutes)
    elif fault is not None:
        report.fault_cleared = clear_faults(engine)  # the login worked: the fault is over
    return report


def _check_again(engine: Engine, smtp: SmtpConfig, retry_minutes: float) -> DeliveryReport:
    """Log in once, sending nothing, to see whether a stored refusal still stands."""
    try:
        check_login(smtp)
    except (Misconfigured, Unreachable) as exc:
        return _stopped(engine, smtp, exc, retry_minutes)
    return DeliveryReport(fault_cleared=clear_faults(engine))


def _stopped(engine: Engine, smtp: SmtpConfig, problem: Exception, retry_minutes: float) -> DeliveryReport:
    """The report of a batch that could not log in; a configuration fault is stored."""
    if isinstance(problem, Misconfigured):
        record_fault(engine, smtp, str(problem), retry_minutes=retry_minutes)
        log.error("%s", problem)
        return DeliveryReport(configuration_error=str(problem))
    log.warning("SMTP-servern %s:%s svarar inte (%s); meddelandena väntar", smtp.host, smtp.port, problem)
    return DeliveryReport(server_unreachable=True, errors=[str(problem)])


@dataclass
class _Batch:
    """What the senders of one `deliver_due` call share."""

    engine: Engine
    builder: MessageBuilder
    smtp: SmtpConfig
    now: dt.datetime
    mode: Mode
    limit: int | None
    max_attempts: int
    retry_base_seconds: float
    claim_seconds: float
    page_size: int
    _taken: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Set at the first configuration refusal: the other senders stop too, without
    # logging in again.
    stopped: threading.Event = field(default_factory=threading.Event)

    def next_page_size(self) -> int:
        """How many messages a sender may claim next (0 when the limit is reached)."""
        with self._lock:
            size = self.page_size
            if self.limit is not None:
                size = max(0, min(self.page_size, self.limit - self._taken))
            self._taken += size
            return size

    def give_back(self, count: int) -> None:
        with self._lock:
            self._taken -= count


def _send_over_one_connection(batch: _Batch, backend: SMTPBackend | None = None) -> DeliveryReport:
    report = DeliveryReport()
    sender = sender_name()
    reader = read_only(batch.engine)
    backend = backend or batch.smtp.backend()
    try:
        with batch.engine.connect() as writer:
            while not batch.stopped.is_set() and (size := batch.next_page_size()):
                claimed = claim_page(
                    writer, now=batch.now, mode=batch.mode, sender=sender, size=size, claim_seconds=batch.claim_seconds
                )
                batch.give_back(size - len(claimed))
                if not claimed:
                    break
                claimed_at = time.monotonic()
                unsent = set(claimed)
                try:
                    with Session(reader) as session:
                        page = batch.builder.prepare(claimed, session, batch.now)
                    for item in page:
                        if batch.stopped.is_set() or time.monotonic() - claimed_at > batch.claim_seconds / 2:
                            break  # the rest is given back and claimed afresh
                        _send_one(item, writer, backend, sender=sender, batch=batch, report=report)
                        unsent.difference_update(row.id for row in item.rows)
                finally:
                    batch.give_back(len(unsent))
                    release(writer, unsent, sender)
    except Misconfigured as exc:
        batch.stopped.set()
        report.configuration_error = str(exc)
        log.error("%s", exc)
    except Unreachable as exc:
        report.server_unreachable = True
        report.errors.append(str(exc))
        smtp = batch.smtp
        log.warning("SMTP-servern %s:%s svarar inte (%s); meddelandena väntar", smtp.host, smtp.port, exc)
    finally:
        backend.close()
    return report


def _send_one(
    item: Prepared, writer: Connection, backend: SMTPBackend, *, sender: str, batch: _Batch, report: DeliveryReport
) -> None:
    row, rows = item.row, item.rows
    if item.message is None:
        mark_failed(writer, rows, sender, problem=item.error)
        report.dead_lettered += 1
        return
    connect(backend, batch.smtp)  # a refused login or TLS is told apart from no server
    response = item.message.send(to=row.recipient, set_mail_to=False, smtp=backend)
    subject = item.message.subject
    if response is not None and response.success:
        if not mark_sent(writer, rows, sender, when=batch.now, title=subject, message_id=item.message_id):
            log.warning(
                "meddelande %s skickades efter att anspråket gått ut; en annan avsändare kan skicka det igen", row.key
            )
        report.sent += 1
        return
    error = getattr(response, "error", None)
    status = getattr(response, "status_code", None)
    if status is None:  # no SMTP conversation: the server is not there
        backend.close()
        raise Unreachable(str(error) or "ingen anslutning")
    fault = refused_for_good(batch.smtp, getattr(response, "last_command", None), int(status), response.status_text)
    if fault:  # not this message's fault: it waits, no attempt counted
        backend.close()
        raise Misconfigured(fault)
    attempts = max(r.attempts for r in rows) + 1
    last_error = f"{status} {error or getattr(response, 'status_text', '')}".strip()
    if 500 <= int(status) < 600 or attempts >= batch.max_attempts:
        mark_failed(writer, rows, sender, title=subject, problem=last_error)
        report.dead_lettered += 1
    else:
        retry_at = batch.now + backoff(attempts, batch.retry_base_seconds)
        mark_retry(writer, rows, sender, when=retry_at, title=subject, problem=last_error)
        report.retried += 1
    backend.close()  # start the next message on a fresh connection
