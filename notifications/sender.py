"""Sending the outbox: claim a page of due messages, prepare them, send each over SMTP
and mark it sent.

A sender first claims a page of due messages in a short transaction (FOR UPDATE SKIP
LOCKED on PostgreSQL, so two senders never take the same row; BEGIN IMMEDIATE on
SQLite): it writes its name and a time limit on them. It then reads what the messages
are about, renders them and builds the MIME messages with their calendar attachments,
all outside any transaction, and sends them one by one, marking each sent in a short
transaction of its own. No database lock is held during an SMTP conversation, so a slow
relay holds up neither the other senders nor the rest of the application.

A sender that dies leaves its claim behind; the claim lapses after `claim_seconds`
(real time) and another sender takes the messages. If the sender died between the SMTP
server's acceptance and the mark, that message goes out again with the same Message-ID
(derived from the outbox key): a message is repeated at most once per crash, and never
lost. A sender only starts a message while at least half of its claim is left, so a
live sender's claim never lapses under it.

Failures: when the SMTP server cannot be reached the batch stops, the claims are given
back and nothing is counted against the messages (they wait for the server to return).
A temporary refusal (4xx) is retried with exponential backoff; after the last attempt,
or at once on a permanent refusal (5xx) or a message that cannot be built, the message
is dead-lettered: kept, listed for the regionstab (`arshjul mail failed`) and
re-sendable (`arshjul mail resend`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email import base64mime
from email.charset import BASE64, RFC2047_CHROME_LEN, Charset
from email.encoders import encode_base64
from email.header import Header
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32
from email.utils import formataddr, format_datetime

import emails
from emails.backend.smtp import SMTPBackend
from emails.utils import SafeMIMEMultipart
from sqlalchemy import Connection, Engine, bindparam, or_, update
from sqlmodel import Session, select

from arshjul.core.database import read_only
from models import notices as n
from models.definition import Definition
from models.people import Directory, load_directory
from models.steps import Neighbours, state_label, step_is_done
from models.tables import Mode, OutboxMessage, OutboxState, StepInstance, StepState
from arshjul.views.ics import Deadline, build_calendar
from notifications.rendering import MessageFacts, StepFacts, render

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

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.dead_lettered

    @classmethod
    def combined(cls, reports: list["DeliveryReport"]) -> "DeliveryReport":
        """The sum of several senders' reports."""
        total = cls()
        for report in reports:
            total.sent += report.sent
            total.retried += report.retried
            total.dead_lettered += report.dead_lettered
            total.server_unreachable |= report.server_unreachable
            total.errors += report.errors
        return total


class _Unreachable(Exception):
    pass


def _is_due(now: dt.datetime, mode: Mode):
    return (OutboxMessage.mode == mode) & (OutboxMessage.state == OutboxState.pending.value) & (OutboxMessage.next_attempt_at <= now)


def next_due(session: Session, *, now: dt.datetime, mode: Mode) -> OutboxMessage | None:
    """The next message due, claimed or not (no lock taken)."""
    return session.exec(select(OutboxMessage).where(_is_due(now, mode)).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(1)).first()


