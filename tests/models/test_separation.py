"""Nobody decides a step they own or submitted: planning reroutes such a step and the
validator says so; the rules refuse the owner and the submitter as deciders."""

from models.permissions import allowed_actions, excluded_deciders
from models.planning import plan_cycle
from models.separation import decision_conflicts
from models.states import Action
from models.tables import StepInstance, StepState


def test_a_step_whose_decider_owns_it_goes_to_the_deciders_manager_or_standin(region_definition):
    warnings = decision_conflicts(region_definition)
    assert warnings and all("beslutet går i stället till" in str(issue) for issue in warnings)
    assert any("[rd_direktiv]" in str(issue) for issue in warnings)
    for step in plan_cycle(region_definition, 2027):
        assert step.decider is None or step.decider != step.owner, step.key


def test_the_small_organisation_has_no_such_template(small_definition):
    assert decision_conflicts(small_definition) == []


def test_owner_and_submitter_may_not_decide(small_definition):
    from models.people import Directory, Member

    def member(key, standin=None):
        return Member(key, key, f"{key}@example.se", None, standin, None, "weekly")

    directory = Directory("x", {k: member(k) for k in ("owner", "decider", "other")})
    directory.members["owner"] = member("owner", standin="decider")
    step = StepInstance(
        id=1, key="k", step="s", name="n", kind="plan", process="p", level="l", unit="u", unit_name="U",
        owner_role="r", owner="owner", decided_by="role", decided_by_kind="role", decider="decider",
        opens="2027-01-01", due="2027-02-01", uid="u", cycle_id=1, state=StepState.submitted,
        submitted_by="decider",
    )  # fmt: skip
    assert excluded_deciders(step) == {"owner", "decider"}
    assert allowed_actions(step, "decider", directory) == frozenset()  # the stand-in submitted it
    assert allowed_actions(step, "owner", directory) == frozenset()
    step.submitted_by = "owner"
    assert allowed_actions(step, "decider", directory) == {Action.approve, Action.send_back}
