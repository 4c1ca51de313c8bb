"""Telling a relay that refuses this installation's configuration apart from one that is
not there.

An unreachable relay (no connection, a timeout, a 421) is the weather: the messages wait
and the next run tries again. A relay that refuses the configuration — a login refused
(535), the sender address refused (5xx on MAIL FROM), a failed TLS handshake, STARTTLS or
AUTH not offered when configured, a 5xx greeting — will refuse it every time: sending
stops at the first such refusal, the messages wait without an attempt counted against
them, and the fault is stored (`SmtpFault`) so that automatic senders do not log in again
with the same configuration before `retry_at` (a relay locks an account after a few
failed logins). A changed configuration, `arshjul mail send` and the check at
`arshjul serve`'s start try at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import smtplib
import ssl
from typing import TYPE_CHECKING

from emails.backend.smtp import SMTPBackend
from emails.backend.smtp.client import SMTPClientWithResponse, SMTPClientWithResponse_SSL
from sqlalchemy import Engine, delete
from sqlmodel import Session, select

from arshjul.core.database import read_only
from models import swedish_faults as words
from models.tables import SmtpFault

if TYPE_CHECKING:
    from notifications.sender import SmtpConfig


class Unreachable(Exception):
    """The relay is not there now: try again later."""


class Misconfigured(Exception):
    """The relay refuses this configuration: it will refuse it again. `str()` is Swedish."""


class _OneMechanism:
    """smtplib's login tries every mechanism the relay offers (PLAIN, then LOGIN …), so
    one wrong password is two or three failed logins on the relay's count: try one."""

    _PREFERRED = ("CRAM-MD5", "PLAIN", "LOGIN")  # smtplib's own order

    def login(self, user, password, *, initial_response_ok=True):
        self.ehlo_or_helo_if_needed()  # type: ignore[attr-defined]
        features = self.esmtp_features  # type: ignore[attr-defined]
        offered = features.get("auth", "").upper().split()
        first = [mechanism for mechanism in self._PREFERRED if mechanism in offered][:1]
        if first:  # smtplib reads the offered mechanisms from here
            features["auth"] = first[0]
        return super().login(user, password, initial_response_ok=initial_response_ok)  # type: ignore[misc]


class _Client(_OneMechanism, SMTPClientWithResponse):
    pass


class _ClientSSL(_OneMechanism, SMTPClientWithResponse_SSL):
    pass


class OneLoginBackend(SMTPBackend):
    """The `emails` package's SMTP backend, logging in with one mechanism."""

    connection_cls = _Client
    connection_ssl_cls = _ClientSSL


def _reply(code: int | None, text: bytes | str | None) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(part for part in (str(code) if code else "", (text or "").strip()) if part)


def connect(backend: SMTPBackend, smtp: SmtpConfig) -> None:
    """Open (or keep) the backend's connection, logged in; raise `Misconfigured` or
    `Unreachable` instead of letting the `emails` package fold every failure into one."""
    where = words.smtp_where(smtp.host, smtp.port, smtp.user)
    try:
        backend.get_client()
    except smtplib.SMTPAuthenticationError as exc:
        raise Misconfigured(words.login_refused(where, _reply(exc.smtp_code, exc.smtp_error))) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise Misconfigured(words.starttls_missing(where)) from exc
    except ssl.SSLError as exc:
        raise Misconfigured(words.tls_failed(where, exc.reason or str(exc))) from exc
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:  # a 5xx greeting, or AUTH/STARTTLS refused for good
            reply = _reply(exc.smtp_code, exc.smtp_error)
            if exc.smtp_code in (530, 534, 535, 538):
                raise Misconfigured(words.login_refused(where, reply)) from exc
            raise Misconfigured(words.server_refuses(where, reply)) from exc
        raise Unreachable(_reply(exc.smtp_code, exc.smtp_error)) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise Unreachable(str(exc) or type(exc).__name__) from exc


def refused_for_good(smtp: SmtpConfig, command: str | None, code: int, text: bytes | str | None) -> str | None:
    """The Swedish fault when a reply during a message refuses the configuration rather
    than the message: 530 (authentication required) anywhere, a 5xx to MAIL FROM (but
    552, a message too large, is about the message)."""
    where = words.smtp_where(smtp.host, smtp.port, smtp.user)
    if code == 530:
        return words.login_refused(where, _reply(code, text))
    if command == "mail" and 500 <= code < 600 and code != 552:
        return words.sender_refused(where, smtp.sender, _reply(code, text))
    return None


def check_login(smtp: SmtpConfig) -> None:
    """Connect, log in and offer the sender address once, sending nothing (`arshjul
    serve` at start). Raises `Misconfigured` or `Unreachable`."""
    backend = smtp.backend()
    try:
        connect(backend, smtp)
        client = backend.get_client()
        code, text = client.mail(smtp.sender_address)
        if code != 250:
            fault = refused_for_good(smtp, "mail", code, text)
            if fault:
                raise Misconfigured(fault)
            raise Unreachable(_reply(code, text))
        client.rset()
    except (smtplib.SMTPException, OSError) as exc:
        raise Unreachable(str(exc) or type(exc).__name__) from exc
    finally:
        backend.close()


# -- the stored fault ---------------------------------------------------------------------


def configuration_key(smtp: SmtpConfig) -> str:
    """A digest of what the relay judges, so a changed setting is tried at once."""
    parts = (smtp.host, str(smtp.port), str(smtp.tls), str(smtp.ssl), smtp.user or "", smtp.password or "", smtp.sender)
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def standing_fault(engine: Engine, smtp: SmtpConfig | None = None) -> SmtpFault | None:
    """The stored fault of `smtp`'s configuration (of any configuration without it)."""
    with Session(read_only(engine)) as session:
        query = select(SmtpFault).order_by(SmtpFault.last_attempt_at.desc())  # type: ignore[union-attr]
        if smtp is not None:
            query = query.where(SmtpFault.configuration == configuration_key(smtp))
        return session.exec(query).first()


def record_fault(engine: Engine, smtp: SmtpConfig, message: str, *, retry_minutes: float) -> SmtpFault:
    now = dt.datetime.now(dt.UTC)  # real time: this is about the relay, not a simulated day
    key = configuration_key(smtp)
    with Session(engine) as session:
        fault = session.exec(select(SmtpFault).where(SmtpFault.configuration == key)).first()
        if fault is None:
            fault = SmtpFault(configuration=key, message=message, since=now, last_attempt_at=now, retry_at=now)
        fault.message = message[:2000]
        fault.last_attempt_at = now
        fault.retry_at = now + dt.timedelta(minutes=retry_minutes)
        session.add(fault)
        session.commit()
        session.refresh(fault)
        return fault


def clear_faults(engine: Engine) -> bool:
    """A login succeeded: forget every stored fault. True if there was one."""
    with Session(engine) as session:
        removed = session.exec(delete(SmtpFault)).rowcount  # type: ignore[call-overload]
        session.commit()
    return bool(removed)
