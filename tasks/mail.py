"""Sending due mail from the outbox (the service clock calls it every minute; flows call
it after they write notices)."""

from __future__ import annotations

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


def deliver(mode: str = "live", limit: int | None = None) -> DeliveryReport:
    settings = get_settings()
    return deliver_due(
        runtime.engine(), runtime.definition(), smtp=smtp_config(settings), now=clock.now(), ui_url=settings.ui_url, mode=mode,
        limit=limit, max_attempts=settings.mail_max_attempts, retry_base_seconds=settings.mail_retry_base_seconds,
    )


@task(name="skicka e-post")
def deliver_due_messages(mode: str = "live") -> int:
    return deliver(mode).sent
