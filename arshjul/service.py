"""`arshjul serve`: the embedded default in one process tree.

- a Prefect server on 127.0.0.1:4200 with its SQLite database under ./var/prefect
  (unless PREFECT_API_URL points at another server: production);
- the app's migrations;
- a Runner that serves the deployments (step runs, daily sweep, follow-up, simulate);
- the service clock: APScheduler with its job store in the app database, which starts
  the daily sweep at 07:00 on working days and sends due mail every minute; jobs
  coalesce, so a restart neither loses nor repeats a timer;
- a local SMTP sink writing every message to ./var/mail/ (unless SMTP is configured);
- the web app for people (`arshjul web`) on its own port.

The embedded Prefect server and UI sit behind Prefect's own basic auth (a generated
"user:password" under ./var unless ARSHJUL_PREFECT_AUTH_STRING is set; switched off with
ARSHJUL_PREFECT_AUTH=false): the server gets PREFECT_SERVER_API_AUTH_STRING, every client
of this application PREFECT_API_AUTH_STRING.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from arshjul.core.settings import Settings

log = logging.getLogger(__name__)

EMBEDDED_API_URL = "http://127.0.0.1:4200/api"


# What the embedded Prefect server keeps (an operator's own values win). Pinned rather
# than left to Prefect's defaults, so an upgrade cannot shorten them unnoticed. Nothing
# the auditors need lives only in Prefect: the history comes from the app's tables.
PREFECT_RETENTION = {
    # Events feed automations and the UI's event feed for a week, as Prefect's default;
    # on SQLite the events table is the one that grows.
    "PREFECT_SERVER_EVENTS_RETENTION_PERIOD": "P7D",
    # Only events are vacuumed, never flow runs: a cycle's step runs are the regionstab's
    # view of it for two and a half years (plan year 2027 runs from 2026 into 2028), and
    # Prefect's flow-run vacuum would delete finished runs 90 days after they ended.
    "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "events",
}


def configure_prefect_environment(settings: Settings) -> bool:
    """Point Prefect at the embedded server and home unless the environment says otherwise,
    with the embedded server's sign-in for every client. Must run before Prefect is
    imported. Returns True if the embedded server is meant."""
    from arshjul.core.credentials import prefect_auth_string

    embedded = not os.environ.get("PREFECT_API_URL")
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home.resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    # Served runs (and the workers started from this environment) send a heartbeat a
    # minute; Prefect's zombie detection marks a run whose heartbeats stop Crashed.
    os.environ.setdefault("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "60")
    if embedded:
        os.environ["PREFECT_API_URL"] = EMBEDDED_API_URL
        auth = prefect_auth_string(settings, create=False)
        if auth:
            os.environ.setdefault("PREFECT_API_AUTH_STRING", auth)
    return embedded


def api_healthy(api_url: str, timeout: float = 2.0) -> bool:
    # /health answers without the sign-in (Prefect lets probes through).
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def drain_prefect_workers() -> None:
    """Send the logs and events this process still has queued before a server stops;
    otherwise they wait for a server that is gone ("Error logging to API")."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        try:
            worker.drain_all(timeout=10)
        except RuntimeError:
            pass  # the worker never started


class PrefectServer:
    """`prefect server start` as a child process with its own PREFECT_HOME."""

    def __init__(self, home: Path, port: int = 4200, database_url: str | None = None, auth_string: str | None = None):
        self.home = home
        self.port = port
        self.database_url = database_url
        self.auth_string = auth_string  # "user:password" of Prefect's basic auth, or None
        self.process: subprocess.Popen | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self, timeout: float = 90) -> PrefectServer:
        self.home.mkdir(parents=True, exist_ok=True)
        env = dict(
            os.environ,
            PREFECT_HOME=str(self.home.resolve()),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            # The UI asks the server where its API is; without these it says port 4200.
            PREFECT_SERVER_API_PORT=str(self.port),
            PREFECT_UI_API_URL=self.api_url,
            # On SQLite the late-runs service fights bulk run creation for the database
            # lock and stalls requests; a served run starts at its scheduled time anyway,
            # and a slipped deadline is ours to show, not Prefect's.
            PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED="false",
        )
        env |= {name: os.environ.get(name, value) for name, value in PREFECT_RETENTION.items()}
        env.pop("PREFECT_API_URL", None)  # the server must not try to reach itself as a client
        env.pop("PREFECT_SERVER_API_AUTH_STRING", None)
        if self.auth_string:
            env["PREFECT_SERVER_API_AUTH_STRING"] = self.auth_string
        if self.database_url:
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = self.database_url
        log_file = (self.home / "server.log").open("ab")
        # `prefect server start`, with SQLite transactions that take the write lock at
        # once (flows/prefect_internals.py explains why the embedded server needs them).
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flows.prefect_internals", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=str(Path(__file__).resolve().parents[1]),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Prefect-servern avslutades direkt; se {self.home / 'server.log'}")
            if api_healthy(self.api_url):
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"Prefect-servern svarade inte inom {timeout:.0f} s; se {self.home / 'server.log'}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            drain_prefect_workers()
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


# -- the service clock ------------------------------------------------------------------