def sender_name() -> str:
    """Who holds a claim, for whoever looks at the outbox: host, process and a token."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _real_now() -> dt.datetime:
    # Claims are about processes being alive, so they run on the real clock even when
    # the messages are due by a simulated one.
    return dt.datetime.now(dt.timezone.utc)


def claim_page(connection: Connection, *, now: dt.datetime, mode: Mode, sender: str, size: int, claim_seconds: float) -> list[int]:
    """Take up to `size` messages due at `now` that nobody holds, for `claim_seconds`;
    returns their ids in sending order."""
    clock = _real_now()
    query = (
        select(OutboxMessage.id)
        .where(_is_due(now, mode))
        .where(or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < clock))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(size)
    )
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    with connection.begin():
        ids = list(connection.execute(query).scalars())
        if ids:
            until = clock + dt.timedelta(seconds=claim_seconds)
            connection.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(claimed_by=sender, claimed_until=until))
    return ids


# What becomes of a claimed message, each giving up the claim. Built once: a sender runs
# one of them per message.
_CLAIMED = (OutboxMessage.id == bindparam("row_id")) & (OutboxMessage.claimed_by == bindparam("holder"))
_MARK_SENT = update(OutboxMessage).where(_CLAIMED).values(
    state=OutboxState.sent.value, sent_at=bindparam("when"), attempts=bindparam("tries"), subject=bindparam("title"),
    last_error=None, claimed_by=None, claimed_until=None,
)
_MARK_RETRY = update(OutboxMessage).where(_CLAIMED).values(
    next_attempt_at=bindparam("when"), attempts=bindparam("tries"), subject=bindparam("title"), last_error=bindparam("problem"),
    claimed_by=None, claimed_until=None,
)
_MARK_FAILED = update(OutboxMessage).where(_CLAIMED).values(
    state=OutboxState.failed.value, attempts=bindparam("tries"), subject=bindparam("title"), last_error=bindparam("problem"),
    claimed_by=None, claimed_until=None,
)


def _finish(connection: Connection, statement, row: OutboxMessage, sender: str, *, when=None, title=None, problem=None) -> bool:
    """Record what became of a claimed message (one of the statements above); False when
    the claim had lapsed and another sender took the message."""
    with connection.begin():
        result = connection.execute(statement, dict(row_id=row.id, holder=sender, tries=row.attempts + 1, when=when, title=title, problem=problem))
    return result.rowcount == 1


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


def backoff(attempts: int, base_seconds: float) -> dt.timedelta:
    """60 s, 2 min, 4 min … capped at two hours between attempts."""
    return dt.timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), 7200))


@dataclass
class Prepared:
    """One claimed message, built and ready to send, or the reason it could not be."""

    row: OutboxMessage
    message: emails.Message | None = None
    error: str | None = None


class MessageBuilder:
    """Gathers what messages are about (reads, a page at a time), renders them (pure) and
    builds the MIME messages with their calendar attachments."""

    def __init__(self, definition: Definition, directory: Directory, *, ui_url: str, sender: str):
        self.definition = definition
        self.org = definition.organisation
        self.directory = directory
        self.ui_url = ui_url.rstrip("/")
        self.sender = sender

    def step_url(self, step: StepInstance) -> str | None:
        return f"{self.ui_url}/runs/flow-run/{step.flow_run_id}" if step.flow_run_id else None

    def step_facts(self, step: StepInstance, neighbours: Neighbours, today: dt.date) -> StepFacts:
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
            waiting_for=tuple(f"{b.name} · {b.unit_name}" for b in neighbours.unfinished_dependencies(step)),
            waiting_downstream=tuple(f"{d.name} · {d.unit_name}" for d in neighbours.dependents(step) if not step_is_done(d)),
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
        neighbours = Neighbours.load([s.id for s in (*open_steps, *coming, *to_decide)], session=session)
        facts = lambda steps: tuple(self.step_facts(s, neighbours, today) for s in steps)  # noqa: E731
        return facts(open_steps), facts(coming), facts(to_decide)

    def facts(self, row: OutboxMessage, step: StepInstance | None, neighbours: Neighbours, session: Session, now: dt.datetime) -> MessageFacts:
        today = self.org.calendar.local_date(now)
        context = row.context or {}
        recipient = self.directory.name(row.recipient_key)
        on_behalf = self.directory.name(row.on_behalf_of) if row.on_behalf_of else None
        common = dict(recipient_name=recipient, organisation_name=self.org.info.name, on_behalf_of_name=on_behalf, today=today, ui_url=self.ui_url)
        if row.kind == n.DIGEST:
            open_steps, coming, to_decide = self.digest_lists(row.recipient_key, session, today)
            return MessageFacts(kind=row.kind, step=None, digest_daily=bool(context.get("daily")), digest_open=open_steps, digest_coming=coming, digest_to_decide=to_decide, **common)
        if step is None:
            raise LookupError(f"steget {row.instance_id} som meddelandet handlar om finns inte")
        return MessageFacts(
            kind=row.kind,
            step=self.step_facts(step, neighbours, today),
            working_days_left=context.get("working_days_left"),
            working_days_late=context.get("working_days_late") if row.kind in (n.OVERDUE, n.ESCALATION) else None,
            acted_by_name=self.directory.name(context["by"]) if context.get("by") else None,
            comment=context.get("comment") or None,
            old_due=dt.date.fromisoformat(context["old_due"]) if context.get("old_due") else None,
            reason=context.get("reason"),
            escalation_owner_name=self.directory.name(context.get("owner") or step.owner) if row.kind == n.ESCALATION else None,
            **common,
        )

    def prepare(self, message_ids: list[int], session: Session, now: dt.datetime) -> list[Prepared]:
        """The messages, read with a handful of queries for the whole page, in the order of
        `message_ids`. A message that cannot be built is returned with its error instead
        of stopping the page."""
        rows = {row.id: row for row in session.exec(select(OutboxMessage).where(OutboxMessage.id.in_(message_ids)))}
        step_ids = {row.instance_id for row in rows.values() if row.instance_id is not None}
        steps = {step.id: step for step in session.exec(select(StepInstance).where(StepInstance.id.in_(step_ids)))}
        neighbours = Neighbours.load(steps, session=session)
        prepared = []
        for message_id in message_ids:
            row = rows[message_id]
            try:
                prepared.append(Prepared(row, self.build(row, steps.get(row.instance_id), neighbours, session, now)))
            except Exception as exc:  # one broken message must not hold up the others
                log.exception("meddelande %s (%s) kunde inte skapas", row.id, row.key)
                prepared.append(Prepared(row, error=f"kunde inte skapas: {type(exc).__name__}: {exc}"))
        return prepared

    def build(self, row: OutboxMessage, step: StepInstance | None, neighbours: Neighbours, session: Session, now: dt.datetime) -> "OutboxMail":
        rendered = render(self.facts(row, step, neighbours, session, now))
        message = OutboxMail(
            key=row.key,
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
                [deadline], name=f"Årshjul – {self.org.info.name}", timezone=self.org.info.timezone, dtstamp=now,
                reminder_time=self.org.info.workday_start, with_vtimezone=False,
            )
            message.attach(data=calendar, filename="deadline.ics", content_disposition="attachment", mime_type="text/calendar; method=PUBLISH; charset=utf-8")
        return message


class _Utf8Base64Words(Charset):
    """utf-8 whose header words are always base64 (see `_QuickHeaders`), split into
    lines exactly as the standard library's `Charset.header_encode_lines` splits them.
    That one joins and encodes the whole line again for every character it adds, to
    measure it: a sixth of the time a mail took to build. Base64's length follows from
    the byte count, so here each character's bytes are counted once."""

    def __init__(self):
        super().__init__("utf-8")
        self.header_encoding = BASE64

    def header_encode_lines(self, string, maxlengths):
        codec = self.output_codec
        extra = len(self.get_output_charset()) + RFC2047_CHROME_LEN
        lines: list[str | None] = []
        start, size = 0, 0  # the current line is string[start:index], `size` bytes
        maxlen = next(maxlengths) - extra
        for index, character in enumerate(string):
            width = len(character.encode(codec))
            if (size + width + 2) // 3 * 4 > maxlen:  # base64mime.header_length of the line with it
                if not lines and index == start:
                    lines.append(None)  # nothing fits on the first line
                else:
                    lines.append(base64mime.header_encode(string[start:index].encode(codec), codec))
                start, size = index, 0
                maxlen = next(maxlengths) - extra
            size += width
        lines.append(base64mime.header_encode(string[start:].encode(codec), codec))
        return lines


