"""Benchmark: 200 chefer at once open the link in their mail and submit, against the web
app (`arshjul web`, its own process) on PostgreSQL.

Setup: a generated organisation (the region's årshjul, a unit tree with a chef per unit,
see bench_plan.py), cycle 2027 stored in a fresh PostgreSQL database, 200 steps of 200
different chefer opened (what they depend on marked done, so each may submit), and each
chef's signed link made as a mail makes it. Then 200 clients start together: each opens
its link (GET), submits the form (POST) and follows the redirect to the thank-you page
(GET). Prints p50/p95/max per page kind and overall, and checks that every submission is
recorded exactly once (state, and one `step.submitted` audit entry from source `länk`).
Target: p95 < 300 ms.

`--floor`: the same clients, started the same way, against an app that does no work
(empty_pages.py): what the machine, the server and the clients cost before any of the
app's own work. `--spread S`: the chefs start one after another at even intervals over S
seconds instead of in the same instant (a mailing opened over a minute, say).

Run: .venv/bin/python benchmarks/bench_links.py [--chefer 200] [--postgres URL] [--workers N] [--floor] [--spread S]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_plan import generate  # noqa: E402
from sqlalchemy import create_engine, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402
from support import free_port, percentile  # noqa: E402

from arshjul.core.database import make_engine, migrate, session_scope  # noqa: E402
from arshjul.core.links import LinkMaker, LinkSigner  # noqa: E402
from models.cycles import store_cycle  # noqa: E402
from models.states import Action  # noqa: E402
from models.tables import AuditEntry, StepDependency, StepInstance, StepState  # noqa: E402
from models.validation import load_definition  # noqa: E402

SECRET = "benchmark-" + "k" * 40
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def prepare(url: str, folder: Path, chefer: int, public_url: str) -> list[tuple[int, str]]:
    """Cycle 2027 stored, `chefer` steps of different chefs open and free to submit; their links."""
    definition = load_definition(folder)
    engine = make_engine(url)
    migrate(engine)
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as session:
        store_cycle(definition, 2027, session=session, now=now)
    with session_scope(engine) as session:
        steps = session.exec(select(StepInstance).order_by(col(StepInstance.due))).all()
        links = session.exec(select(StepDependency)).all()
        needs_of: dict[int, set[int]] = {}
        for link in links:
            needs_of.setdefault(link.instance_id, set()).add(link.depends_on_id)
        chosen, owners, taken, needed = [], set(), set(), set()
        for step in steps:
            mine = needs_of.get(step.id, set())
            # Neither needed by a chosen step nor needing one: each may be submitted alone.
            if step.id in needed or mine & taken:
                continue
            if step.owner and step.owner.startswith("chef_") and step.owner not in owners:
                chosen.append(step)
                owners.add(step.owner)
                taken.add(step.id)
                needed |= mine
            if len(chosen) == chefer:
                break
        if len(chosen) < chefer:
            raise SystemExit(f"only {len(chosen)} chefs own steps; generate more units")
        ids = [step.id for step in chosen]
        needs = [
            link.depends_on_id
            for link in session.exec(select(StepDependency).where(col(StepDependency.instance_id).in_(ids)))
        ]
        if needs:
            session.exec(
                update(StepInstance).where(col(StepInstance.id).in_(needs)).values(state=StepState.approved.value)
            )
        session.exec(
            update(StepInstance)
            .where(col(StepInstance.id).in_(ids))
            .values(state=StepState.open.value, state_version=1)
        )
    links = LinkMaker(LinkSigner([SECRET]), public_url=public_url)
    with Session(engine) as session:
        opened = session.exec(select(StepInstance).where(col(StepInstance.id).in_(ids))).all()
        made = [
            (
                step.id,
                links.step_url(
                    person=step.owner, step=step, actions=frozenset({Action.submit}), generation=0, issued=now
                ),
            )
            for step in opened
        ]
    engine.dispose()
    return made


def one_chef(
    link: str, timings: dict[str, list[float]], failures: list[str], start: threading.Event, delay: float = 0.0
) -> None:
    with httpx.Client(timeout=60) as client:
        start.wait()
        time.sleep(delay)
        began = time.perf_counter()
        page = client.get(link)
        timings["GET steg"].append(time.perf_counter() - began)
        match = CSRF.search(page.text)
        if page.status_code != 200 or match is None:
            failures.append(f"GET {page.status_code}")
            return
        began = time.perf_counter()
        posted = client.post(link, data={"csrf": match.group(1), "atgard": "submit", "kommentar": "Klart."})
        timings["POST lämna in"].append(time.perf_counter() - began)
        if posted.status_code != 303:
            failures.append(f"POST {posted.status_code}")
            return
        began = time.perf_counter()
        thanks = client.get(link)
        timings["GET tack"].append(time.perf_counter() - began)
        if "Tack!" not in thanks.text:
            failures.append("no thank-you page")


def wait_until_up(public_url: str, workers: int) -> None:
    """The server answers, and each worker has served some requests: as a running service has."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{public_url}/halsa", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    # Several requests at once, so that every worker gets some (and has loaded the
    # organisation) before the clock starts.
    for _ in range(3):
        warm = [threading.Thread(target=httpx.get, args=(f"{public_url}/",), kwargs={"timeout": 60})
                for _ in range(4 * workers)]  # fmt: skip
        for thread in warm:
            thread.start()
        for thread in warm:
            thread.join()


