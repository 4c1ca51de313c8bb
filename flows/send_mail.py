"""Send what is due in the outbox. In production a deployment runs it every minute; the
embedded `arshjul serve` calls the same function from its service clock."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.states import Completed, Failed, State

from arshjul.views.markdown import plain_line
from models.tables import Mode
from tasks.artifacts import publish_failed_mail
from tasks.mail import deliver

FLOW_NAME = "arshjul-utskick"


@flow(name=FLOW_NAME)
def send_mail() -> State:
    """Send due mail; messages that cannot be sent now wait, and are retried. When the
    relay refuses the configuration (a login, the sender address, TLS) the run ends
    Failed with that in Swedish, and the artifact of failed mail says it."""
    logger = get_run_logger()
    report = deliver(Mode.live)
    if report.configuration_error or report.fault_cleared:
        publish_failed_mail()
    if report.configuration_error:
        logger.error("%s", report.configuration_error)
        return Failed(message=plain_line(report.configuration_error, 2000), data=_summary(report))
    if report.server_unreachable:
        logger.warning("SMTP-servern svarar inte: %s. Meddelandena väntar.", "; ".join(report.errors))
    logger.info(
        "Skickade %s meddelanden; %s försöks igen senare; %s misslyckades.",
        report.sent,
        report.retried,
        report.dead_lettered,
    )
    return Completed(data=_summary(report))


def _summary(report) -> dict:
    return {
        "sent": report.sent,
        "retried": report.retried,
        "dead_lettered": report.dead_lettered,
        "server_unreachable": report.server_unreachable,
        "configuration_error": report.configuration_error,
    }
