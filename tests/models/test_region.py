"""The region's own årshjul: it validates, and cycle 2027 holds every document of the
rulebook (shared/domain/arshjul-reference.csv) at every level it applies to."""

import csv
import datetime as dt
import json
from pathlib import Path

import holidays
import pytest
from typer.testing import CliRunner

from arshjul.cli import app
from arshjul.core.settings import DEFAULT_ORGANISATION  # named: another test may leave ARSHJUL_ORG set

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "domain" / "arshjul-reference.csv"
LEVELS = {
    "län": "lan",
    "region": "region",
    "nämnd": "namnd",
    "förvaltning": "forvaltning",
    "område": "omrade",
    "avdelning": "avdelning",
    "enhet": "enhet",
}
MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "maj": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "okt": 10,
    "nov": 11,
    "dec": 12,
}


@pytest.fixture(scope="module")
def plan_2027():
    result = CliRunner().invoke(app, ["plan", "2027", "--org", str(DEFAULT_ORGANISATION), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def reference_rows():
    if not REFERENCE.exists():
        pytest.skip(f"the domain reference is not beside the project ({REFERENCE})")
    with REFERENCE.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def instances_for(plan, key):
    """A CSV row's instances: same key, or a recurring template's occurrence in that month."""
    exact = [r for r in plan if r["step"] == key]
    if exact:
        return exact
    base, _, month = key.rpartition("_")
    if month in MONTHS:
        return [r for r in plan if r["step"] == base and r["period"] and int(r["period"][5:7]) == MONTHS[month]]
    return []


def test_region_validates():
    result = CliRunner().invoke(app, ["validate", str(DEFAULT_ORGANISATION), "--cycles", "2027"])
    assert result.exit_code == 0, result.output
    assert "cykel 2027 planerad utan fel" in result.output


def test_every_reference_document_is_planned_at_each_of_its_levels(plan_2027):
    missing = []
    for row in reference_rows():
        found = instances_for(plan_2027, row["key"])
        if not found:
            missing.append(row["key"])
            continue
        wanted = {LEVELS[level] for level in row["level"].split(";") if level}
        have = {r["level"] for r in found}
        if not wanted <= have:
            missing.append(f"{row['key']} at {sorted(wanted - have)}")
    assert missing == []


def test_no_deadline_on_a_non_working_day(plan_2027):
    swedish = holidays.country_holidays("SE", years=[2026, 2027, 2028], categories=("public", "de_facto"))
    for row in plan_2027:
        due = dt.date.fromisoformat(row["due"])
        assert due.weekday() < 5, row
        assert due not in swedish, (row["step"], row["unit"], due, swedish.get(due))
    de_facto = {d for d, name in swedish.items() if name in ("Midsummer Eve", "Christmas Eve", "New Year's Eve")}
    assert {dt.date(2026, 12, 24), dt.date(2027, 6, 25), dt.date(2027, 12, 31)} <= de_facto


def test_every_unit_has_its_own_steps(plan_2027, region_definition):
    org = region_definition.organisation
    own = {row["unit"] for row in plan_2027}
    assert set(org.units) <= own
    unit_plans = {row["unit"] for row in plan_2027 if row["step"] == "enhet_verksamhetsplan"}
    assert unit_plans == {key for key, unit in org.units.items() if unit.level == "enhet"}
    area_plans = {row["unit"] for row in plan_2027 if row["step"] == "omrade_verksamhetsplan"}
    assert area_plans == {key for key, unit in org.units.items() if unit.level in ("omrade", "avdelning")}


def test_the_cycle_runs_from_planning_premises_to_the_annual_report(plan_2027):
    years = {row["due"][:4] for row in plan_2027}
    assert years == {"2026", "2027", "2028"}
    premises = next(r for r in plan_2027 if r["step"] == "planeringsforutsattningar")
    annual = next(r for r in plan_2027 if r["step"] == "arsredovisning")
    assert premises["opens"].startswith("2026") and annual["due"].startswith("2028")
    assert annual["decided_by"] == "regionfullmaktige" and annual["meeting"].startswith("2028-04")


def test_unit_plans_are_owned_and_decided_in_the_line(plan_2027, region_definition):
    org = region_definition.organisation
    for row in plan_2027:
        if row["step"] == "enhet_verksamhetsplan":
            unit = org.units[row["unit"]]
            assert row["owner"] == unit.manager
            assert row["decider"] == org.units[unit.parent].manager  # överordnad linjechef