UTF8_BASE64 = _Utf8Base64Words()
_BYTES_IN_ONE_WORD = 45  # "=?utf-8?b?" + base64 of 45 bytes (60) + "?=" = 72 ≤ 75 characters


class _QuickHeaders(Compat32):
    """The standard library's compat32 policy (what the `emails` package writes with),
    with two short cuts that change nothing a mail program reads:

    - a header that is plain ASCII and fits on one line is written as it is. compat32
      sends every header through an `email.header.Header` to fold it, which for such a
      header changes nothing and took a sixth of the time it takes to write a mail;
    - a header with other characters (a Swedish subject) is encoded as RFC 2047
      base64 words (`UTF8_BASE64`). compat32 lets the utf-8 charset pick the shorter
      of base64 and quoted-printable, and to split the words it measures the
      quoted-printable length again for every character added, byte by byte: a third
      of the time it took to write a mail. Mail programs decode both alike."""

    def _fold(self, name, value, sanitize):
        if not isinstance(value, str) or "\n" in value or "\r" in value:
            return super()._fold(name, value, sanitize)
        if not value.isascii():
            try:
                words = Header(value, charset=UTF8_BASE64, header_name=name)
            except UnicodeEncodeError:  # undecodable bytes from a parsed mail: compat32's way
                return super()._fold(name, value, sanitize)
            return f"{name}: {words.encode(linesep=self.linesep, maxlinelen=self.max_line_length or 0)}{self.linesep}"
        if not self.max_line_length or len(name) + len(value) + 2 <= self.max_line_length:
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