def run_chefer(links: list[str], spread: float = 0.0) -> tuple[dict[str, list[float]], list[str], float]:
    """Every chef's three pages, all chefs starting in the same instant (or, with
    `spread`, one after another at even intervals over that many seconds): the timings
    per page kind, the failures, and the wall time until the last page."""
    timings: dict[str, list[float]] = {"GET steg": [], "POST lämna in": [], "GET tack": []}
    failures: list[str] = []
    start = threading.Event()
    step = spread / len(links) if links else 0.0
    threads = [
        threading.Thread(target=one_chef, args=(link, timings, failures, start, number * step))
        for number, link in enumerate(links)
    ]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    start.set()
    for thread in threads:
        thread.join()
    return timings, failures, time.perf_counter() - began


def print_timings(timings: dict[str, list[float]], failures: list[str]) -> None:
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (2 cores)")
    every = [value for values in timings.values() for value in values]
    for label, values in [*timings.items(), ("all pages", every)]:
        if values:
            print(
                f"  {label:<14} n={len(values):>3}  p50 {statistics.median(values) * 1000:7.1f} ms  "
                f"p95 {percentile(values, 0.95) * 1000:7.1f} ms  max {max(values) * 1000:7.1f} ms"
            )
    print(f"failures: {len(failures)} {sorted(set(failures))[:5]}")


def processes_named(workers: int) -> str:
    return "one process" if workers == 1 else f"{workers} processes"


def measure_floor(chefer: int, workers: int, spread: float) -> None:
    """The same clients against an app that does no work (empty_pages.py)."""
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="arshjul-bench-floor-") as temporary:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "empty_pages:app", "--app-dir", str(ROOT / "benchmarks"),
             "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-server-header"],
            stdout=subprocess.DEVNULL,
            stderr=open(Path(temporary) / "floor.log", "w"),  # noqa: SIM115
        )  # fmt: skip
        try:
            wait_until_up(public_url, workers)
            timings, failures, wall = run_chefer([f"{public_url}/steg/{number}" for number in range(chefer)], spread)
        finally:
            server.terminate()
            server.wait(timeout=30)
    arrival = f"over {spread:g} s" if spread else "at once"
    print(f"{chefer} chefer {arrival} against an app that does no work, {processes_named(workers)}; wall {wall:.2f} s")
    print_timings(timings, failures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chefer", type=int, default=200)
    parser.add_argument("--units", type=int, default=400)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--workers", type=int, default=1, help="processes of the web app (ARSHJUL_WEB_WORKERS)")
    parser.add_argument("--floor", action="store_true", help="the same clients against an app that does no work")
    parser.add_argument(
        "--spread", type=float, default=0.0, help="start the chefs one after another over this many seconds"
    )
    args = parser.parse_args()
    if args.floor:
        measure_floor(args.chefer, args.workers, args.spread)
        return

    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    name = f"arshjul_bench_links_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    web = None
    try:
        with tempfile.TemporaryDirectory(prefix="arshjul-bench-links-") as temporary:
            folder = Path(temporary) / "org"
            generate(folder, args.units)
            made = prepare(url, folder, args.chefer, public_url)
            env = dict(
                os.environ,
                ARSHJUL_DATABASE_URL=url,
                ARSHJUL_ORG=str(folder),
                ARSHJUL_HOME=str(Path(temporary) / "home"),
                ARSHJUL_LINK_SECRETS=SECRET,
                ARSHJUL_WEB_PORT=str(port),
                ARSHJUL_PUBLIC_URL=public_url,
                ARSHJUL_LINK_FAILURES_ALLOWED="100000",
                ARSHJUL_WEB_WORKERS=str(args.workers),
                # No Prefect server: these steps have no runs; events go nowhere.
                PREFECT_API_URL=f"http://127.0.0.1:{free_port()}/api",
                PREFECT_HOME=str(Path(temporary) / "prefect"),
            )
            web = subprocess.Popen(
                [sys.executable, "-m", "arshjul", "web"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(Path(temporary) / "web.log", "w"),  # noqa: SIM115
            )
            wait_until_up(public_url, args.workers)
            timings, failures, wall = run_chefer([link for _, link in made], args.spread)

            engine = make_engine(url)
            ids = [step_id for step_id, _ in made]
            with Session(engine) as session:
                states = session.exec(select(StepInstance.state).where(col(StepInstance.id).in_(ids))).all()
                entries = session.exec(
                    select(AuditEntry.instance_id).where(
                        AuditEntry.action == "step.submitted", col(AuditEntry.instance_id).in_(ids)
                    )
                ).all()
                sources = set(
                    session.exec(select(AuditEntry.source).where(AuditEntry.action == "step.submitted")).all()
                )
            engine.dispose()
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=30)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    processes = processes_named(args.workers)
    arrival = f"over {args.spread:g} s" if args.spread else "at once"
    print(f"{args.chefer} chefer {arrival} against PostgreSQL, web app in {processes}; wall {wall:.2f} s")
    print_timings(timings, failures)
    once = len(entries) == len(set(entries)) == args.chefer
    print(
        f"submitted: {sum(1 for s in states if s == StepState.submitted.value)} of {args.chefer}; "
        f"audit entries step.submitted: {len(entries)} for {len(set(entries))} steps, sources {sorted(sources)}; "
        f"every action recorded exactly once: {'yes' if once else 'NO'}"
    )


if __name__ == "__main__":
    main()
