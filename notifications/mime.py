"""The MIME message of an outbox row: the rendered text and HTML, with the step's deadline
as a `deadline.ics` attachment, written with the `emails` package.

The bytes of a message depend only on the row, the step and the moment: the Message-ID
and the MIME boundaries derive from the outbox key, so a message sent again is the same
message. The header short cuts below write what the standard library writes, or what a
mail program reads the same, with less work per message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace
from email import base64mime
from email.charset import BASE64, RFC2047_CHROME_LEN, Charset
from email.encoders import encode_base64
from email.header import Header
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32
from email.utils import format_datetime, formataddr

import emails
from emails.utils import SafeMIMEMultipart

from arshjul.views.ics import build_calendar, deadline_for
from models import notices as n
from models.organisation import Organisation
from models.tables import OutboxMessage, StepInstance
from notifications.rendering import RenderedMessage


class _Utf8Base64Words(Charset):
    """utf-8 whose header words are always base64 (see `_QuickHeaders`), split into
    lines exactly as the standard library's `Charset.header_encode_lines` splits them.
    That one joins and encodes the whole line again for every character it adds, to
    measure it; base64's length follows from the byte count, so here each character's
    bytes are counted once."""

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
      header changes nothing;
    - a header with other characters (a Swedish subject) is encoded as RFC 2047
      base64 words (`UTF8_BASE64`). compat32 lets the utf-8 charset pick the shorter
      of base64 and quoted-printable, and to split the words it measures the
      quoted-printable length again for every character added, byte by byte. Mail
      programs decode both alike."""

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
    """A text body part with the same bytes as `emails` writes (utf-8, base64), made
    directly: `MIMEText`'s charset handling sets and re-parses the Content-Type header
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
            date = date.replace(tzinfo=dt.UTC)
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


def outbox_mail(
    rendered: RenderedMessage,
    row: OutboxMessage,
    step: StepInstance | None,
    *,
    sender: str,
    recipient_name: str,
    step_url: str | None,
    organisation: Organisation,
    now: dt.datetime,
) -> OutboxMail:
    """The mail of an outbox row, with the step's deadline attached when it is about one."""
    message = OutboxMail(
        key=row.key,
        message_id=row.message_id,
        date=now,
        subject=rendered.subject,
        mail_from=sender,
        mail_to=(recipient_name, row.recipient),
        text=rendered.text,
        html=rendered.html,
        headers={"Auto-Submitted": "auto-generated", "X-Arshjul-Key": row.key},
    )
    if step is not None:
        # A cancelled step, or one handed to someone else, leaves the recipient's calendar.
        cancelling = row.kind in (n.CANCELLED, n.HANDED_OVER)
        method = "CANCEL" if cancelling else "PUBLISH"
        message.attach(
            data=_deadline_ics(step, step_url, organisation, now, cancelled=cancelling),
            filename="deadline.ics",
            content_disposition="attachment",
            mime_type=f"text/calendar; method={method}; charset=utf-8",
        )
    return message


def _deadline_ics(
    step: StepInstance, step_url: str | None, organisation: Organisation, now: dt.datetime, *, cancelled: bool = False
) -> bytes:
    """A calendar of the one deadline, described briefly: the mail itself says the rest."""
    description = [f"{step.name} · {step.unit_name}", f"Deadline {step.due.isoformat()}"]
    if step_url:
        description.append(step_url)
    deadline = deadline_for(
        uid=step.uid,
        name=step.name,
        unit_name=step.unit_name,
        due=step.due,
        description="\n".join(description),
        reminders=(dt.date.fromisoformat(day) for day in step.reminders),
        url=step_url,
        sequence=step.sequence,
    )
    if cancelled:
        deadline = replace(deadline, cancelled=True, reminders=())
    info = organisation.info
    return build_calendar(
        [deadline],
        method="CANCEL" if cancelled else "PUBLISH",
        name=f"Årshjul – {info.name}",
        timezone=info.timezone,
        dtstamp=now,
        reminder_time=info.workday_start,
        with_vtimezone=False,
    )
