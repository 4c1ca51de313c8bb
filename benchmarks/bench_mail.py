"""Benchmarks of the mail path.

1. 10,000 due reminders rendered and delivered through the outbox to the local sink
   (aiosmtpd on 127.0.0.1, writing .eml files), against raw `smtplib` sending the same
   pre-rendered messages over one connection to the same sink, in the same run (before
   and after the outbox's runs; the ratio is to the mean of the two). All of them go
   out three times, due again each time: through one sender over one connection,
   through one process with two connections (`arshjul mail send`), and through N
   processes (`arshjul mail send --workers N`). Prints messages per second for each
   and the ratio to raw `smtplib` (target ≥ 0.5).
2. The daily sweep's selection of due work over 1,000,000 step instances in
   PostgreSQL, 1 % of them due (target < 2 s).

Run: .venv/bin/python benchmarks/bench_mail.py [--messages 10000] [--instances 1000000] [--skip-sweep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import smtplib
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sqlmodel import Session, select  # noqa: E402
from support import free_port  # noqa: E402

from arshjul.core.database import make_engine, migrate, session_scope  # noqa: E402
from models import notices as n  # noqa: E402
from models.cycles import store_cycle  # noqa: E402
from models.people import load_directory  # noqa: E402
from models.validation import load_definition  # noqa: E402
from notifications.facts import MessageBuilder  # noqa: E402
from notifications.sender import SmtpConfig, deliver_due  # noqa: E402

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # in the past: due for the real clock too
SMALL_ORG = ROOT / "tests" / "fixtures" / "small"
REGION = ROOT / "calendar" / "region-jamtland-harjedalen"


class SinkProcess:
    """The local sink in a process of its own, as `arshjul serve` runs it: in this
    process it would compete with the sender for the interpreter lock."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.process = None

    def __enter__(self) -> SinkProcess:
        code = (
            "import sys, time; from pathlib import Path; from notifications.sink import MailSink; "
            f"MailSink(Path({str(self.folder)!r}), port={self.port}).start(); "
            "print('ready', flush=True); time.sleep(3600)"
        )
        self.process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "ready"
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait()

    def messages(self) -> int:
        return len(list(self.folder.glob("*.eml")))


def bench_delivery(count: int, workers: int) -> None:
    import os

    from sqlalchemy import func, update

    from arshjul.core.database import dispose_engines
    from arshjul.core.settings import get_settings
    from models.tables import OutboxMessage, OutboxState, StepInstance
    from tasks.mail import deliver

    definition = load_definition(REGION)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        engine = make_engine(f"sqlite:///{tmp / 'app.db'}")
        migrate(engine)
        with session_scope(engine) as session:
            store_cycle(definition, 2027, session=session, now=NOW)
        with Session(engine) as session:
            steps = list(session.exec(select(StepInstance)))
            directory = load_directory(session=session, organisation=definition.organisation.info.key)
        notices = [
            n.Notice(
                # Single mails (a person's reminders would be combined into one): the
                # benchmark measures messages per second.
                kind=n.OPENED,
                stage=f"bench-{i}",
                recipient_key=steps[i % len(steps)].owner,
                send_at=NOW,
                instance_id=steps[i % len(steps)].id,
                cycle_id=steps[0].cycle_id,
                context={"working_days_left": 1 + i % 5},
            )
            for i in range(count)
        ]
        with session_scope(engine) as session:
            n.enqueue(notices, session=session, directory=directory, now=NOW, mail_domain="arshjul.bench")

        # The baseline's messages, rendered before the clock starts.
        builder = MessageBuilder(
            definition, directory, ui_url="http://127.0.0.1:4200", sender="Årshjulet <arshjul@example.se>"
        )
        with Session(engine) as session:
            ids = list(session.exec(select(OutboxMessage.id).order_by(OutboxMessage.id)))
            prerendered = [(item.row.recipient, item.message.as_bytes()) for item in builder.prepare(ids, session, NOW)]

        def send_raw(folder: Path) -> float:
            """Raw smtplib over one connection: messages per second."""
            with SinkProcess(folder) as sink:
                started = time.perf_counter()
                with smtplib.SMTP("127.0.0.1", sink.port) as connection:
                    for recipient, message in prerendered:
                        connection.sendmail("arshjul@example.se", [recipient], message)
                return count / (time.perf_counter() - started)

        raw_before = send_raw(tmp / "raw-before")

        def outbox_rate(folder: Path, send) -> float:
            """All `count` messages, due again, through the outbox to a sink of their own:
            messages per second."""
            with session_scope(engine) as session:  # due again, as `arshjul mail resend` leaves them
                session.exec(
                    update(OutboxMessage).values(
                        state=OutboxState.pending.value, attempts=0, sent_at=None, next_attempt_at=NOW
                    )
                )
            with SinkProcess(folder) as sink:
                started = time.perf_counter()
                report = send(SmtpConfig(host="127.0.0.1", port=sink.port))
                rate = report.sent / (time.perf_counter() - started)
                time.sleep(1)  # let the sink write the last files
                delivered = sink.messages()
            with Session(engine) as session:
                unsent = session.exec(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state != OutboxState.sent.value)
                ).one()
            assert report.sent == count == delivered and not unsent, (report, delivered, unsent)
            return rate

        def in_processes(smtp: SmtpConfig):
            # `arshjul mail send --workers N`: the settings come from the environment.
            os.environ.update(
                ARSHJUL_DATABASE_URL=str(engine.url),
                ARSHJUL_ORG=str(REGION),
                ARSHJUL_SMTP_HOST=smtp.host,
                ARSHJUL_SMTP_PORT=str(smtp.port),
            )
            get_settings.cache_clear()
            dispose_engines()
            return deliver("live", workers=workers)

        ui_url = "http://127.0.0.1:4200"
        single_rate = outbox_rate(
            tmp / "single", lambda smtp: deliver_due(engine, definition, smtp=smtp, now=NOW, ui_url=ui_url)
        )
        threaded_rate = outbox_rate(
            tmp / "threaded",
            lambda smtp: deliver_due(engine, definition, smtp=smtp, now=NOW, ui_url=ui_url, connections=2),
        )
        parallel_rate = outbox_rate(tmp / "parallel", in_processes)
        engine.dispose()
        # The baseline again, after: this machine's speed drifts by a fifth within minutes,
        # so the ratio is taken to the mean of a measurement on either side.
        raw_after = send_raw(tmp / "raw-after")
    raw_rate = (raw_before + raw_after) / 2
    rows = [
        (
            "raw smtplib, pre-rendered, one connection",
            raw_rate,
            f"(mean of {raw_before:.0f} before and {raw_after:.0f} after)",
        ),
        ("outbox, one sender, one connection (claim, render, .ics, send, mark)", single_rate, ""),
        ("outbox, one process, two connections (arshjul mail send)", threaded_rate, ""),
        (f"outbox, {workers} processes, two connections each (--workers {workers})", parallel_rate, "(target ≥ 0.5)"),
    ]
    for label, rate, note in rows:
        ratio = f"ratio {rate / raw_rate:.2f} " if rate is not raw_rate else ""
        print(f"{label + ':':<72} {rate:6.0f} messages/s   {ratio}{note}".rstrip())


