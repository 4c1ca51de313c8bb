"""The rules a second organisation needed (tests/fixtures/kommun, dates worked out by
hand): meeting plans as rules with exceptions, a fixed deadline decided at the body's
next meeting, milestones of an external calendar, a role named per unit, a unit's
dependency on a body's step through the body's förvaltning, escalation climbing the
tree, templates that recur over the years, and rule errors located at their line."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from models.definition import DefinitionError
from models.meeting_rules import rule_dates
from models.planning import CyclePlanner, plan_cycle
from models.rules import RuleError
from models.validation import load_definition

D = dt.date
KOMMUN = Path(__file__).parents[1] / "fixtures" / "kommun"


@pytest.fixture(scope="module")
def kommun():
    return load_definition(KOMMUN)


@pytest.fixture(scope="module")
def plan(kommun):
    return {step.key: step for step in plan_cycle(kommun, 2027)}


@pytest.fixture
def kommun_copy(tmp_path) -> Path:
    target = tmp_path / "kommun"
    shutil.copytree(KOMMUN, target)
    return target


def issues_of(folder: Path) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_definition(folder)
    return [str(issue) for issue in caught.value.issues]


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


# -- meeting plans as rules -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "year", "dates"),
    [
        (
            "ks",  # third Tuesday of each month except July
            2027,
            ["01-19", "02-16", "03-16", "04-20", "05-18", "06-15", "08-17", "09-21", "10-19", "11-16", "12-21"],
        ),
        ("kfn", 2027, ["03-04", "05-11", "09-02", "10-21", "12-02"]),  # 6 May (Ascension) moved to 11 May
        ("kf", 2026, ["02-23", "04-27", "06-22", "10-26", "11-23"]),  # fourth Monday of five months
        ("sn", 2028, ["02-09", "03-08", "04-12", "05-10", "06-14", "08-09", "09-13", "10-11", "11-08", "12-13"]),
    ],
    ids=["ks-third-tuesday-except-july", "kfn-exception-and-extra", "kf-fourth-monday", "sn-second-wednesday"],
)
def test_meeting_rules_expand_to_the_dates_plan_lists(kommun, body, year, dates):
    assert [m.date for m in kommun.meetings[year].dates(body)] == [D.fromisoformat(f"{year}-{d}") for d in dates]


def test_rule_dates_are_the_rrule_days_of_the_year():
    assert rule_dates("FREQ=YEARLY;BYMONTH=6;BYDAY=+1MO", 2027) == [D(2027, 6, 7)]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=MONTHLY;BYDAY=+3XX", "går inte att tolka"),
        ("FREQ=MONTHLY;COUNT=3", "COUNT eller UNTIL"),
        ("third tuesday", "ingen RRULE"),
    ],
    ids=["bad-weekday", "count", "not-an-rrule"],
)
def test_a_bad_meeting_rule_is_located(kommun_copy, rule, message):
    path = kommun_copy / "meetings-2027.yaml"
    path.write_text(path.read_text().replace("FREQ=MONTHLY;BYDAY=+3TU", rule))
    issues = issues_of(kommun_copy)
    assert any(i.startswith(f"meetings-2027.yaml:{line_of(path, rule)}:") and message in i for i in issues), issues


def test_a_rule_date_on_a_holiday_is_reported(kommun_copy):
    path = kommun_copy / "meetings-2027.yaml"
    path.write_text(path.read_text().replace("    except: [2027-05-06]", "    except: []"))
    assert any("2027-05-06 är ingen arbetsdag (Kristi himmelsfärdsdag)" in i for i in issues_of(kommun_copy))


# -- deadlines, meetings, milestones --------------------------------------------------------


@pytest.mark.parametrize(
    ("instance", "opens", "due", "meeting"),
    [
        # SKR's April forecast (Thu 23 Apr 2026) + 5 working days, across 1 May; KS's next meeting.
        ("budgetdirektiv:kommun", D(2026, 2, 2), D(2026, 4, 30), D(2026, 5, 19)),
        # Fixed 4 Sep 2027 (a Saturday) rolls to Friday 3 Sep; decided at the nämnd's next meeting.
        ("delarsrapport:sn", D(2027, 8, 17), D(2027, 9, 3), D(2027, 9, 8)),
        ("delarsrapport:kfn", D(2027, 8, 17), D(2027, 9, 3), D(2027, 10, 21)),
        # Ten working days before the nämnd's first September meeting (SN: Wed 9 Sep 2026).
        ("namndbudget:sn", D(2026, 5, 4), D(2026, 8, 26), D(2026, 9, 9)),
        ("namndbudget:kfn", D(2026, 5, 4), D(2026, 8, 20), D(2026, 9, 3)),
        # Monthly: five working days before KS's first meeting after the month's end.
        ("manadsuppfoljning@2027-04:kommun", D(2027, 4, 27), D(2027, 5, 11), D(2027, 5, 18)),
        ("manadsuppfoljning@2027-11:kommun", D(2027, 11, 25), D(2027, 12, 14), D(2027, 12, 21)),
    ],
    ids=[
        "milestone-decided-at",
        "fixed-date-decided-at-sn",
        "fixed-date-decided-at-kfn",
        "self-meeting-sn",
        "self-meeting-kfn",
        "monthly-april",
        "monthly-november",
    ],
)
def test_dates_of_the_second_organisation(plan, instance, opens, due, meeting):
    step = plan[instance]
    assert (step.opens, step.due, step.meeting) == (opens, due, meeting)


def test_no_monthly_report_in_july_or_december(plan):
    periods = sorted(s.period for s in plan.values() if s.step == "manadsuppfoljning")
    assert periods == [
        "2027-01",
        "2027-02",
        "2027-03",
        "2027-04",
        "2027-05",
        "2027-08",
        "2027-09",
        "2027-10",
        "2027-11",
    ]


def test_an_unknown_milestone_is_located(kommun_copy):
    path = kommun_copy / "arshjul.yaml"
    path.write_text(path.read_text().replace("milestone: skatteunderlag,", "milestone: skatteprognos,"))
    line = line_of(path, "milestone: skatteprognos")
    assert any(
        i.startswith(f"arshjul.yaml:{line}:") and "okänd milstolpe 'skatteprognos'" in i for i in issues_of(kommun_copy)
    )


def test_a_missing_calendar_file_is_located(kommun_copy):
    (kommun_copy / "skr-tidplan.ics").unlink()
    line = line_of(kommun_copy / "organisation.yaml", "file: skr-tidplan.ics")
    assert f"organisation.yaml:{line}: calendars[0].file: skr-tidplan.ics: filen finns inte i organisationens mapp" in (
        issues_of(kommun_copy)
    )


# -- people -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instance", "owner", "decider"),
    [
        ("namndbudget:sn", "sara.socialchef", "stina.sekreterare"),  # the socialdirektör
        ("namndbudget:kfn", "karl.kulturchef", "stina.sekreterare"),  # the kulturchef
        ("avdelningsplan:ifo", "ivar.ifo", "sara.socialchef"),  # decided by its förvaltning's director
        ("avdelningsplan:bibliotek", "bo.bibliotek", "karl.kulturchef"),
    ],
    ids=["per-unit-sn", "per-unit-kfn", "per-unit-decider-sof", "per-unit-decider-kff"],
)
def test_a_role_held_by_a_named_person_per_unit(plan, instance, owner, decider):
    assert (plan[instance].owner, plan[instance].decider) == (owner, decider)


@pytest.mark.parametrize(
    ("instance", "stages"),
    [
        ("avdelningsplan:bibliotek", ["karl.kulturchef", "kim.kommundirektor"]),  # manager, then manager's manager
        ("avdelningsplan:ifo", ["sara.socialchef", "kim.kommundirektor"]),
        ("namndbudget:kfn", ["kim.kommundirektor", "kim.kommundirektor"]),  # the top stays the top
    ],
    ids=["climbs-two", "climbs-two-sof", "top-of-tree"],
)
def test_escalation_stages_climb_the_tree(plan, instance, stages):
    assert [stage.person for stage in plan[instance].escalation] == stages


@pytest.mark.parametrize(
    ("instance", "depends_on"),
    [
        ("avdelningsplan:ifo", ["namndbudget:sn"]),  # socialförvaltningen administers SN
        ("avdelningsplan:aldreomsorg", ["namndbudget:sn"]),
        ("avdelningsplan:bibliotek", ["namndbudget:kfn"]),  # not the health-and-care committee's plan
    ],
    ids=["ifo-sn", "aldreomsorg-sn", "bibliotek-kfn"],
)
def test_a_units_dependency_on_a_body_step_goes_through_its_administration(plan, instance, depends_on):
    assert plan[instance].depends_on == depends_on


# -- over the years ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "lup", "policy"),
    [(2027, True, False), (2028, False, True), (2029, False, False), (2031, True, False), (2032, False, True)],
    ids=["2027", "2028", "2029", "2031", "2032"],
)
def test_templates_that_recur_every_n_years_or_once_per_mandate_period(kommun, year, lup, policy):
    planner = CyclePlanner(kommun, year)
    assert planner.in_this_cycle(kommun.templates["lup_revision"]) is lup
    assert planner.in_this_cycle(kommun.templates["policyoversyn"]) is policy


def test_a_year_outside_every_mandate_period_is_an_error(kommun):
    with pytest.raises(RuleError, match="ingen mandatperiod"):
        CyclePlanner(kommun, 2040).in_this_cycle(kommun.templates["policyoversyn"])


# -- rule errors at their line ----------------------------------------------------------------


def test_a_deadline_before_a_needed_step_is_reported_at_its_rule(kommun_copy):
    path = kommun_copy / "arshjul.yaml"
    text = path.read_text().replace("due: {date: Y-1-12-11}", "due: {date: Y-1-08-14}")
    path.write_text(text.replace("opens: {date: Y-1-10-01}", "opens: {date: Y-1-06-01}"))
    line = line_of(path, "due: {date: Y-1-08-14}")
    issues = issues_of(kommun_copy)
    expected = f"arshjul.yaml:{line}: steps[2].due: [avdelningsplan] deadline 2026-08-14 ligger före deadline"
    assert any(i.startswith(expected) and "'namndbudget' (depends_on, rad" in i for i in issues), issues


def test_an_opening_before_a_needed_step_is_reported_at_its_rule(kommun_copy):
    path = kommun_copy / "arshjul.yaml"
    path.write_text(path.read_text().replace("opens: {date: Y-1-10-01}", "opens: {date: Y-1-03-02}"))
    line = line_of(path, "opens: {date: Y-1-03-02}")
    issues = issues_of(kommun_copy)
    expected = f"arshjul.yaml:{line}: steps[2].opens: [avdelningsplan] öppningen 2026-03-02 ligger före öppningen"
    assert any(i.startswith(expected) for i in issues), issues


# -- milestones where people see the plan ---------------------------------------------------


def test_milestones_appear_in_the_plan_its_calendar_and_the_wheel(kommun, plan):
    from arshjul.views.plan_output import render_ics, render_table
    from arshjul.views.wheel import render_wheel

    steps = list(plan.values())
    ics = render_ics(steps, kommun, year=2027, now=dt.datetime(2027, 1, 4, tzinfo=dt.UTC)).decode()
    assert "SUMMARY:Milstolpe: Skatteunderlagsprognos april (SKR:s tidplan)" in ics.replace("\r\n ", "")
    assert "UID:milstolpe.skr-2027-04@skr.example@storsjo-kommun" in ics.replace("\r\n ", "")
    caption = render_table(steps, kommun, title="x").caption
    assert "2026-04-23 Skatteunderlagsprognos april (SKR:s tidplan)" in caption
    svg = render_wheel(steps, kommun, year=2027)
    assert svg.count('class="milestone"') == 6 and 'data-date="2027-09-20"' in svg
