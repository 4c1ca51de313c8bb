"""Benchmark: the follow-up of goals.

1. The roll-up of 100,000 statuses (this period and the previous one, so the change is
   computed too) over a generated tree of 1,000 units and a four-level goal tree
   (övergripande mål → uppdrag → mål → aktiviteter): per level, målområde, body, unit
   up the tree, goal node up the tree, coverage, change. Target: under 1 s.
2. The region's whole T1 report as HTML (seed 003's April statuses imported into an app
   database): reading the statuses, the roll-up, the report's facts, the three SVG
   charts and the document — in this process, and as `arshjul report followup 2027
   --period T1 --format html` run from the shell. Target: under 3 s.

Each measure runs three times; the median and the range are printed.

Run: .venv/bin/python benchmarks/bench_followup.py
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HOME = Path(tempfile.mkdtemp(prefix="arshjul-bench-followup-"))
os.environ["ARSHJUL_HOME"] = str(HOME)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from models.followup import Reported  # noqa: E402
from models.goal_schema import GoalsFile  # noqa: E402
from models.goals import STATUSES, GoalPlan  # noqa: E402
from models.organisation import Organisation  # noqa: E402
from models.rollup import roll_up  # noqa: E402
from models.schema_organisation import OrganisationFile  # noqa: E402

RUNS = 3
AREAS = ["samhalle", "patient", "medarbetare", "verksamhetsresultat"]


def organisation(units: int = 1000) -> Organisation:
    """region → 9 förvaltningar → 90 områden → 900 enheter."""
    tree = [{"key": "region", "name": "Regionen", "level": "region"}]
    for f in range(9):
        tree.append({"key": f"forv{f}", "name": f"Förvaltning {f}", "level": "forvaltning", "parent": "region"})
        for o in range(10):
            tree.append({"key": f"omr{f}_{o}", "name": f"Område {f}.{o}", "level": "omrade", "parent": f"forv{f}"})
            for e in range(10):
                tree.append(
                    {"key": f"enh{f}_{o}_{e}", "name": f"Enhet {f}.{o}.{e}", "level": "enhet", "parent": f"omr{f}_{o}"}
                )
    assert len(tree) == units
    return Organisation(
        OrganisationFile.model_validate(
            {
                "organisation": {"key": "bench", "name": "Bench"},
                "levels": [{"key": k, "name": k} for k in ("region", "namnd", "forvaltning", "omrade", "enhet")],
                "bodies": [
                    {"key": "rf", "name": "RF", "kind": "fullmäktige", "level": "region", "administration": "region"},
                    {"key": "rs", "name": "RS", "kind": "styrelse", "level": "namnd", "administration": "region"},
                ],
                "units": tree,
                "people": [{"key": "p", "name": "P", "email": "p@example.se"}],
            }
        )
    )


def goal_plan(org: Organisation) -> GoalPlan:
    """20 övergripande mål, 200 uppdrag, 2,000 mål, 97,800 aktiviteter: 100,000 reported."""
    rng = random.Random(14)
    enheter = [key for key, unit in org.units.items() if unit.level == "enhet"]
    forvaltningar = [key for key, unit in org.units.items() if unit.level == "forvaltning"]
    items = []
    for o in range(20):
        items.append({"key": f"o{o}", "level": "overgripande_mal", "malomrade": AREAS[o % 4], "owner": "rf",
                      "plan": "p", "name": f"Övergripande mål {o}"})  # fmt: skip
        for u in range(10):
            uk = f"u{o}_{u}"
            items.append({"key": uk, "level": "uppdrag", "parent": f"o{o}", "owner": "rs", "plan": "p", "name": uk})
            for m in range(10):
                mk = f"m{o}_{u}_{m}"
                owner = rng.choice(forvaltningar)
                items.append({"key": mk, "level": "mal", "parent": uk, "owner": owner, "plan": "p", "name": mk})
    goals = [item["key"] for item in items if item["level"] == "mal"]
    for a in range(97_800):
        items.append({"key": f"a{a}", "level": "aktivitet", "parent": goals[a % len(goals)],
                      "owner": rng.choice(enheter), "plan": "p", "name": f"Aktivitet {a}"})  # fmt: skip
    return GoalPlan(
        GoalsFile.model_validate(
            {
                "year": 2027,
                "malomraden": [{"key": area, "name": area} for area in AREAS],
                "levels": [
                    {"key": "overgripande_mal", "name": "Övergripande mål", "rollup": {"rule": "worst"}},
                    {"key": "uppdrag", "name": "Uppdrag", "scale": "mal"},
                    {"key": "mal", "name": "Mål", "scale": "mal"},
                    {"key": "aktivitet", "name": "Aktiviteter", "scale": "aktivitet"},
                ],
                "periods": [
                    {"key": "T1", "name": "T1", "as_of": "Y-04-30", "steps": ["t1"]},
                    {"key": "T2", "name": "T2", "as_of": "Y-08-31", "steps": ["t2"]},
                ],
                "items": items,
            }
        )
    )


def statuses(plan: GoalPlan, seed: int) -> dict[str, Reported]:
    rng = random.Random(seed)
    result = {}
    for key in plan.reported:
        scale = plan.scale_of(key)
        assert scale is not None
        if rng.random() < 0.95:
            result[key] = Reported(key, rng.choice(list(STATUSES[scale])), "kommentar")
    return result


def figures(name: str, seconds: list[float], target: float, cpu: list[float] | None = None) -> None:
    median = statistics.median(seconds)
    verdict = "met" if max(seconds) < target else "NOT met in every run"
    runs = ", ".join(f"{s:.3f}" for s in seconds)
    print(
        f"{name}: median {median:.3f} s, range {min(seconds):.3f}–{max(seconds):.3f} s ({runs}); "
        f"target < {target} s {verdict}"
    )
    if cpu:
        print(
            f"    CPU time of this process: median {statistics.median(cpu):.3f} s, "
            f"range {min(cpu):.3f}–{max(cpu):.3f} s"
        )


def bench_rollup() -> None:
    org = organisation()
    plan = goal_plan(org)
    april, august = statuses(plan, 1), statuses(plan, 2)
    times, cold, cpu, cold_cpu = [], [], [], []
    for _run in range(RUNS):
        fresh = GoalPlan(plan.source)  # as read from the database: no tree lookups built yet
        start, start_cpu = time.perf_counter(), time.process_time()
        roll_up(fresh, org, august, period="T2", previous=april)
        cold.append(time.perf_counter() - start)
        cold_cpu.append(time.process_time() - start_cpu)
        start, start_cpu = time.perf_counter(), time.process_time()
        result = roll_up(fresh, org, august, period="T2", previous=april)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    print(
        f"roll-up input: {len(org.units)} units, {len(plan.items)} items, {len(result.items)} reported items "
        f"({sum(1 for k in result.items if result.status[k] != 'ej_rapporterad')} with a status), "
        f"{len(result.units)} units and {len(result.goal_nodes)} goal nodes summed, {len(result.changes)} changes"
    )
    figures("roll-up of 100,000 statuses (with the change), the plan's tree lookups built", times, 1.0, cpu)
    figures(
        "the same, including building the plan's tree lookups (a plan fresh from the database)", cold, 1.0, cold_cpu
    )


def bench_report() -> None:
    import datetime as dt

    from sqlmodel import Session

    from arshjul.core.database import get_engine, migrate, session_scope
    from arshjul.core.settings import DEFAULT_ORGANISATION
    from arshjul.views.followup_document import render_report
    from arshjul.views.followup_report import report_data
    from models.followup import record_report, store_plan
    from models.followup_facts import report_facts
    from models.followup_import import parse_report
    from models.tables import Mode
    from models.validation import load_definition

    definition = load_definition(DEFAULT_ORGANISATION)
    org = definition.organisation
    plan = definition.goals[2027]
    fixture = ROOT / "tests" / "fixtures" / "followup" / "seed003-T1.csv"
    parsed = parse_report(fixture.name, fixture.read_bytes(), plan, org)
    engine = get_engine()
    migrate(engine)
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as session:
        store_plan(plan, organisation=org.info.key, mode=Mode.live, session=session, now=now)
        record_report(plan, "T1", parsed.reported, parsed.analyses, organisation=org.info.key, mode=Mode.live,
                      actor="helena_nordin", source="cli", session=session, now=now)  # fmt: skip
    times, cpu = [], []
    size = 0
    for _run in range(RUNS):
        start, start_cpu = time.perf_counter(), time.process_time()
        with Session(engine) as session:
            facts = report_facts(plan, org, year=2027, period="T1", scope=None, mode=Mode.live, session=session)
        assert facts is not None
        data = report_data(facts.plan, org, definition.templates, facts.result, facts.statuses, facts.analyses,
                           scope=None, generated=now)  # fmt: skip
        html = render_report(data)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        size = len(html)
    print(f"T1 report: {size:,} characters of HTML")
    figures("the region's whole T1 report as HTML, in process (first run imports matplotlib)", times, 3.0, cpu)
    command = [str(ROOT / ".venv" / "bin" / "arshjul"), "report", "followup", "2027", "--period", "T1",
               "--format", "html", "-o", str(HOME / "t1.html")]  # fmt: skip
    times = []
    for _run in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=dict(os.environ))
        times.append(time.perf_counter() - start)
    figures("`arshjul report followup 2027 --period T1 --format html` from the shell", times, 3.0)


if __name__ == "__main__":
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    bench_rollup()
    bench_report()