def bench_sweep_selection(instances: int, admin_url: str) -> None:
    """1,000,000 step instances in PostgreSQL, 1 % due today; time the sweep's selection."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from models.steps import Context
    from models.sweep import candidate_steps, select_due_work

    definition = load_definition(SMALL_ORG)
    name = f"arshjul_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        migrate(engine)
        with session_scope(engine) as session:
            cycle_id = store_cycle(definition, 2027, session=session, now=NOW).cycle.id
        today = dt.date(2027, 3, 1)
        started = time.perf_counter()
        with engine.begin() as connection:
            # Bulk load with one INSERT … SELECT: 99 % done or far from a notice, 1 % due
            # today (a reminder today, the deadline today, or overdue with a ladder).
            connection.execute(
                text("""
                INSERT INTO step_instance (cycle_id, key, step, period, name, kind, process, level, unit, unit_name,
                    owner_role, owner, decided_by, decided_by_kind, decider, meeting, opens, due, nominal_due,
                    reminders, escalation, description, uid, opens_at, state, sequence, input_round, updated_at)
                SELECT :cycle, 'bench:' || g, 'bench', NULL, 'Benchmarksteg ' || g, 'report', 'uppfoljning', 'enhet',
                    'enh_a1', 'Enhet A1', 'enhetschef', 'eva.a1', NULL, NULL, NULL, NULL,
                    DATE '2027-01-04',
                    CASE WHEN g % 100 = 0 THEN DATE '2027-03-03'
                         WHEN g % 2 = 0 THEN DATE '2027-12-15' ELSE DATE '2026-06-01' END,
                    NULL,
                    CASE WHEN g % 100 = 0 THEN '["2027-03-01"]'::json ELSE '["2027-12-01"]'::json END,
                    '[]'::json, NULL, 'bench.' || g, TIMESTAMPTZ '2027-01-04 07:00+00',
                    CASE WHEN g % 100 = 0 OR g % 2 = 0 THEN 'open' ELSE 'approved' END,
                    0, 0, now()
                FROM generate_series(1, :count) AS g
            """),
                {"cycle": cycle_id, "count": instances},
            )
            connection.execute(text("ANALYZE step_instance"))
        load_seconds = time.perf_counter() - started
        with Session(engine) as session:
            context = Context(
                calendar=definition.organisation.calendar,
                directory=load_directory(session=session, organisation=definition.organisation.info.key),
            )
            started = time.perf_counter()
            candidates = candidate_steps(session=session, today=today)
            selection = select_due_work(candidates, today, context)
            select_seconds = time.perf_counter() - started
        due = sum(1 for notice in selection.notices if notice.kind == n.REMINDER)
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(f"sweep selection over {instances:,} step instances in PostgreSQL (loaded in {load_seconds:.1f} s):")
    print(
        f"  {len(candidates):,} candidates, {due:,} reminders due today, "
        f"selected in {select_seconds:.2f} s (target < 2 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--instances", type=int, default=1_000_000)
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="sender processes for the parallel figure")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    bench_delivery(args.messages, args.workers)
    if not args.skip_sweep:
        bench_sweep_selection(args.instances, args.postgres)


if __name__ == "__main__":
    main()
