"""Benchmarks of the auditors' tools.

1. `arshjul audit verify` over 1,000,000 audit entries in PostgreSQL, against signed
   checkpoints (one every 100,000 entries): the hash chain, every entry against the
   checkpoints, and the append-only triggers (target < 10 s). The entries are shaped
   like the app's own (state snapshots before and after, an origin), chained and
   checkpointed by the app's own code, then loaded with COPY. Measured in process and,
   as an auditor runs it, from the shell.
2. The history report of the region's cycle (273 steps, each opened, reminded, submitted
   and decided, by the domain code on a database of its own): building it from the app's
   tables and writing it as JSON, HTML and PDF (target < 5 s).

Each measure runs three times; prints every run, the median and the range.

Run: .venv/bin/python benchmarks/bench_audit.py [--entries 1000000] [--postgres URL] [--skip-verify] [--skip-history]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import Session  # noqa: E402

from arshjul.core.audit_parallel import verify_database  # noqa: E402
from arshjul.core.checkpoints import (  # noqa: E402
    checkpoint_path,
    create_key,
    read_checkpoints,
    verifying_key,
    write_checkpoint,
)
from arshjul.core.database import make_engine, migrate, session_scope  # noqa: E402
from arshjul.core.settings import Settings  # noqa: E402
from models.audit import GENESIS_HASH, entry_hash  # noqa: E402
from models.audit_hash import canonical_json  # noqa: E402
from models.audit_integrity import trigger_problems  # noqa: E402

REGION = ROOT / "calendar" / "region-jamtland-harjedalen"
START = dt.datetime(2026, 1, 5, 7, tzinfo=dt.UTC)


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the walk's workers);
    PostgreSQL's own server processes are not in it."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def report(name: str, runs: list[float], target: str, cpu: list[float]) -> None:
    figures = ", ".join(f"{r:.2f}" for r in runs)
    print(
        f"{name}: median {statistics.median(runs):.2f} s, range {min(runs):.2f}–{max(runs):.2f} s "
        f"(runs: {figures}; target {target}); CPU median {statistics.median(cpu):.2f} s "
        f"({', '.join(f'{c:.2f}' for c in cpu)}); load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def postgres_database(admin_url: str) -> tuple[str, callable]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"arshjul_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def bench_verify(entries: int, admin_url: str) -> None:
    url, drop = postgres_database(admin_url)
    home = Path(tempfile.mkdtemp(prefix="arshjul-bench-audit-"))
    settings = Settings(home=home, database_url=url)
    engine = make_engine(url)
    try:
        migrate(engine)
        started = time.perf_counter()
        step = max(entries // 10, 1)
        create_key(settings)
        # Checkpoints as the daily sweep takes them: one after every tenth of the log.
        for filled in range(step, entries + 1, step):
            with engine.begin() as connection:
                connection.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
            fill_rows(engine, filled - step, filled)
            with engine.begin() as connection:
                connection.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER USER"))
            with Session(engine) as session:
                write_checkpoint(session=session, settings=settings, now=START, reason="bench", organisation="o")
        # A year's log is written over a year, and autovacuum has long since visited it; a log
        # loaded a moment ago would have autovacuum working beside the first walks.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE) audit_entry"))
        print(
            f"{entries:,} entries chained, loaded, checkpointed and vacuumed in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        runs, cpu = [], []
        for _ in range(3):
            began, spent = time.perf_counter(), cpu_seconds()
            checkpoints, problems = read_checkpoints(checkpoint_path(settings), verifying_key(settings))
            with Session(engine) as session:
                result = verify_database(session=session, checkpoints=checkpoints)
                triggers = trigger_problems(session=session)
            runs.append(time.perf_counter() - began)
            cpu.append(cpu_seconds() - spent)
            assert result.intact and not problems and not triggers and result.checked == entries, result.problems[:3]
        report(f"audit verify, {entries:,} entries, {len(checkpoints)} checkpoints, PostgreSQL", runs, "< 10 s", cpu)
        # As an auditor runs it: a new process, so Python's start and every import count too.
        command = [str(Path(sys.executable).with_name("arshjul")), "audit", "verify"]
        environment = dict(os.environ, ARSHJUL_HOME=str(home), ARSHJUL_DATABASE_URL=url)
        runs, cpu = [], []
        for _ in range(3):
            began, spent = time.perf_counter(), cpu_seconds()
            done = subprocess.run(command, capture_output=True, text=True, env=environment)
            runs.append(time.perf_counter() - began)
            cpu.append(cpu_seconds() - spent)
            assert done.returncode == 0 and f"intakt: {entries} poster" in done.stdout, done.stdout + done.stderr
        report("audit verify from the shell", runs, "< 10 s", cpu)
    finally:
        engine.dispose()
        drop()


_chain_state = {"prev": GENESIS_HASH}


def fill_rows(engine, first: int, last: int) -> None:
    columns = (
        "id, at, actor, actor_role, source, action, cycle_id, instance_id, before, after, comment, flow_run_id, "
        "origin, prev_hash, hash"
    )
    prev = _chain_state["prev"]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY audit_entry ({columns}) FROM STDIN") as copy:
            for number in range(first + 1, last + 1):
                entry = app_like_entry(number)
                entry.hash = entry_hash(entry, prev)
                copy.write_row(
                    (
                        entry.id, entry.at, entry.actor, entry.actor_role, entry.source, entry.action, entry.cycle_id,
                        entry.instance_id, canonical_json(entry.before), canonical_json(entry.after), entry.comment,
                        entry.flow_run_id, canonical_json(entry.origin), prev, entry.hash,
                    )
                )  # fmt: skip
                prev = entry.hash
        cursor.execute("SELECT setval(pg_get_serial_sequence('audit_entry', 'id'), %s)", (last,))
        cursor.execute("ANALYZE audit_entry")
        raw.commit()
    finally:
        raw.close()
    _chain_state["prev"] = prev


def app_like_entry(number: int) -> SimpleNamespace:
    state = ("open", "submitted", "approved")[number % 3]
    return SimpleNamespace(
        id=number,
        at=START + dt.timedelta(seconds=number * 20),
        actor=f"person.{number % 500}",
        actor_role="ägare" if state == "submitted" else "beslutsfattare",
        source=("länk", "ui", "cli", "sweep")[number % 4],
        action=f"step.{state}",
        cycle_id=1,
        instance_id=number % 5000 + 1,
        before={
            "state": "open",
            "due": "2027-03-15",
            "submitted_by": None,
            "decided_by_person": None,
            "diarienummer": None,
            "document_reference": None,
            "state_version": 1,
        },  # fmt: skip
        after={
            "state": state,
            "due": "2027-03-15",
            "submitted_by": f"person.{number % 500}",
            "decided_by_person": None,
            "diarienummer": f"RS/{number % 900}/2027",
            "document_reference": None,
            "state_version": 2,
        },  # fmt: skip
        comment="Klar för beslut" if number % 5 == 0 else None,
        flow_run_id=str(uuid.UUID(int=number)),
        origin={"via": "länk", "token": f"t{number}", "client": "198.51.100.7"},
    )


def play_region_year(home: Path) -> None:
    """The region's cycle 2027 played by the domain code (no Prefect): every step opened
    on its day, the daily sweep's reminders and escalations, owners submitting (a fifth
    of them late) and deciders deciding a working day later."""
    import random

    from sqlmodel import select

    from arshjul.core import clock, runtime
    from arshjul.core.clock import SimulatedClock
    from arshjul.core.settings import get_settings
    from flows.daily_sweep import sweep
    from models.cycles import store_cycle
    from models.people import load_directory
    from models.states import Action, step_is_done
    from models.steps import StepActionError, open_step
    from models.tables import StepInstance, StepState
    from models.validation import load_definition
    from tasks.steps import apply_action

    os.environ.update(ARSHJUL_HOME=str(home), ARSHJUL_ORG=str(REGION))
    os.environ.pop("ARSHJUL_DATABASE_URL", None)
    get_settings.cache_clear()
    definition = load_definition(REGION)
    calendar = definition.organisation.calendar
    engine = runtime.engine()
    migrate(engine)
    simulated = SimulatedClock(START)
    clock.use(simulated)
    with session_scope(engine) as session:
        store_cycle(definition, 2027, session=session, now=START)
    rng = random.Random(1)
    with Session(engine) as session:
        steps = session.exec(select(StepInstance)).all()
        directory = load_directory(session=session, organisation=definition.organisation.info.key)
    late = {s.id: rng.random() < 0.2 for s in steps}
    first, last = min(s.opens for s in steps), max(s.due for s in steps)
    day = first
    while day <= calendar.add_working_days(last, 15):
        if calendar.is_working_day(day):
            simulated._now = calendar.at_start_of_day(day).in_timezone("UTC")
            with Session(engine) as session:
                steps = session.exec(select(StepInstance).order_by(StepInstance.due)).all()
                ctx = runtime.step_context(session=session)
            for step in steps:
                if StepState(step.state) is StepState.planned and step.opens <= day:
                    with session_scope(engine) as session:
                        open_step(step.id, session=session, ctx=ctx, now=clock.now())
            sweep(day)
            simulated._now = simulated._now + dt.timedelta(hours=2)
            for step in steps:
                state = StepState(step.state)
                try:
                    if state in (StepState.open, StepState.returned):
                        due = calendar.add_working_days(step.due, 3) if late[step.id] else step.due
                        if day >= due:
                            who = directory[directory.acting_for(step.owner, day)].email
                            apply_action(step.id, Action.submit, actor_email=who, comment="", diarienummer=None,
                                         source="cli")  # fmt: skip
                    elif state is StepState.submitted and not step_is_done(step):
                        who = directory[directory.acting_for(step.decider, day)].email
                        number = f"RS/{step.id}/2027" if step.decided_by_kind == "body" else None
                        apply_action(step.id, Action.approve, actor_email=who, comment="", diarienummer=number,
                                     source="cli")  # fmt: skip
                except StepActionError:
                    pass  # a dependency is not done yet: tomorrow
        day += dt.timedelta(days=1)


def bench_history(home: Path | None) -> None:

    from typer.testing import CliRunner

    from arshjul.core.settings import get_settings

    if home is None:
        home = Path(tempfile.mkdtemp(prefix="arshjul-bench-history-"))
        started = time.perf_counter()
        play_region_year(home)
        print(f"the region's year played by the domain code in {time.perf_counter() - started:.0f} s", flush=True)
        print(f"(its home, to measure again without playing it: --history-home {home})", flush=True)
    else:
        os.environ.update(ARSHJUL_HOME=str(home), ARSHJUL_ORG=str(REGION))
        os.environ.pop("ARSHJUL_DATABASE_URL", None)
        get_settings.cache_clear()
    from arshjul.cli import app

    runner = CliRunner()
    for output_format in ("json", "html", "pdf"):
        runs, cpu = [], []
        for _ in range(3):
            began, spent = time.perf_counter(), cpu_seconds()
            result = runner.invoke(app, ["audit", "history", "2027", "--format", output_format, "-o",
                                         str(home / f"historik.{output_format}")])  # fmt: skip
            runs.append(time.perf_counter() - began)
            cpu.append(cpu_seconds() - spent)
            assert result.exit_code == 0, result.output
        report(f"history report of the region, {output_format}", runs, "< 5 s", cpu)
    print(result.stdout.strip(), flush=True)
    # As an auditor runs it: a new process, so Python's start and every import count too.
    command = [str(Path(sys.executable).with_name("arshjul")), "audit", "history", "2027", "--format", "pdf",
               "-o", str(home / "historik-skal.pdf")]  # fmt: skip
    runs, cpu = [], []
    for _ in range(3):
        began, spent = time.perf_counter(), cpu_seconds()
        subprocess.run(command, check=True, capture_output=True, env=os.environ.copy())
        runs.append(time.perf_counter() - began)
        cpu.append(cpu_seconds() - spent)
    report("history report of the region, pdf, from the shell", runs, "< 5 s", cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-verify", action="store_true")
    parser.add_argument("--skip-history", action="store_true")
    parser.add_argument("--history-home", type=Path, help="A home where the region's year was played already.")
    args = parser.parse_args()
    if not args.skip_history:
        bench_history(args.history_home)
    if not args.skip_verify:
        bench_verify(args.entries, args.postgres)


if __name__ == "__main__":
    main()
