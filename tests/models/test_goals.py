"""The goal structure as data: goals-YYYY.yaml, checked with file, line and field."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

from models.definition import DefinitionError
from models.goals import GoalPlan
from models.validation import load_definition
from tests.conftest import REGION_ORG

BROKEN = """year: 2027
malomraden:
  - {key: patient, name: Patient}
levels:
  - {key: overgripande_mal, name: Övergripande mål}
  - {key: uppdrag, name: Uppdrag, scale: mal, rollup: {rule: threshold}}
  - {key: mal, name: Mål, scale: mal}
periods:
  - {key: T1, name: Tertial 1, as_of: Y-04-31, steps: [tertialrapport_rs]}
  - {key: T2, name: Delår, as_of: Y-08-31, steps: [ingen_sadan_rapport]}
items:
  - {key: om1, level: overgripande_mal, owner: regionfullmaktige, plan: regionplan, name: Ett mål}
  - {key: u1, level: uppdrag, parent: om1, owner: ingen_enhet, plan: rs_verksamhetsplan, name: Ett uppdrag}
  - {key: m1, level: mal, parent: okant, owner: regionstyrelsen, plan: rs_verksamhetsplan, name: Ett mål}
  - {key: m2, level: uppdrag, parent: m3, owner: regionstyrelsen, plan: tertialrapport_rs, name: Mål två}
  - {key: m3, level: mal, parent: u1, owner: regionstyrelsen, plan: rs_verksamhetsplan, name: Mål tre,
     indicator: {name: Andel, unit: "%", target: 5, direction: upp}, colour: red}
"""


def test_the_region_plan_follows_seed_003(region_definition):
    plan = region_definition.goals[2027]
    levels = Counter(item.level for item in plan.source.items)
    assert levels == {"overgripande_mal": 6, "uppdrag": 20, "mal": 58, "aktivitet": 63}
    assert set(plan.malomraden) == {"samhalle", "patient", "medarbetare", "verksamhetsresultat"}
    assert len(plan.reported) == 141
    # The röd tråd both ways: from an activity up to RF's goal, and from the goal down.
    assert plan.ancestors("a_fastighetsinventering") == ["m_fastighetsplan_remiss", "u_fastighetsplan", "om_ekonomi"]
    assert "a_fastighetsinventering" in plan.children["m_fastighetsplan_remiss"]
    assert plan.malomrade_of["a_fastighetsinventering"] == "verksamhetsresultat"
    assert plan.body_of("a_fastighetsinventering", region_definition.organisation) == "regionstyrelsen"
    assert plan.period_of_step("delarsrapport_rs").key == "T2"


def test_the_plan_survives_storage_as_json(region_definition):
    plan = region_definition.goals[2027]
    again = GoalPlan.from_json(plan.to_json())
    assert again.source == plan.source


def test_every_error_in_a_goals_file_is_located(tmp_path):
    folder = tmp_path / "org"
    shutil.copytree(REGION_ORG, folder)
    (folder / "goals-2027.yaml").write_text(BROKEN, encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_definition(folder, check_cycles=False)
    issues = [str(issue) for issue in caught.value.issues]
    expected = [
        "goals-2027.yaml:6: levels[1].rollup: ",  # threshold without its limits
        "goals-2027.yaml:9: periods[0].as_of: ",  # 31 April
        "goals-2027.yaml:17: items[4].indicator.direction: ",
        "goals-2027.yaml:17: items[4].colour: okänt fält",
    ]
    for start in expected:
        assert any(issue.startswith(start) for issue in issues), (start, issues)
    # The references are checked once the schema is sound.
    (folder / "goals-2027.yaml").write_text(
        BROKEN.replace(", rollup: {rule: threshold}", "")
        .replace("Y-04-31", "Y-04-30")
        .replace("direction: upp}, colour: red}", "direction: higher}}"),
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError) as caught:
        load_definition(folder, check_cycles=False)
    issues = [str(issue) for issue in caught.value.issues]
    assert issues == [
        "goals-2027.yaml:10: periods[1].steps: okänt steg 'ingen_sadan_rapport' i årshjulet",
        "goals-2027.yaml:12: items[0]: [om1] ett mål överst i trädet behöver ett malomrade",
        "goals-2027.yaml:13: items[1].owner: okänd enhet eller okänt organ 'ingen_enhet'",
        "goals-2027.yaml:14: items[2].parent: okänt mål 'okant'",
        "goals-2027.yaml:15: items[3].plan: 'tertialrapport_rs' är inget planeringssteg (kind: plan)",
        "goals-2027.yaml:15: items[3].parent: 'm3' (mal) ligger inte ovanför nivån uppdrag i målträdet",
    ]


def test_a_goals_file_for_another_year_than_its_name(tmp_path):
    folder = tmp_path / "org"
    shutil.copytree(REGION_ORG, folder)
    (folder / "goals-2027.yaml").rename(folder / "goals-2028.yaml")
    with pytest.raises(DefinitionError) as caught:
        load_definition(folder, check_cycles=False)
    assert [str(i) for i in caught.value.issues] == [
        "goals-2028.yaml:6: year: året 2027 stämmer inte med filnamnet (2028)"
    ]
