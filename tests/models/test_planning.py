"""Deadline resolution and cycle planning on the small organisation (dates worked out by hand)."""

import datetime as dt

import pytest
import yaml

from models.planned import filter_steps
from models.planning import plan_cycle
from models.validation import load_definition

D = dt.date


@pytest.fixture(scope="module")
def plan(small_definition):
    return {step.key: step for step in plan_cycle(small_definition, 2027)}


def test_fixed_date_rolls_to_next_working_day_for_opening(plan):
    regionplan = plan["regionplan:region"]
    assert regionplan.opens == D(2026, 1, 12)  # Y-1-01-11 is a Sunday


def test_deadline_relative_to_meeting(plan):
    regionplan = plan["regionplan:region"]
    # Ten working days before RF's June 2026 meeting (Tue 16 June).
    assert regionplan.meeting == D(2026, 6, 16)
    assert regionplan.due == D(2026, 6, 2)
    assert regionplan.nominal_due is None
    assert regionplan.decided_by == "rf" and regionplan.decider == "sigrid.sekreterare"


def test_meeting_offset_skips_easter(plan):
    # Ten working days before RF's meeting on 18 April 2028, across Good Friday and Easter Monday.
    assert plan["arsredovisning:region"].due == D(2028, 3, 31)
    assert plan["arsredovisning:region"].meeting == D(2028, 4, 18)


def test_deadline_on_julafton_moves_to_previous_working_day(plan):
    unit_plan = plan["enhet_verksamhetsplan:enh_a1"]
    assert unit_plan.due == D(2026, 12, 23)
    assert unit_plan.nominal_due == D(2026, 12, 24)


def test_recurring_monthly_report(plan):
    february = plan["manadsrapport@2027-02:region"]
    may = plan["manadsrapport@2027-05:region"]
    assert february.name == "Månadsrapport per februari 2027"
    assert february.period == "2027-02"
    assert february.opens == D(2027, 2, 22)  # five working days before Sunday 28 Feb
    assert february.due == D(2027, 3, 8)  # the working day before RS's first meeting after the month
    assert february.meeting == D(2027, 3, 9)
    assert (may.opens, may.due, may.meeting) == (D(2027, 5, 24), D(2027, 5, 31), D(2027, 6, 1))


def test_recurring_on_every_meeting(plan):
    reports = sorted((s for s in plan.values() if s.step == "rapport_till_rf"), key=lambda s: s.due)
    assert [s.period for s in reports] == ["2027-02-16", "2027-06-15", "2027-11-23"]
    assert [s.due for s in reports] == [D(2027, 2, 11), D(2027, 6, 10), D(2027, 11, 18)]
    assert reports[0].name == "Rapport till regionfullmäktige – 16 februari 2027"


def test_deadline_relative_to_other_steps(plan):
    administration = plan["tertialrapport_forvaltning:fv"]
    assert administration.opens == D(2027, 5, 14)
    assert administration.due == D(2027, 5, 21)  # five working days after the area reports


def test_dependencies_resolve_through_the_tree(plan):
    assert plan["enhet_verksamhetsplan:enh_a1"].depends_on == ["omrade_verksamhetsplan:omr_a"]
    assert plan["enhet_verksamhetsplan:enh_b1"].depends_on == ["omrade_verksamhetsplan:omr_b"]
    assert sorted(plan["tertialrapport_forvaltning:fv"].depends_on) == [
        "tertialrapport_omrade:omr_a",
        "tertialrapport_omrade:omr_b",
    ]
    assert plan["rs_verksamhetsplan:rs"].depends_on == ["regionplan:region"]


def test_owners_and_deciders_follow_roles(plan):
    unit_plan = plan["enhet_verksamhetsplan:enh_b1"]
    assert unit_plan.owner == "emil.b1"
    assert (unit_plan.decided_by, unit_plan.decided_by_kind, unit_plan.decider) == (
        "overordnad_linjechef",
        "role",
        "otto.b",
    )
    board_plan = plan["rs_verksamhetsplan:rs"]
    assert board_plan.owner == "frida.forvaltning"  # förvaltningschef of the administration serving RS
    assert (board_plan.decided_by, board_plan.decided_by_kind) == ("rs", "body")


