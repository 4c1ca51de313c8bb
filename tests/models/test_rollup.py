"""The roll-up: seed 003's April and August statuses, entered through the public import,
give every count of that report and the change between them; the rules per level."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arshjul.cli import app
from models.followup import Reported
from models.goal_schema import GoalsFile
from models.goals import GoalPlan
from models.rollup import derived_distribution, early_warnings, roll_up
from tests.conftest import REGION_ORG
from tests.prefect_support import app_environment

runner = CliRunner()
FIXTURES = Path(__file__).parent.parent / "fixtures" / "followup"
PLANNER = "helena.nordin@example.se"

# Seed 003 (BRIEF §8): per April and per August; activities as of early September.
SEED_003 = {
    "T1": {
        "uppdrag": {"gron": 0, "gul": 18, "rod": 2, "ej_matbar": 0},
        "mal": {"gron": 10, "gul": 28, "rod": 17, "ej_matbar": 3},
    },
    "T2": {
        "uppdrag": {"gron": 2, "gul": 15, "rod": 3, "ej_matbar": 0},
        "mal": {"gron": 15, "gul": 26, "rod": 15, "ej_matbar": 2},
        "aktivitet": {"planerad": 20, "pagaende": 33, "forsenad": 2, "genomford": 8},
    },
}


@pytest.fixture(scope="module")
def seed_003_reports(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with app_environment(home, REGION_ORG):
        for period in ("T1", "T2"):
            path = FIXTURES / f"seed003-{period}.csv"
            result = runner.invoke(
                app, ["followup", "import", str(path), "--year", "2027", "--period", period, "--as", PLANNER]
            )
            assert result.exit_code == 0, result.output
        reports = {}
        for period in ("T1", "T2"):
            out = home / f"{period}.json"
            result = runner.invoke(
                app, ["report", "followup", "2027", "--period", period, "--format", "json", "-o", str(out)]
            )
            assert result.exit_code == 0, result.output
            reports[period] = json.loads(out.read_text(encoding="utf-8"))
    return reports


@pytest.mark.parametrize("period", ["T1", "T2"])
def test_every_count_of_seed_003(seed_003_reports, period):
    levels = {level["level"]: level for level in seed_003_reports[period]["levels"]}
    for level, expected in SEED_003[period].items():
        counts = {status: n for status, n in levels[level]["counts"].items() if status != "ej_rapporterad"}
        assert counts == expected, level
        assert levels[level]["total"] == sum(expected.values())
    # The uppdrag break down into the measurable goals, per målområde as well.
    areas = {area["key"]: {lv["level"]: lv for lv in area["levels"]} for area in seed_003_reports[period]["malomraden"]}
    for level in ("uppdrag", "mal"):
        assert sum(area[level]["total"] for area in areas.values()) == levels[level]["total"]


def test_april_has_no_activity_statuses_in_seed_003(seed_003_reports):
    april = seed_003_reports["T1"]
    activities = next(level for level in april["levels"] if level["level"] == "aktivitet")
    assert activities["counts"]["ej_rapporterad"] == 63 and activities["reported"] == 0
    assert april["coverage"] == {"items": 141, "reported": 78, "share": 0.5532}
    assert sum(row["missing"] for row in april["not_reported"]) == 63
    assert "regionstyrelsen" not in {row["owner"] for row in april["not_reported"]}


def test_the_change_between_april_and_august(seed_003_reports):
    august = {level["level"]: level for level in seed_003_reports["T2"]["levels"]}
    assert august["uppdrag"]["change"] == {"gron": 2, "gul": -3, "rod": 1, "ej_matbar": 0, "ej_rapporterad": 0}
    assert august["mal"]["change"] == {"gron": 5, "gul": -2, "rod": -2, "ej_matbar": -1, "ej_rapporterad": 0}
    # "De uppdrag som är helt uppfyllda ligger under Aktivt medarbetarskap och ledarskap samt God och nära vård."
    green = [row for row in seed_003_reports["T2"]["changes"] if row["level"] == "uppdrag" and row["status"] == "gron"]
    assert sorted(row["path"][0]["name"] for row in green) == [
        "Aktivt medarbetarskap och ledarskap",
        "God och nära vård inom hela Jämtland Härjedalen",
    ]
    # The fastighetsplan will not be reached: it turned red, and RS's official is told.
    warnings = {row["key"]: row for row in seed_003_reports["T2"]["early_warning"]}
    assert warnings["u_fastighetsplan"]["reason"] == "turned_red"
    assert warnings["u_fastighetsplan"]["official"] == "helena_nordin"
    # The report shows names, not keys.
    assert warnings["u_fastighetsplan"]["official_name"] == "Helena Nordin"
    assert warnings["u_fastighetsplan"]["body_name"] == "Regionstyrelsen"
    assert {row["reason"] for row in warnings.values()} == {"turned_red", "yellow_twice"}
    assert sum(1 for row in warnings.values() if row["reason"] == "yellow_twice") == 15 + 21


def test_the_unit_tree_sums_up_to_the_region(seed_003_reports):
    units = {unit["key"]: {lv["level"]: lv for lv in unit["levels"]} for unit in seed_003_reports["T2"]["units"]}
    assert units["region"]["aktivitet"]["total"] == 63
    below = ["hs", "regionstab"]
    assert sum(units[key]["aktivitet"]["total"] for key in below if key in units) == 63
    assert (
        units["ekonomiavdelningen"]["aktivitet"]["counts"]["pagaende"]
        >= units["controllerenheten"]["aktivitet"]["counts"]["pagaende"]
    )
    bodies = {body["key"]: {lv["level"]: lv for lv in body["levels"]} for body in seed_003_reports["T2"]["bodies"]}
    assert bodies["regionstyrelsen"]["aktivitet"]["total"] == 63 and bodies["regionstyrelsen"]["mal"]["total"] == 58


# -- the rules, on a small tree -------------------------------------------------------------


def small_plan(rule: dict) -> GoalPlan:
    return GoalPlan(
        GoalsFile.model_validate(
            {
                "year": 2027,
                "malomraden": [{"key": "patient", "name": "Patient"}],
                "levels": [
                    {"key": "overgripande_mal", "name": "Övergripande mål", "rollup": rule},
                    {"key": "mal", "name": "Mål", "scale": "mal"},
                ],
                "periods": [
                    {"key": "T1", "name": "T1", "as_of": "Y-04-30", "steps": ["tertialrapport"]},
                    {"key": "T2", "name": "T2", "as_of": "Y-08-31", "steps": ["delarsrapport"]},
                ],
                "items": [
                    {"key": "om", "level": "overgripande_mal", "malomrade": "patient", "owner": "region",
                     "plan": "regionplan", "name": "Mål"},
                    *[
                        {"key": f"m{n}", "level": "mal", "parent": "om", "owner": "hs", "plan": "regionplan",
                         "name": f"Mål {n}"}
                        for n in range(10)
                    ],
                ],
            }
        )
    )  # fmt: skip


def statuses(*values: str) -> dict[str, Reported]:
    return {f"m{n}": Reported(f"m{n}", value, "x") for n, value in enumerate(values)}


@pytest.mark.parametrize(
    ("rule", "reported", "expected"),
    [
        pytest.param({"rule": "worst"}, ["gron"] * 9 + ["gul"], "gul", id="worst-one-yellow"),
        pytest.param({"rule": "worst"}, ["gron"] * 8 + ["ej_matbar", "rod"], "rod", id="worst-one-red"),
        pytest.param({"rule": "worst"}, ["ej_matbar"] * 10, None, id="worst-nothing-measurable"),
        pytest.param({"rule": "threshold", "red_share": 0.3, "yellow_share": 0.5}, ["rod"] * 3 + ["gron"] * 7,
                     "rod", id="threshold-red-at-its-share"),
        pytest.param({"rule": "threshold", "red_share": 0.3, "yellow_share": 0.5}, ["rod"] * 2 + ["gul"] * 3 +
                     ["gron"] * 5, "gul", id="threshold-yellow-counts-red"),
        pytest.param({"rule": "threshold", "red_share": 0.3, "yellow_share": 0.5}, ["gul"] * 4 + ["gron"] * 6,
                     "gron", id="threshold-below-both"),
    ],
)  # fmt: skip
def test_the_rule_of_a_level(region_definition, rule, reported, expected):
    plan = small_plan(rule)
    result = roll_up(plan, region_definition.organisation, statuses(*reported), period="T1")
    assert result.derived == {"om": expected}
    distribution = derived_distribution(plan, result, "overgripande_mal")
    assert distribution.total == 1 and distribution.count(expected or "ej_rapporterad") == 1


def test_counts_shares_coverage_and_who_has_not_reported(region_definition):
    plan = small_plan({"rule": "count"})
    result = roll_up(plan, region_definition.organisation, statuses("gron", "gul", "rod", "ej_matbar"), period="T1")
    level = result.levels["mal"]
    assert [level.count(s) for s in ("gron", "gul", "rod", "ej_matbar", "ej_rapporterad")] == [1, 1, 1, 1, 6]
    assert level.share("ej_rapporterad") == 0.6 and result.coverage == 0.4
    assert result.not_reported == {"hs": 6} and result.derived == {}
    assert result.units["region"]["mal"].total == 10 and result.units["hs"]["mal"].total == 10


def test_early_warning_needs_two_periods(region_definition):
    plan = small_plan({"rule": "count"})
    before = statuses("gul", "gul", "gron", "rod")
    now = statuses("gul", "rod", "rod", "rod")
    result = roll_up(plan, region_definition.organisation, now, period="T2", previous=before)
    warnings = {w.item: w.reason for w in early_warnings(plan, result)}
    assert warnings == {"m0": "yellow_twice", "m1": "turned_red", "m2": "turned_red"}  # m3 was red already
    assert early_warnings(plan, roll_up(plan, region_definition.organisation, now, period="T1")) == []
