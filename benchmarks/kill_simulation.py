"""SIGKILL `arshjul simulate` at random (seeded) moments, restart it each time, and
compare the year it ends with against an unkilled run of the same seed.

    .venv/bin/python benchmarks/kill_simulation.py [--org DIR] [--kills 20] [--seed 1] [--json]

Each run gets its own app database (SQLite under a temporary ARSHJUL_HOME) and mail
sink; both talk to one Prefect server (started here on a free port, or --api-url). A
kill is triggered when the killed run's audit log has grown by a random number of
entries since its (re)start, plus a random fraction of a second, so kills land in every
part of a simulated day whatever the machine's load. Afterwards it prints: the kills,
the wall time of both, whether every step ended the same (state, who submitted and
decided, the diarienummer, on which days), the mails by outbox key (missing, extra),
runs left Running, the audit chain, and what the reconciler healed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REGION = ROOT / "calendar" / "region-jamtland-harjedalen"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(home: Path, org: Path, api_url: str) -> dict:
    return dict(
        os.environ,
        ARSHJUL_HOME=str(home),
        ARSHJUL_ORG=str(org),
        ARSHJUL_SINK_PORT=str(free_port()),
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_HOME=str(home / "prefect-client"),
    )


def simulate_command(args) -> list[str]:
    return [
        str(BIN / "arshjul"),
        "simulate",
        str(args.year),
        "--seed",
        str(args.seed),
        "--late-share",
        str(args.late_share),
        "--json",
    ]


def audit_count(database: Path) -> int:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
            return connection.execute("SELECT count(*) FROM audit_entry").fetchone()[0]
    except sqlite3.Error:
        return 0  # not migrated yet


def outcome(database: Path) -> dict:
    """What the year ended with, comparable between two app databases."""
    with sqlite3.connect(database) as connection:
        steps = {
            key: [state, submitted_by, decided_by, diarienummer, (submitted or "")[:10], (decided or "")[:10]]
            for key, state, submitted_by, decided_by, diarienummer, submitted, decided in connection.execute(
                "SELECT key, state, submitted_by, decided_by_person, diarienummer, submitted_at, decided_at "
                "FROM step_instance"
            )
        }
        # An audit checkpoint's mail is keyed by the checkpoint's last entry id as well as
        # its moment; a killed run's log also holds the reconciler's entries (audited by
        # design), so its checkpoints are compared by their moment.
        mails = {
            f"{kind}:{key.rsplit('@', 1)[-1]}" if kind == "checkpoint" else key
            for key, kind in connection.execute("SELECT key, kind FROM outbox")
        }
        unsent = [
            f"{key} ({state}: {error or ''})"[:200]
            for key, state, error in connection.execute(
                # Folded rows are never sent by themselves: the recipient's digest reports them.
                "SELECT key, state, last_error FROM outbox WHERE state NOT IN ('sent', 'folded')"
            )
        ]
        runs = [run for (run,) in connection.execute("SELECT flow_run_id FROM step_instance") if run]
        heals = dict(
            connection.execute(
                "SELECT action, count(*) FROM audit_entry WHERE source = 'avstämning' GROUP BY action"
            ).fetchall()
        )
    return {"steps": steps, "mails": mails, "unsent": unsent, "runs": runs, "heals": heals}


def runs_left_running(api_url: str, flow_run_ids: list[str]) -> int:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    runs = []
    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        for start in range(0, len(flow_run_ids), 200):
            batch = FlowRunFilter(id=FlowRunFilterId(any_=flow_run_ids[start : start + 200]))
            runs += client.read_flow_runs(flow_run_filter=batch, limit=200)
    return sum(1 for run in runs if run.state and run.state.type.value in ("RUNNING", "PENDING"))


def audit_verified(env: dict) -> bool:
    result = subprocess.run(
        [str(BIN / "arshjul"), "audit", "verify"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    return result.returncode == 0


def unkilled(args, home: Path, api_url: str) -> float:
    started = time.monotonic()
    result = subprocess.run(
        simulate_command(args),
        env=environment(home, args.org, api_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=7200,
    )
    if result.returncode != 0:
        raise SystemExit(f"the unkilled simulation failed:\n{result.stderr[-3000:]}")
    return time.monotonic() - started


def killed(args, home: Path, api_url: str, total_entries: int) -> tuple[float, int, int]:
    """Returns the wall time, the kills made and the restarts needed."""
    rng = random.Random(f"kills:{args.seed}")
    env = environment(home, args.org, api_url)
    home.mkdir(parents=True, exist_ok=True)
    database = home / "arshjul.db"
    step = max(2, 2 * total_entries // (args.kills + 1))
    kills = starts = 0
    started = time.monotonic()
    while True:
        starts += 1
        before = audit_count(database)
        # Its output goes to a file: a pipe nobody reads while waiting for the kill fills
        # up and stops the simulation in its next write.
        log = (home / f"simulate-{starts}.log").open("w")
        process = subprocess.Popen(simulate_command(args), env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        if kills < args.kills:
            # Within the year: a target past its last entries would leave the kill unmade.
            target = before + min(rng.randint(1, step), max(1, (total_entries - before) * 9 // 10))
            while process.poll() is None and audit_count(database) < target:
                time.sleep(0.05)
            # Half the kills at once (inside the execution that wrote the entry), half a
            # moment later.
            time.sleep(rng.choice((0.0, rng.uniform(0, 0.5))))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()
                kills += 1
                continue
        process.wait(timeout=7200)
        if process.returncode != 0:
            tail = (home / f"simulate-{starts}.log").read_text()[-3000:]
            raise SystemExit(f"the killed simulation failed after {kills} kills:\n{tail}")
        if kills >= args.kills or starts > 4 * args.kills:
            return time.monotonic() - started, kills, starts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--org", type=Path, default=REGION)
    parser.add_argument("--year", type=int, default=2027)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--late-share", type=float, default=0.2)
    parser.add_argument("--api-url", help="a Prefect server to use (default: one started here)")
    parser.add_argument("--reference", type=Path, help="the ARSHJUL_HOME of an unkilled run to compare with")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.org = args.org.resolve()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="arshjul-kill-") as folder:
        base = Path(folder)
        server = None
        if args.api_url:
            api_url = args.api_url
        else:
            from arshjul.service import PrefectServer

            server = PrefectServer(base / "prefect", port=free_port()).start()
            api_url = server.api_url
        try:
            reference_home = args.reference or base / "unkilled"
            reference_seconds = None if args.reference else unkilled(args, reference_home, api_url)
            reference = outcome(reference_home / "arshjul.db")
            entries = audit_count(reference_home / "arshjul.db")
            killed_seconds, kills, starts = killed(args, base / "killed", api_url, entries)
            result = outcome(base / "killed" / "arshjul.db")
            different = sorted(k for k in reference["steps"] if reference["steps"][k] != result["steps"].get(k))
            figures = {
                "organisation": args.org.name,
                "seed": args.seed,
                "kills": kills,
                "starts": starts,
                "steps": len(reference["steps"]),
                "steps_done_equal": len(reference["steps"]) - len(different),
                "steps_different": {k: [reference["steps"][k], result["steps"].get(k)] for k in different},
                "mails_unkilled": len(reference["mails"]),
                "mails_killed": len(result["mails"]),
                "mails_missing": len(reference["mails"] - result["mails"]),
                "mails_extra": len(result["mails"] - reference["mails"]),
                "mails_unsent": len(result["unsent"]),
                # The first few, to look into a difference.
                "mails_missing_keys": sorted(reference["mails"] - result["mails"])[:10],
                "mails_extra_keys": sorted(result["mails"] - reference["mails"])[:10],
                "mails_unsent_keys": result["unsent"][:10],
                "runs_left_running": runs_left_running(api_url, result["runs"]),
                "audit_verified": audit_verified(environment(base / "killed", args.org, api_url)),
                "heals": result["heals"],
                "unkilled_seconds": round(reference_seconds, 1) if reference_seconds else None,
                "killed_seconds": round(killed_seconds, 1),
            }
        finally:
            if server:
                server.stop()
    if args.json:
        print(json.dumps(figures, indent=2, ensure_ascii=False))
    else:
        for key, value in figures.items():
            print(f"{key:>20}: {value}")


if __name__ == "__main__":
    main()
