"""`prefect server start --workers N` on PostgreSQL for the benchmarks: what Prefect needs
for it — Redis for messaging, causal ordering and leases (the `prefect-redis` package,
`pip install -c constraints.txt -e '.[scale]'`, and a `redis-server` on PATH), and the
services (scheduler, event persister, triggers, ...) in a process of their own, since
API workers run none."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from arshjul.service import api_healthy
from benchmarks.support import free_port

PREFECT = str(Path(sys.executable).with_name("prefect"))


class MultiWorkerPrefectServer:
    def __init__(self, home: Path, database_url: str, workers: int):
        self.home, self.database_url, self.workers = home, database_url, workers
        self.port = free_port()
        self.processes: list[subprocess.Popen] = []

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def pids(self) -> list[int]:
        """The processes whose CPU is the server's: API workers, services, Redis."""
        return [process.pid for process in self.processes]

    def _spawn(self, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.home / "server.log").open("ab")
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def _wait(self, process: subprocess.Popen, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the Prefect server ended at once; see {self.home / 'server.log'}")
            if api_healthy(self.api_url):
                return
            time.sleep(0.5)
        raise RuntimeError(f"the Prefect server did not answer in {timeout:.0f} s; see {self.home / 'server.log'}")

    def start(self) -> MultiWorkerPrefectServer:
        try:
            import prefect_redis  # noqa: F401
        except ImportError:
            raise SystemExit(
                "--server-workers needs prefect-redis: pip install -c constraints.txt -e '.[scale]'"
            ) from None
        self.home.mkdir(parents=True, exist_ok=True)
        redis_port = free_port()
        env = dict(
            os.environ,
            PREFECT_HOME=str(self.home.resolve()),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_SERVER_API_PORT=str(self.port),
            PREFECT_API_DATABASE_CONNECTION_URL=self.database_url,
            PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED="false",  # as PrefectServer
            PREFECT_MESSAGING_BROKER="prefect_redis.messaging",
            PREFECT_MESSAGING_CACHE="prefect_redis.messaging",
            PREFECT_SERVER_EVENTS_CAUSAL_ORDERING="prefect_redis.ordering",
            PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE="prefect_redis.lease_storage",
            PREFECT_REDIS_MESSAGING_HOST="127.0.0.1",
            PREFECT_REDIS_MESSAGING_PORT=str(redis_port),
            PREFECT_REDIS_MESSAGING_DB="0",
        )
        env.pop("PREFECT_API_URL", None)
        self._spawn(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "", "--appendonly", "no"], env
        )
        serve = ["server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        try:
            # Two workers starting on a fresh database race to register the block types
            # (a unique violation ends one, and the parent with it): one worker first.
            first = self._spawn([PREFECT, *serve], env)
            self._wait(first)
            os.killpg(first.pid, signal.SIGTERM)
            first.wait(timeout=30)
            self.processes.remove(first)
            self._wait(self._spawn([PREFECT, *serve, "--workers", str(self.workers)], env))
            self._spawn([PREFECT, "server", "services", "start"], env | {"PREFECT_API_URL": self.api_url})
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
