"""Sending due mail from the outbox with this installation's settings: the configured
relay (or the local sink of the embedded default) and, for bulk sending, several sender
processes. The service clock calls `deliver` every minute, flows after they write
notices, `arshjul mail send` by hand.

Plain functions, no Prefect task: a sender process started for `--workers` imports
this module, and starts sending about a second sooner for not loading Prefect too."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from arshjul.core import clock, runtime
from arshjul.core.links import LinkMaker
from arshjul.core.settings import Settings, get_settings
from models.tables import Mode
from notifications.outbox import release_all
from notifications.sender import DeliveryReport, SmtpConfig, deliver_due


def smtp_config(settings: Settings) -> SmtpConfig:
    """The configured relay, or the local sink of the embedded default."""
    if settings.smtp_host:
        return SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            tls=settings.smtp_tls,
            ssl=settings.smtp_ssl,
            user=settings.smtp_user,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout,
            sender=settings.mail_from,
        )
    return SmtpConfig(
        host="127.0.0.1", port=settings.sink_port, timeout=settings.smtp_timeout, sender=settings.mail_from
    )


def deliver(
    mode: Mode = Mode.live,
    limit: int | None = None,
    *,
    workers: int = 1,
    now: dt.datetime | None = None,
    retry_refused_now: bool = False,
) -> DeliveryReport:
    """Send what is due at `now` (default: the clock's now). With `workers` > 1 the batch
    is shared by that many senders, this process and `workers - 1` more, each claiming
    pages of it in turn: for bulk sending on several cores (`limit` is for one sender).
    `retry_refused_now`: log in even if the relay refused this configuration recently
    (a person asking, not a timer)."""
    now = now or clock.now()
    if workers > 1:
        return _deliver_in_processes(mode, workers, now, retry_refused_now)
    settings = get_settings()
    return deliver_due(
        runtime.engine(),
        runtime.definition(),
        smtp=smtp_config(settings),
        now=now,
        ui_url=settings.ui_url,
        mode=mode,
        limit=limit,
        max_attempts=settings.mail_max_attempts,
        retry_base_seconds=settings.mail_retry_base_seconds,
        claim_seconds=settings.mail_claim_seconds,
        connections=settings.mail_connections,
        links=LinkMaker.from_settings(settings),
        fault_retry_minutes=settings.mail_fault_retry_minutes,
        retry_refused_now=retry_refused_now,
    )


def release_orphaned_claims(mode: Mode) -> int:
    """Give back the claims a killed sender left on the mode's messages (held until they
    lapse, ARSHJUL_MAIL_CLAIM_SECONDS of real time, they would not be sent before). Only
    for the mode's sole sender at its start: `arshjul simulate` (the live service never
    sends a simulation's mail)."""
    with runtime.engine().connect() as connection:
        return release_all(connection, mode=mode)


def _deliver_in_child(mode: Mode, now: dt.datetime) -> DeliveryReport:
    return deliver(mode, now=now)


def _deliver_in_processes(mode: Mode, workers: int, now: dt.datetime, retry_refused_now: bool) -> DeliveryReport:
    # This process is one of the senders: it starts at once, while the others are still
    # starting. "spawn": a child starts clean (no inherited database connections or
    # threads); it reads the same ARSHJUL_* settings from the environment. `now` is
    # passed on: a child's clock is the real one, not a simulated clock of this process.
    # One login before the others start: a refused one is stored and stops them all.
    first = deliver(mode, limit=1, now=now, retry_refused_now=retry_refused_now)
    if first.configuration_error or first.server_unreachable:
        return first
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers - 1, mp_context=context) as pool:
        others = [pool.submit(_deliver_in_child, mode, now) for _ in range(workers - 1)]
        reports = [first, deliver(mode, now=now)] + [other.result() for other in others]
    return DeliveryReport.combined(reports)
