"""The production topology on this machine: a Prefect server on PostgreSQL, the
deployments of prefect.yaml in a process work pool with two workers, the app on
PostgreSQL. Step runs are spread over both workers; stopping one loses no step."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import SMALL_ORG, _postgres_database, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.prefect, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(command: list[str], env: dict, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


def wait_for(condition, timeout: float = 120, interval: float = 1.0, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")


@pytest.fixture
def topology(tmp_path):
    from arshjul.service import PrefectServer

    prefect_url, drop_prefect = _postgres_database()
    app_url, drop_app = _postgres_database()
    asyncpg_url = make_url(prefect_url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    server = PrefectServer(tmp_path / "prefect", port=free_port(), database_url=asyncpg_url).start()
    env = dict(
        os.environ,
        PREFECT_API_URL=server.api_url,
        PREFECT_HOME=str(tmp_path / "prefect-client"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="2",
        ARSHJUL_HOME=str(tmp_path / "app"),
        ARSHJUL_DATABASE_URL=app_url,
        ARSHJUL_ORG=str(SMALL_ORG),
        ARSHJUL_PROJECT_DIR=str(ROOT),
        ARSHJUL_SMTP_HOST="127.0.0.1",  # no mail is sent in this test; nothing may go to a sink
        ARSHJUL_SMTP_PORT=str(free_port()),
    )
    workers: dict[str, subprocess.Popen] = {}
    try:
        yield {"env": env, "server": server, "workers": workers, "app_url": app_url, "tmp": tmp_path}
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in workers.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        server.stop()
        drop_app()
        drop_prefect()


def start_worker(topology, name: str, limit: int | None = 2) -> subprocess.Popen:
    log = (topology["tmp"] / f"{name}.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "prefect"), "worker", "start", "--pool", "arshjul", "--name", name]
        + (["--limit", str(limit)] if limit else []),
        env=topology["env"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    topology["workers"][name] = process
    return process


def test_two_workers_share_the_step_runs_and_one_can_stop(topology):
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from sqlmodel import Session, select

    from arshjul.core.database import make_engine
    from arshjul.service import drain_prefect_workers
    from models.tables import StepInstance, StepState

    env = topology["env"]
    run([str(BIN / "prefect"), "work-pool", "create", "arshjul", "--type", "process"], env)
    run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"], env)
    start_worker(topology, "worker-a")
    start_worker(topology, "worker-b")
    started = run([str(BIN / "arshjul"), "cycle", "start", "2027"], env)
    assert "15 nya steg" in started.stdout and "15 nya körningar" in started.stdout

    engine = make_engine(topology["app_url"])

    def steps():
        with Session(engine) as session:
            return {s.key: s for s in session.exec(select(StepInstance))}

    # Every step whose opening time has passed (real clock) gets opened by some worker.
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    due = [s for s in steps().values() if s.opens_at <= now]
    assert len(due) >= 4
    wait_for(
        lambda: all(steps()[s.key].state != StepState.planned for s in due),
        message="the due steps to open",
        timeout=180,
    )

    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}):

        def labels(flow_run_id):
            with get_client(sync_client=True) as client:
                return client.read_flow_run(flow_run_id).labels.get("prefect.worker.name")

        def paused(flow_run_id):
            with get_client(sync_client=True) as client:
                return client.read_flow_run(flow_run_id).state.is_paused()

        wait_for(lambda: all(paused(s.flow_run_id) for s in due), message="the due runs to suspend")
        workers_used = {labels(s.flow_run_id) for s in due}
        assert workers_used == {"worker-a", "worker-b"}, workers_used

        # Stop worker A; everything from now on must still happen, on worker B.
        topology["workers"]["worker-a"].send_signal(signal.SIGTERM)
        topology["workers"]["worker-a"].wait(timeout=60)
        regionplan = steps()["regionplan:region"]
        run([str(BIN / "arshjul"), "steps", "submit", str(regionplan.id), "--as", "erik.ekonom@example.se"], env)
        run(
            [
                str(BIN / "arshjul"),
                "steps",
                "approve",
                str(regionplan.id),
                "--as",
                "sigrid.sekreterare@example.se",
                "--diarienummer",
                "RF/3/2026",
            ],
            env,
        )
        with get_client(sync_client=True) as client:
            wait_for(
                lambda: client.read_flow_run(regionplan.flow_run_id).state.is_completed(),
                message="the regionplan run to complete on worker B",
                timeout=120,
            )
        assert labels(regionplan.flow_run_id) == "worker-b"
        board = steps()["rs_verksamhetsplan:rs"]
        # The board's plan waited for the regionplan; approving it woke the run, which
        # worker B executes: it now asks for the submission.
        with get_client(sync_client=True) as client:
            wait_for(
                lambda: (
                    (state := client.read_flow_run(board.flow_run_id).state).is_paused()
                    and bool(state.state_details.run_input_keyset)
                ),
                message="the board plan's run to ask for its form",
                timeout=120,
            )
        assert labels(board.flow_run_id) == "worker-b"
        drain_prefect_workers()
    assert steps()["regionplan:region"].state == StepState.approved
    engine.dispose()


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (a worker's flow run processes sit in their own session)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def heartbeat_after(api_url: str, flow_run_id: str, since) -> bool:
    import httpx

    response = httpx.post(
        f"{api_url}/events/filter",
        json={
            "filter": {
                "event": {"name": ["prefect.flow-run.heartbeat"]},
                "resource": {"id": [f"prefect.flow-run.{flow_run_id}"]},
                "occurred": {"since": since.isoformat()},
            },
            "limit": 1,
        },
        timeout=30,
    )
    response.raise_for_status()
    return bool(response.json()["events"])


def test_a_worker_sigkilled_while_a_step_run_executes_loses_nothing(topology):
    """The worker (and the run's process under it) dies while the run records a decision
    that Prefect had already accepted. Its heartbeats stop; Prefect's zombie detection
    marks the run Crashed; that starts the reconciler on the other worker, which records
    the decision once and reschedules the run; the other worker completes it."""
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from sqlalchemy import text
    from sqlmodel import Session, select

    from arshjul.core.database import make_engine
    from arshjul.service import drain_prefect_workers
    from models.tables import AuditEntry, StepInstance, StepState

    env = topology["env"]
    env.update(PREFECT_FLOWS_HEARTBEAT_FREQUENCY="30", ARSHJUL_ZOMBIE_SECONDS="90")
    run([str(BIN / "prefect"), "work-pool", "create", "arshjul", "--type", "process"], env)
    run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"], env)
    run([str(BIN / "arshjul"), "cycle", "start", "2027"], env)
    engine = make_engine(topology["app_url"])

    def regionplan() -> StepInstance:
        with Session(engine) as session:
            return session.exec(select(StepInstance).where(StepInstance.key == "regionplan:region")).one()

    step = regionplan()
    # No --limit: Prefect 3.8.8's worker dies ("this borrower is already holding one of
    # this CapacityLimiter's tokens") when a run it executed is resumed and handed to it
    # again before its token was given back, which a loaded machine makes likely.
    workers = {name: start_worker(topology, name, limit=None) for name in ("worker-a", "worker-b")}
    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}), get_client(sync_client=True) as client:

        def state():
            return client.read_flow_run(step.flow_run_id).state

        wait_for(lambda: state().is_paused() and state().state_details.run_input_keyset, message="the submission form")
        run([str(BIN / "arshjul"), "steps", "submit", str(step.id), "--as", "erik.ekonom@example.se"], env)
        wait_for(lambda: regionplan().state == StepState.submitted, message="the submission")
        wait_for(
            lambda: state().is_paused() and state().state_details.run_input_keyset and state().name == "Suspended",
            message="the decision form",
        )
        # The decision, through Prefect's Resume as the form sends it; the row is held
        # locked so that the run's recording of it waits, and the kill lands inside it.
        with engine.connect() as blocker:
            blocker.execute(text("BEGIN"))
            blocker.execute(text("SELECT id FROM step_instance WHERE id = :id FOR UPDATE"), {"id": step.id})
            answer = {"åtgärd": "godkänn", "epostadress": "sigrid.sekreterare@example.se", "kommentar": ""}
            answer["diarienummer"] = "RF/3/2026"
            assert client.resume_flow_run(step.flow_run_id, run_input=answer).status.value == "ACCEPT"
            wait_for(lambda: state().is_running(), message="a worker to execute the decision")
            first = wait_for(lambda: client.read_flow_run(step.flow_run_id).labels.get("prefect.worker.name"))
            # Killed once it has been alive long enough to send a heartbeat (one killed
            # before its first heartbeat is caught by the reconciler's hourly fallback).
            running_since = state().timestamp
            wait_for(lambda: heartbeat_after(env["PREFECT_API_URL"], step.flow_run_id, running_since), timeout=180)
            victim = workers[first]
            for pid in [victim.pid, *descendants(victim.pid)]:
                os.kill(pid, signal.SIGKILL)
            victim.wait(timeout=30)
            blocker.execute(text("ROLLBACK"))
        assert regionplan().state == StepState.submitted  # the killed run recorded nothing
        wait_for(lambda: state().is_completed(), message="the run to complete on the other worker", timeout=420)
        other = client.read_flow_run(step.flow_run_id).labels.get("prefect.worker.name")
        assert other != first and other in workers
        drain_prefect_workers()
    with Session(engine) as session:
        audit = session.exec(select(AuditEntry).where(AuditEntry.instance_id == step.id)).all()
    approvals = [entry for entry in audit if entry.action == "step.approved"]
    assert [entry.source for entry in approvals] == ["avstämning"]  # recorded once, by the reconciler
    assert any(entry.action == "run.reconciled" and entry.after["heal"] == "crashed" for entry in audit)
    assert regionplan().state == StepState.approved and regionplan().diarienummer == "RF/3/2026"
    engine.dispose()
