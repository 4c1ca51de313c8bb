"""Benchmark: step runs against bare Prefect flow runs, and the full simulation.

In one run, against one fresh Prefect server (SQLite, as the embedded default):
1. N bare flow runs (a flow that does nothing) created from a deployment and executed
   in-process by the same executor the simulation uses (a pool of 4 threads);
2. N step runs of the region's cycle 2027 (steps without dependencies), executed the same way: each
   opens its step (state, audit entry, outbox notice) and suspends with the Resume form;
3. the same N step runs resumed with a submission and executed again.
It prints runs per second for each and the ratio bare/step (target ≤ 1.5), then, unless
--skip-simulation, the wall time of `arshjul simulate 2027` for the region (target < 10 min).

Run: .venv/bin/python benchmarks/bench_step_runs.py [--runs 100] [--skip-simulation]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"

from support import free_port  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--skip-simulation", action="store_true")
    parser.add_argument("--workers", type=int, default=4, help="threads executing runs in-process")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        from arshjul.service import PrefectServer

        server = PrefectServer(home / "prefect", port=free_port()).start()
        os.environ["PREFECT_API_URL"] = server.api_url
        os.environ["PREFECT_HOME"] = str(home / "prefect")
        try:
            figures = measure(home, args.runs, args.workers)
        finally:
            server.stop()
    bare, opened, submitted = figures
    print(f"bare flow runs:                   {bare:6.2f} runs/s")
    print(
        f"step runs, opening (open+suspend): {opened:6.2f} runs/s   ratio bare/step {bare / opened:4.2f} (target ≤ 1.5)"
    )
    print(f"step runs, submission (resume):   {submitted:6.2f} runs/s   ratio bare/step {bare / submitted:4.2f}")

    if not args.skip_simulation:
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, ARSHJUL_HOME=tmp, ARSHJUL_SINK_PORT=str(free_port()))
            for key in ("PREFECT_API_URL", "PREFECT_HOME", "ARSHJUL_ORG", "ARSHJUL_DATABASE_URL"):
                env.pop(key, None)
            started = time.perf_counter()
            result = subprocess.run(
                [str(ROOT / ".venv" / "bin" / "arshjul"), "simulate", "2027", "--json"],
                env=env,
                capture_output=True,
                text=True,
            )
            seconds = time.perf_counter() - started
            if result.returncode != 0:
                raise SystemExit(f"simulation failed:\n{result.stderr[-3000:]}")
            summary = json.loads(result.stdout)
        print(
            f"full simulation of the region's cycle 2027: {seconds:6.1f} s wall (target < 600 s), "
            "including the Prefect server's start"
        )
        print("  " + ", ".join(f"{key} {value}" for key, value in summary.items()))


def measure(home: Path, count: int, workers: int) -> tuple[float, float, float]:
    from prefect import flow
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.in_process import execute_step_run, thread_client
    from flows.prefect_internals import without_suspension_observer

    global bare_flow

    @flow(name="bench-bare", persist_result=True)
    def bare_flow(n: int) -> None:
        return None

    def timed(run_ids: list[str], work) -> float:
        started = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(work, run_ids))
        return len(run_ids) / (time.perf_counter() - started)

    def execute_bare(run_id: str) -> None:
        from flows.prefect_internals import run_flow

        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            run = thread_client().read_flow_run(run_id)
            run_flow(bare_flow, flow_run=run, parameters=run.parameters, return_type="state")

    def execute_step(run_id: str) -> None:
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            execute_step_run(run_id)

    with without_suspension_observer():
        return _measure_runs(home, count, workers, timed, execute_bare, execute_step)


def _measure_runs(
    home: Path, count: int, workers: int, timed, execute_bare, execute_step
) -> tuple[float, float, float]:
    from prefect import get_client

    from flows.start_cycle import start_cycle
    from tests.prefect_support import app_environment, form

    bare_deployment = bare_flow.to_deployment(name="bench").apply()
    with get_client(sync_client=True) as client:
        bare_runs = [
            str(client.create_flow_run_from_deployment(bare_deployment, parameters={"n": i}).id) for i in range(count)
        ]
    bare_rate = timed(bare_runs, execute_bare)

    from sqlmodel import Session, select

    from arshjul.core import runtime
    from arshjul.core.settings import DEFAULT_ORGANISATION
    from flows.run_step import run_step
    from models.people import load_directory
    from models.tables import StepDependency, StepInstance

    run_step.to_deployment(name="arshjul").apply()
    with app_environment(home / "app", DEFAULT_ORGANISATION):
        start_cycle(2027)
        with Session(runtime.engine()) as session:
            blocked = set(session.exec(select(StepDependency.instance_id)).all())
            rows = [
                row for row in session.exec(select(StepInstance).order_by(StepInstance.opens)) if row.id not in blocked
            ][:count]
            directory = load_directory(session=session, organisation=runtime.definition().organisation.info.key)
        step_ids = [row.flow_run_id for row in rows]
        opening_rate = timed(step_ids, execute_step)
        with get_client(sync_client=True) as client:
            for row in rows:
                client.resume_flow_run(row.flow_run_id, run_input=form("lämna in", directory[row.owner].email))
        submission_rate = timed(step_ids, execute_step)
    return bare_rate, opening_rate, submission_rate


if __name__ == "__main__":
    main()