_QUICK_HEADERS = _QuickHeaders()


def _utf8_base64_text(text: str, subtype: str) -> MIMENonMultipart:
    """A text body part with the same bytes as `emails` writes (utf-8, base64) in half the
    time: `MIMEText`'s charset handling sets and re-parses the Content-Type header
    several times, and `emails` then sets the charset once more."""
    part = MIMENonMultipart("text", subtype, charset="utf-8")
    part.set_payload(text.encode("utf-8"))
    encode_base64(part)
    return part


class OutboxMail(emails.Message):
    """An `emails` message with the MIME tree a mail from the outbox needs and no more:

        multipart/mixed
          multipart/alternative (text/plain, text/html)
          text/calendar attachment

    The `emails` package always adds a multipart/related level for inline images (we
    have none) and a MIME-Version header on every part (RFC 2045 asks for it once, at the
    top); both cost the standard library's generator time on every message. The
    boundaries derive from the outbox key, so a resent message has the same bytes and
    the generator need not search each part for a free boundary: "=_" cannot begin a
    line of base64 (how every part is encoded here) nor of quoted-printable."""

    def __init__(self, *, key: str, date: dt.datetime, **kwargs):
        # Formatted here: `emails` reads a datetime's wall clock as this machine's local
        # time (`time.mktime`), which puts the Date header hours off wherever the
        # machine's zone is not UTC. A naive moment is UTC, as the database returns them.
        if date.tzinfo is None:
            date = date.replace(tzinfo=dt.timezone.utc)
        super().__init__(date=format_datetime(date), **kwargs)
        self.policy = _QUICK_HEADERS
        # 16 hex digits: short enough that the multipart/alternative header fits on one
        # line and needs no folding (see `_QuickHeaders`).
        self.boundary_stem = "=_arshjul_" + hashlib.sha1(key.encode()).hexdigest()[:16]

    def encode_address_header(self, pair):
        # A name with other characters than ASCII becomes one base64 word here, at once,
        # rather than the quoted-printable words `emails` measures out character by
        # character (see `_QuickHeaders`). A name too long for one word (RFC 2047: at most
        # 75 characters) goes `emails`' way.
        if not pair:
            return None
        name, address = pair
        if name and len(name.encode()) > _BYTES_IN_ONE_WORD:
            return super().encode_address_header(pair)
        return formataddr((name or "", address), charset=UTF8_BASE64)

    def set_header(self, msg, key, value, encode=True):
        # `emails` parses an address header again and encodes each name once more; ours
        # come from `encode_address_header` ready: ASCII, on one line.
        if key in ("From", "To") and value is not None and value.isascii() and "\n" not in value and "\r" not in value:
            msg[key] = value
        else:
            super().set_header(msg, key, value, encode)

    def _build_text_part(self):
        return _utf8_base64_text(self.text_body, "plain") if self.text_body else None

    def _build_html_part(self):
        return _utf8_base64_text(self.html_body, "html") if self.html_body else None

    def build_message(self, message_cls=None):
        root = self._build_root_message(message_cls)
        root.set_boundary(f"{self.boundary_stem}_0")
        alternative = SafeMIMEMultipart("alternative", boundary=f"{self.boundary_stem}_1")
        root.attach(alternative)
        bodies = [self._build_text_part(), self._build_html_part()]
        attachments = [attachment.mime for attachment in self.attachments]
        for part in [alternative, *bodies, *attachments]:
            del part["MIME-Version"]
        for part in bodies:
            alternative.attach(part)
        for part in attachments:
            root.attach(part)
        return root


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
) -> DeliveryReport:
    """Send every outbox message due at `now` (up to `limit`); see the module docstring.

    With `connections` > 1 that many senders run in threads of this process, each over
    an SMTP connection of its own: while one waits for the server's reply, another
    builds its next message. Any number of senders may run at once, in any number of
    processes."""
    if claim_seconds < 4 * smtp.timeout:
        raise ValueError(f"claim_seconds ({claim_seconds:g}) must be at least four SMTP timeouts ({4 * smtp.timeout:g} s)")
    if connections < 1:
        raise ValueError(f"connections must be at least 1, not {connections}")
    with Session(read_only(engine)) as session:
        if next_due(session, now=now, mode=mode) is None:
            return DeliveryReport()  # the common case: nothing is due; skip opening SMTP
        directory = load_directory(session, definition.organisation.info.key)
    batch = _Batch(
        engine=engine, builder=MessageBuilder(definition, directory, ui_url=ui_url, sender=smtp.sender), smtp=smtp, now=now, mode=mode,
        limit=limit, max_attempts=max_attempts, retry_base_seconds=retry_base_seconds, claim_seconds=claim_seconds, page_size=page_size,
    )
    if connections == 1:
        return _send_over_one_connection(batch)
    with ThreadPoolExecutor(connections, thread_name_prefix="arshjul-smtp") as pool:
        lanes = [pool.submit(_send_over_one_connection, batch) for _ in range(connections)]
        return DeliveryReport.combined([lane.result() for lane in lanes])


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

    def next_page_size(self) -> int:
        """How many messages a sender may claim next (0 when the limit is reached)."""
        with self._lock:
            size = self.page_size if self.limit is None else max(0, min(self.page_size, self.limit - self._taken))
            self._taken += size
            return size

    def give_back(self, count: int) -> None:
        with self._lock:
            self._taken -= count