def test_reminders_and_escalation_ladder(plan):
    unit_plan = plan["enhet_verksamhetsplan:enh_a1"]
    assert unit_plan.reminders == [D(2026, 12, 16), D(2026, 12, 22)]  # 5 and 1 working days before 23 Dec
    ladder = [(e.after, e.on, e.alert, e.person) for e in unit_plan.escalation]
    assert ladder == [
        (1, D(2026, 12, 28), "owner_manager", "olle.a"),
        (3, D(2026, 12, 30), "forvaltningschef", "frida.forvaltning"),
    ]


def test_every_due_is_a_working_day_and_after_opening(small_definition, plan):
    calendar = small_definition.organisation.calendar
    for step in plan.values():
        assert calendar.is_working_day(step.due), step.key
        assert step.opens <= step.due, step.key


def test_plan_is_deterministic(small_definition):
    first = [(s.key, s.opens, s.due, s.uid) for s in plan_cycle(small_definition, 2027)]
    second = [(s.key, s.opens, s.due, s.uid) for s in plan_cycle(small_definition, 2027)]
    assert first == second
    assert len({uid for _, _, _, uid in first}) == len(first)


def test_filters(small_definition):
    steps = plan_cycle(small_definition, 2027)
    org = small_definition.organisation
    in_area_a = filter_steps(steps, org, unit="omr_a")
    assert {s.unit for s in in_area_a} == {"omr_a", "enh_a1"}
    by_role = filter_steps(steps, org, role="enhetschef")
    assert {s.step for s in by_role} == {"enhet_verksamhetsplan"}
    deciders = filter_steps(steps, org, role="overordnad_linjechef")
    assert {s.key for s in deciders} == {"enhet_verksamhetsplan:enh_a1", "enhet_verksamhetsplan:enh_b1"}
    person = filter_steps(steps, org, person="otto.b")
    assert {s.key for s in person} == {
        "omrade_verksamhetsplan:omr_b",
        "tertialrapport_omrade:omr_b",
        "enhet_verksamhetsplan:enh_b1",
    }


def _edit_template(folder, key, **changes):
    path = folder / "arshjul.yaml"
    data = yaml.safe_load(path.read_text())
    for template in data["steps"]:
        if template["key"] == key:
            template.update(changes)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


@pytest.mark.parametrize(
    "roll, due, nominal",
    [
        (None, D(2027, 3, 25), D(2027, 3, 26)),  # Good Friday → Maundy Thursday
        ("next", D(2027, 3, 30), D(2027, 3, 26)),  # → the Tuesday after Easter Monday
        ("none", D(2027, 3, 26), None),  # kept where it is
    ],
)
def test_roll_is_chosen_by_the_template(small_copy, roll, due, nominal):
    rule = {"date": "Y-03-26"} | ({"roll": roll} if roll else {})
    _edit_template(small_copy, "tertialrapport_omrade", opens={"date": "Y-03-01"}, due=rule)
    _edit_template(small_copy, "tertialrapport_forvaltning", opens={"date": "Y-03-01"}, due={"date": "Y-04-15"})
    definition = load_definition(small_copy, check_cycles=False)
    step = next(s for s in plan_cycle(definition, 2027) if s.key == "tertialrapport_omrade:omr_a")
    assert (step.due, step.nominal_due) == (due, nominal)


def test_plan_year_without_meetings_is_a_located_error(small_definition):
    from models.planned import PlanningError

    with pytest.raises(PlanningError) as caught:
        plan_cycle(small_definition, 2029)
    messages = [str(issue) for issue in caught.value.issues]
    # One message per missing file, naming the first rule that needs it and where.
    assert messages[0].startswith("meetings-2029.yaml: filen saknas")
    assert "arshjul.yaml:99" in messages[0]
    assert len(messages) == 2 and messages[1].startswith("meetings-2030.yaml: filen saknas")
