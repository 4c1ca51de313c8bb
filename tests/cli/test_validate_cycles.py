"""`validate` never says OK about a folder it could not fully check; `plan` for a year
without meeting files is one located message and exit code 2; option errors are Swedish."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from arshjul.cli import app
from tests.conftest import SMALL_ORG

runner = CliRunner()


def test_validate_without_cycles_names_what_it_could_not_check():
    result = runner.invoke(app, ["validate", str(SMALL_ORG)])
    assert result.exit_code == 1
    assert "OK" not in result.output
    assert "Kunde inte kontrolleras" in result.output
    assert "cykel 2026: meetings-2025.yaml: filen saknas" in result.output
    assert "cykel 2028: meetings-2029.yaml: filen saknas" in result.output
    assert "arshjul.yaml:14" in result.output  # the first rule that needs the file
    assert "cykel 2027 planerad utan fel" in result.output


def test_validate_told_which_cycles_passes():
    result = runner.invoke(app, ["validate", str(SMALL_ORG), "--cycles", "2027"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_validate_asked_for_an_uncheckable_cycle_fails_with_two():
    result = runner.invoke(app, ["validate", str(SMALL_ORG), "--cycles", "2027..2028"])
    assert result.exit_code == 2
    assert "meetings-2029.yaml: filen saknas" in result.output


def test_validate_a_folder_without_meeting_files_is_not_ok(tmp_path):
    for name in ("organisation.yaml", "arshjul.yaml"):
        (tmp_path / name).write_text((SMALL_ORG / name).read_text())
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code != 0
    assert "OK" not in result.output
    assert "Traceback" not in result.output


def test_plan_for_a_year_without_meetings_is_one_located_message_per_file():
    result = runner.invoke(app, ["plan", "2031", "--org", str(SMALL_ORG)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0] == "Cykel 2031 kan inte planeras:"
    assert len(lines) == 4  # meetings-2030, -2031 and -2032, each once
    assert all("filen saknas" in line and "arshjul.yaml:" in line for line in lines[1:])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["plan", "--bogus", "2027"], "okänt alternativ --bogus"),
        (["plan", "abc"], "ogiltigt planår 'abc'"),
        (["plan"], "'YEARS' saknas"),
        (["wheel", "2027"], "'--out' saknas"),
        (["plan", "2027", "--format"], "--format behöver ett värde"),
        (["nosuch"], "okänt kommando 'nosuch'"),
        (["plan", "2027", "extra"], "för många argument (extra)"),
        (["validate", "--cycles", "2030..2027"], "intervallet slutar före det börjar"),
    ],
    ids=[
        "unknown-option",
        "not-an-integer",
        "missing-argument",
        "missing-option",
        "option-without-value",
        "unknown-command",
        "extra-argument",
        "backwards-range",
    ],
)
def test_option_errors_are_swedish_with_exit_code_two(args, expected):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Error" not in result.output and "Usage" not in result.output and "Traceback" not in result.output


# -- several years at once ----------------------------------------------------------------

KOMMUN = SMALL_ORG.parent / "kommun"


@pytest.fixture(scope="module")
def period_plan():
    import json

    result = runner.invoke(app, ["plan", "2027..2030", "--org", str(KOMMUN), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("year", "step", "unit", "due", "meeting", "tentative"),
    [
        ("2027", "delarsrapport", "sn", "2027-09-03", "2027-09-08", False),  # decided meeting plan
        ("2029", "budgetdirektiv", "kommun", "2028-05-05", "2028-05-16", False),  # rests on 2028's decided plan
        ("2028", "arsredovisning", "kommun", "2029-04-09", "2029-04-23", True),  # KF's usual rhythm in 2029
        ("2029", "delarsrapport", "sn", "2029-09-04", "2029-09-12", True),  # SN's second Wednesday, 2029
        ("2030", "delarsrapport", "kfn", "2030-09-04", "2030-09-05", True),
    ],
    ids=["decided-2027", "decided-2028-meeting", "tentative-kf-2029", "tentative-sn-2029", "tentative-kfn-2030"],
)
def test_a_plan_over_several_years_marks_what_is_tentative(period_plan, year, step, unit, due, meeting, tentative):
    [row] = [r for r in period_plan if r["year"] == int(year) and r["step"] == step and r["unit"] == unit]
    assert (row["due"], row["meeting"], row["tentative"]) == (due, meeting, tentative)


def test_a_plan_over_several_years_has_the_templates_of_each_year(period_plan):
    assert {r["year"] for r in period_plan} == {2027, 2028, 2029, 2030}
    assert sorted((r["year"], r["step"]) for r in period_plan if r["step"] in ("lup_revision", "policyoversyn")) == [
        (2027, "lup_revision"),  # every fourth year from 2027
        (2028, "policyoversyn"),  # the second year of the 2027–2030 mandate period
    ]
    table = runner.invoke(app, ["plan", "2029", "--org", str(KOMMUN)])
    assert table.exit_code == 0 and "(prel.)" in table.output and "preliminärt" in table.output