def trigger_daily_sweep() -> None:
    """APScheduler job: start today's sweep run, once, on a working day."""
    from prefect.deployments import run_deployment

    from arshjul.core import clock, runtime
    from flows.daily_sweep import FLOW_NAME

    calendar = runtime.definition().organisation.calendar
    today = calendar.local_date(clock.now())
    if not calendar.is_working_day(today):
        log.info("%s är ingen arbetsdag (%s): ingen daglig kontroll", today, calendar.non_working_reason(today))
        return
    run_deployment(
        f"{FLOW_NAME}/arshjul",
        parameters={"day": today.isoformat()},
        timeout=0,
        idempotency_key=f"daglig-kontroll-{today.isoformat()}",
        flow_run_name=f"Daglig kontroll {today.isoformat()}",
    )


def deliver_mail() -> None:
    """APScheduler job: send what is due in the outbox.

    Sending runs here, not as a flow run a minute (1,440 runs a day). When the relay has
    just refused the configuration (or a refusal is over), the mail flow runs once, so
    the regionstab sees a Failed run with the Swedish message (or a Completed one) and
    the artifact of failed mail. That run logs in no more: the fault is stored."""
    from models.tables import Mode
    from tasks.mail import deliver

    report = deliver(Mode.live)
    if (report.configuration_error and not report.fault_held) or report.fault_cleared:
        report_mail_flow_once_served()


def report_mail_flow() -> None:
    """Start a run of the mail flow (served by this process's runner) and return."""
    from prefect.deployments import run_deployment

    from flows.send_mail import FLOW_NAME

    run_deployment(f"{FLOW_NAME}/arshjul", timeout=0, flow_run_name="Utskick: e-postserverns svar")


def report_mail_flow_once_served(timeout: float = 180.0) -> threading.Thread:
    """`report_mail_flow` as soon as the runner has created its deployments (at start)."""

    def start() -> None:
        from prefect.exceptions import ObjectNotFound

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                report_mail_flow()
                return
            except ObjectNotFound:
                time.sleep(2)  # the runner has not registered the deployment yet
        log.error("utskicksflödet kunde inte startas: deploymenten finns inte")

    thread = threading.Thread(target=start, name="arshjul-epostfel", daemon=True)
    thread.start()
    return thread


def check_mail_login(settings: Settings) -> str | None:
    """At start: log in to the configured relay once. A refused configuration is stored
    (senders hold) and returned in Swedish; an unreachable relay only warned about."""
    from arshjul.core.database import get_engine
    from notifications.smtp_faults import Misconfigured, Unreachable, check_login, clear_faults, record_fault
    from tasks.mail import smtp_config

    smtp = smtp_config(settings)
    try:
        check_login(smtp)
    except Misconfigured as exc:
        record_fault(get_engine(), smtp, str(exc), retry_minutes=settings.mail_fault_retry_minutes)
        return str(exc)
    except Unreachable as exc:
        log.warning("SMTP-servern %s:%s svarar inte vid start (%s); meddelandena väntar", smtp.host, smtp.port, exc)
        return None
    clear_faults(get_engine())
    return None


def start_service_clock(engine, timezone: str):
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=timezone,
    )
    scheduler.start(paused=True)
    jobs = {
        "daglig-kontroll": dict(
            func="arshjul.service:trigger_daily_sweep",
            trigger=CronTrigger(day_of_week="mon-fri", hour=7, minute=0, timezone=timezone),
            misfire_grace_time=8 * 3600,
        ),
        "utskick": dict(
            func="arshjul.service:deliver_mail",
            trigger=IntervalTrigger(seconds=60, timezone=timezone),
            misfire_grace_time=60,
        ),
    }
    for job_id, spec in jobs.items():
        # Keep a stored job as it is: replacing it would recompute its next run and
        # lose a timer that fell due while the service was down.
        if scheduler.get_job(job_id) is None:
            scheduler.add_job(id=job_id, name=job_id, **spec)
    scheduler.resume()
    return scheduler


def served_deployments():
    from prefect.events import DeploymentEventTrigger

    from flows.daily_sweep import daily_sweep
    from flows.follow_up import follow_up
    from flows.reconcile_runs import CRASHED_STEP_RUN, reconcile_runs
    from flows.run_step import run_step
    from flows.send_mail import send_mail
    from flows.simulate_year import simulate_year

    return [
        run_step.to_deployment(name="arshjul", description="Ett steg i årshjulet: öppnas, lämnas in och beslutas."),
        daily_sweep.to_deployment(
            name="arshjul", description="Daglig kontroll 07:00 arbetsdagar (startas av tjänstens klocka)."
        ),
        reconcile_runs.to_deployment(
            name="arshjul",
            description="Avstämning: varje stegkörning mot sitt steg; kraschade körningar startas om.",
            interval=600,
            triggers=[DeploymentEventTrigger(**CRASHED_STEP_RUN)],
        ),
        follow_up.to_deployment(name="arshjul", description="Uppföljning av en cykel: vad levererades, vad blev sent."),
        simulate_year.to_deployment(name="arshjul", description="Spela upp en hel cykel på en simulerad klocka."),
        send_mail.to_deployment(
            name="arshjul",
            description="Utskick; körs här när e-postservern nekar eller släpper (klockan skickar varje minut).",
        ),
    ]
