"""Benchmark: `arshjul plan` for a generated organisation of 2,000 units.

Generates an organisation folder from the region's (same årshjul, bodies, roles and
meetings; a unit tree of 2,000 units with a manager each), then measures loading and
validating the folder, planning cycle 2027, and the whole `arshjul plan 2027 --format
json` command as a user runs it. Target: the command under 5 s.

Run: .venv/bin/python benchmarks/bench_plan.py [--units 2000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from arshjul.core.settings import DEFAULT_ORGANISATION  # noqa: E402
from models.planning import plan_cycle  # noqa: E402
from models.validation import load_definition  # noqa: E402


def generate(folder: Path, units: int) -> None:
    """The region's folder with its unit tree grown to `units` units."""
    # The region's årshjul and meetings; its goals name the region's own units, not these.
    shutil.copytree(DEFAULT_ORGANISATION, folder, ignore=shutil.ignore_patterns("goals-*.yaml"))
    data = yaml.safe_load((folder / "organisation.yaml").read_text(encoding="utf-8"))
    # Keep the units the data refers to by name (förvaltningar, staff departments that
    # hold roles); grow everything else.
    named = (
        {"region", "hs", "ruf", "regionstab"}
        | {role["held_by"]["manager_of_unit"] for role in data["roles"] if "manager_of_unit" in role["held_by"]}
        | {body["administration"] for body in data["bodies"] if body.get("administration")}
    )
    tree = [u for u in data["units"] if u["key"] in named]
    people = list(data["people"])
    count = 0

    def add(key: str, name: str, level: str, parent: str) -> None:
        nonlocal count
        count += 1
        person = f"chef_{count:05d}"
        people.append({"key": person, "name": f"Chef {count}", "email": f"chef.{count}@example.se", "title": "Chef"})
        tree.append({"key": key, "name": name, "level": level, "parent": parent, "manager": person})

    remaining = units - len(tree)
    areas = [(f"omr_{i:03d}", "omrade", "hs" if i % 4 else "ruf") for i in range(max(remaining // 50, 1))]
    departments = [(f"avd_{i:03d}", "avdelning", "regionstab") for i in range(max(remaining // 100, 1))]
    for key, level, parent in areas + departments:
        add(key, f"{level.capitalize()} {key}", level, parent)
    parents = [key for key, _, _ in areas + departments]
    index = 0
    while len(tree) < units:
        add(f"enh_{index:05d}", f"Enhet {index}", "enhet", parents[index % len(parents)])
        index += 1
    data["units"] = tree
    data["people"] = people
    (folder / "organisation.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "big-org"
        generate(folder, args.units)

        started = time.perf_counter()
        definition = load_definition(folder, check_cycles=False)
        load_seconds = time.perf_counter() - started

        started = time.perf_counter()
        steps = plan_cycle(definition, 2027)
        plan_seconds = time.perf_counter() - started

        started = time.perf_counter()
        result = subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "arshjul"),
                "plan",
                "2027",
                "--org",
                str(folder),
                "--format",
                "json",
                "--output",
                str(Path(tmp) / "plan.json"),
            ],
            capture_output=True,
            text=True,
        )
        command_seconds = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"arshjul plan failed:\n{result.stderr}")

        # Several years at once (issue 17): three runs of the whole command, median and range.
        period_seconds = []
        for _ in range(3):
            started = time.perf_counter()
            result = subprocess.run(
                [
                    str(ROOT / ".venv" / "bin" / "arshjul"),
                    "plan",
                    "2027..2030",
                    "--org",
                    str(folder),
                    "--format",
                    "json",
                    "--output",
                    str(Path(tmp) / "plan-period.json"),
                ],
                capture_output=True,
                text=True,
            )
            period_seconds.append(time.perf_counter() - started)
            if result.returncode != 0:
                raise SystemExit(f"arshjul plan 2027..2030 failed:\n{result.stderr}")
        period_steps = len(json.loads((Path(tmp) / "plan-period.json").read_text(encoding="utf-8")))

    print(f"units:                         {len(definition.organisation.units)}")
    print(f"step instances in cycle 2027:  {len(steps)}")
    print(f"load + schema/reference checks: {load_seconds:.2f} s")
    print(f"plan_cycle(2027):               {plan_seconds:.2f} s")
    print(
        "`arshjul plan 2027 --format json` (whole command, incl. validation of cycle 2027): "
        f"{command_seconds:.2f} s (target < 5 s)"
    )
    print(
        f"`arshjul plan 2027..2030 --format json` ({period_steps} step instances): median "
        f"{statistics.median(period_seconds):.2f} s, range {min(period_seconds):.2f}–{max(period_seconds):.2f} s "
        "(3 runs; target < 10 s)"
    )


if __name__ == "__main__":
    main()