def _send_over_one_connection(batch: _Batch) -> DeliveryReport:
    report = DeliveryReport()
    sender = sender_name()
    reader = read_only(batch.engine)
    backend = batch.smtp.backend()
    try:
        with batch.engine.connect() as writer:
            while size := batch.next_page_size():
                claimed = claim_page(writer, now=batch.now, mode=batch.mode, sender=sender, size=size, claim_seconds=batch.claim_seconds)
                batch.give_back(size - len(claimed))
                if not claimed:
                    break
                claimed_at = time.monotonic()
                unsent = set(claimed)
                try:
                    with Session(reader) as session:
                        page = batch.builder.prepare(claimed, session, batch.now)
                    for item in page:
                        if time.monotonic() - claimed_at > batch.claim_seconds / 2:
                            break  # the rest is given back and claimed afresh
                        _send_one(item, writer, backend, sender=sender, now=batch.now, report=report, max_attempts=batch.max_attempts, retry_base_seconds=batch.retry_base_seconds)
                        unsent.discard(item.row.id)
                finally:
                    batch.give_back(len(unsent))
                    release(writer, unsent, sender)
    except _Unreachable as exc:
        report.server_unreachable = True
        report.errors.append(str(exc))
        log.warning("SMTP-servern %s:%s svarar inte (%s); meddelandena väntar", batch.smtp.host, batch.smtp.port, exc)
    finally:
        backend.close()
    return report


def _send_one(item: Prepared, writer: Connection, backend: SMTPBackend, *, sender: str, now, report, max_attempts, retry_base_seconds) -> None:
    row = item.row
    if item.message is None:
        _finish(writer, _MARK_FAILED, row, sender, problem=item.error)
        report.dead_lettered += 1
        return
    response = item.message.send(to=row.recipient, set_mail_to=False, smtp=backend)
    subject = item.message.subject
    if response is not None and response.success:
        if not _finish(writer, _MARK_SENT, row, sender, when=now, title=subject):
            log.warning("meddelande %s skickades efter att anspråket gått ut; en annan avsändare kan skicka det igen", row.key)
        report.sent += 1
        return
    error = getattr(response, "error", None)
    status = getattr(response, "status_code", None)
    if status is None:  # no SMTP conversation: the server is not there
        backend.close()
        raise _Unreachable(str(error) or "ingen anslutning")
    attempts = row.attempts + 1
    last_error = f"{status} {error or getattr(response, 'status_text', '')}".strip()
    if 500 <= int(status) < 600 or attempts >= max_attempts:
        _finish(writer, _MARK_FAILED, row, sender, title=subject, problem=last_error)
        report.dead_lettered += 1
    else:
        _finish(writer, _MARK_RETRY, row, sender, when=now + backoff(attempts, retry_base_seconds), title=subject, problem=last_error)
        report.retried += 1
    backend.close()  # start the next message on a fresh connection
