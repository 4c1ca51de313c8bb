"""Benchmark: `arshjul cycle start 2027` for the generated 2,000-unit organisation
(benchmarks/bench_plan.py's generator: 4,412 step instances) against a Prefect server on
PostgreSQL, with the app database on PostgreSQL too — the production topology. Each run
gets a fresh app database (so a fresh cycle identity, and 4,412 new runs on the same
Prefect server); the figure is the whole command as a user runs it. Target: < 60 s.

Besides the wall time it prints the CPU seconds of the `arshjul` process (the client),
of the Prefect server process (with its children) and of the PostgreSQL backends serving
the Prefect database, and the load average: on a shared machine the wall time says more
about the neighbours than about the code.

Run: .venv/bin/python benchmarks/bench_cycle_start.py [--runs 3] [--units 2000] [--concurrency 0]
[--server-workers 1]. --concurrency 0 = the setting's default: one request at a time;
--server-workers N > 1 = `prefect server start --workers N` with Redis and the services in
a process of their own (benchmarks/multi_worker_server.py); --embedded = the embedded
default instead (the Prefect server and the app database on SQLite, as `arshjul serve`
runs them), to say what it manages.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_plan import generate  # noqa: E402
from benchmarks.support import children_cpu, free_port, process_cpu, tree_cpu  # noqa: E402

ADMIN_URL = os.environ.get("ARSHJUL_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def database(admin, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop(admin, url: str) -> None:
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))


def backends_cpu(admin, url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to `url`'s database."""
    with admin.connect() as connection:
        pids = connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :name"), {"name": make_url(url).database}
        ).scalars()
        seconds = {}
        for pid in pids:
            try:
                seconds[pid] = process_cpu(pid)
            except FileNotFoundError:
                continue
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=0)
    parser.add_argument("--server-workers", type=int, default=1)
    parser.add_argument("--embedded", action="store_true", help="Prefect server and app database on SQLite")
    args = parser.parse_args()
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    created: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "big-org"
        generate(folder, args.units)
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        from arshjul.service import PrefectServer

        prefect_url = None if args.embedded else database(admin, "bench_prefect")
        if prefect_url is not None:
            created.append(prefect_url)
        asyncpg = (
            make_url(prefect_url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
            if prefect_url is not None
            else None
        )
        if args.embedded:
            server = PrefectServer(Path(tmp) / "prefect", port=free_port()).start()  # SQLite under its home
            server_pids = [server.process.pid]
        elif args.server_workers > 1:
            from benchmarks.multi_worker_server import MultiWorkerPrefectServer

            server = MultiWorkerPrefectServer(Path(tmp) / "prefect", asyncpg, args.server_workers).start()
            server_pids = server.pids
        else:
            server = PrefectServer(Path(tmp) / "prefect", port=free_port(), database_url=asyncpg).start()
            server_pids = [server.process.pid]
        env = dict(
            os.environ,
            PREFECT_API_URL=server.api_url,
            PREFECT_HOME=str(Path(tmp) / "prefect-client"),
            ARSHJUL_ORG=str(folder),
            ARSHJUL_RUN_CREATION_CONCURRENCY=str(args.concurrency),
        )
        try:
            register = (
                "from flows.run_step import run_step; "
                "run_step.to_deployment(name='arshjul', description='benchmark').apply()"
            )
            subprocess.run([sys.executable, "-c", register], env=env, cwd=ROOT, check=True)
            seconds, counts, cpu = [], [], []
            for number in range(args.runs):
                home = Path(tmp) / f"app-{number}"
                if args.embedded:
                    home.mkdir()
                    app_url = f"sqlite:///{home / 'arshjul.db'}"
                else:
                    app_url = database(admin, "bench_app")
                    created.append(app_url)
                run_env = env | {"ARSHJUL_DATABASE_URL": app_url, "ARSHJUL_HOME": str(home)}
                load = os.getloadavg()[0]
                server_before, client_before = sum(map(tree_cpu, server_pids)), children_cpu()
                backends_before = backends_cpu(admin, prefect_url) if prefect_url else {}
                started = time.perf_counter()
                result = subprocess.run(
                    [str(ROOT / ".venv" / "bin" / "arshjul"), "cycle", "start", "2027"],
                    env=run_env,
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                )
                elapsed = time.perf_counter() - started
                client = children_cpu() - client_before
                server_cpu = sum(map(tree_cpu, server_pids)) - server_before
                # Backends that ended meanwhile are not counted (the server's pool keeps its own).
                backends = sum(
                    seconds - backends_before.get(pid, 0.0)
                    for pid, seconds in (backends_cpu(admin, prefect_url) if prefect_url else {}).items()
                )
                if result.returncode != 0:
                    raise SystemExit(f"cycle start failed:\n{result.stdout}\n{result.stderr}")
                engine = create_engine(app_url)
                with engine.connect() as connection:
                    runs = connection.execute(
                        text("SELECT count(*) FROM step_instance WHERE flow_run_id IS NOT NULL")
                    ).scalar_one()
                engine.dispose()
                seconds.append(elapsed)
                counts.append(runs)
                cpu.append((client, server_cpu, backends))
                print(
                    f"run {number + 1}: {elapsed:.1f} s, {runs} step runs created; CPU s: client {client:.1f}, "
                    f"Prefect server {server_cpu:.1f}, its PostgreSQL backends {backends:.1f}; "
                    f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
        finally:
            server.stop()
            for url in created:
                drop(admin, url)
            admin.dispose()
    print(f"step runs per start:  {counts[0]}")
    print(
        f"`arshjul cycle start 2027`: median {statistics.median(seconds):.1f} s "
        f"(range {min(seconds):.1f}–{max(seconds):.1f} s, {len(seconds)} runs; target < 60 s)"
    )
    for label, column in (("client", 0), ("Prefect server", 1), ("its PostgreSQL backends", 2)):
        values = [row[column] for row in cpu]
        print(f"CPU, {label}: median {statistics.median(values):.1f} s (range {min(values):.1f}–{max(values):.1f} s)")


if __name__ == "__main__":
    main()
