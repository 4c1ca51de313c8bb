"""Sending due mail from the outbox (the service clock calls it every minute; flows call
it after they write notices)."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from prefect import task

from arshjul import clock, runtime
from arshjul.settings import Settings, get_settings
from notifications.sender import DeliveryReport, SmtpConfig, deliver_due


def smtp_config(settings: Settings) -> SmtpConfig:
    """The configured relay, or the local sink of the embedded default."""
    if settings.smtp_host:
        return SmtpConfig(
            host=settings.smtp_host, port=settings.smtp_port, tls=settings.smtp_tls, ssl=settings.smtp_ssl,
            user=settings.smtp_user, password=settings.smtp_password, timeout=settings.smtp_timeout, sender=settings.mail_from,
        )
    return SmtpConfig(host="127.0.0.1", port=settings.sink_port, timeout=settings.smtp_timeout, sender=settings.mail_from)


def deliver(
    mode: str = "live", limit: int | None = None, *, workers: int = 1, partition: tuple[int, int] | None = None, now: dt.datetime | None = None
) -> DeliveryReport:
    """Send what is due at `now` (default: the clock's now). With `workers` > 1 the batch
    is shared by that many processes (each takes the messages of its own partition): for
    bulk sending on several cores."""
    now = now or clock.now()
    if workers > 1:
        return _deliver_in_processes(mode, workers, now)
    settings = get_settings()
    return deliver_due(
        runtime.engine(), runtime.definition(), smtp=smtp_config(settings), now=now, ui_url=settings.ui_url, mode=mode,
        limit=limit, max_attempts=settings.mail_max_attempts, retry_base_seconds=settings.mail_retry_base_seconds, partition=partition,
    )


def _deliver_partition(mode: str, index: int, count: int, now: dt.datetime) -> DeliveryReport:
    return deliver(mode, partition=(index, count), now=now)


def _deliver_in_processes(mode: str, workers: int, now: dt.datetime) -> DeliveryReport:
    # "spawn": a child starts clean (no inherited database connections or threads);
    # it reads the same ARSHJUL_* settings from the environment. `now` is passed on: a
    # child's clock is the real one, not a simulated clock of this process.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        reports = list(pool.map(_deliver_partition, [mode] * workers, range(workers), [workers] * workers, [now] * workers))
    total = DeliveryReport()
    for report in reports:
        total.sent += report.sent
        total.retried += report.retried
        total.dead_lettered += report.dead_lettered
        total.server_unreachable |= report.server_unreachable
        total.errors += report.errors
    return total


@task(name="skicka e-post")
def deliver_due_messages(mode: str = "live") -> int:
    return deliver(mode).sent
