"""Send what is due in the outbox. In production a deployment runs it every minute; the
embedded `arshjul serve` calls the same function from its service clock."""

from __future__ import annotations

from prefect import flow, get_run_logger

from models.tables import Mode
from tasks.mail import deliver


@flow(name="arshjul-utskick")
def send_mail() -> dict:
    """Send due mail; messages that cannot be sent now wait, and are retried."""
    logger = get_run_logger()
    report = deliver(Mode.live)
    if report.server_unreachable:
        logger.warning("SMTP-servern svarar inte: %s. Meddelandena väntar.", "; ".join(report.errors))
    logger.info(
        "Skickade %s meddelanden; %s försöks igen senare; %s misslyckades.",
        report.sent,
        report.retried,
        report.dead_lettered,
    )
    return {
        "sent": report.sent,
        "retried": report.retried,
        "dead_lettered": report.dead_lettered,
        "server_unreachable": report.server_unreachable,
    }
