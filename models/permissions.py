"""Who may do what with a step, now: the owner (or their stand-in) submits while the step
waits for them; the decider (the body's secretary or the role holder, or their stand-in)
approves or returns a submitted step. Nobody decides a step they own or submitted.

Pure: the step row and the organisation's directory in, an answer out. The rules that
refuse an action (`models.steps`), the actions a link in a mail carries
(`notifications.facts`), the web page's form and the Prefect form all ask here."""

from __future__ import annotations

from models.people import Directory
from models.states import Action, awaits_owner, has_decider
from models.tables import StepInstance, StepState


def excluded_deciders(step: StepInstance) -> set[str]:
    """Who may not decide this step: whoever owns it and whoever submitted it."""
    return {key for key in (step.owner, step.submitted_by) if key}


def may_submit(step: StepInstance, person: str, directory: Directory) -> bool:
    return awaits_owner(StepState(step.state)) and step.owner is not None and directory.may_act_for(person, step.owner)


def may_decide(step: StepInstance, person: str, directory: Directory) -> bool:
    return (
        StepState(step.state) is StepState.submitted
        and has_decider(step)
        and step.decider is not None
        and person not in excluded_deciders(step)
        and directory.may_act_for(person, step.decider)
    )


def allowed_actions(step: StepInstance, person: str, directory: Directory) -> frozenset[Action]:
    """What `person` may do with `step` in its present state."""
    if may_submit(step, person, directory):
        return frozenset({Action.submit})
    if may_decide(step, person, directory):
        return frozenset({Action.approve, Action.send_back})
    return frozenset()


def expected_person(step: StepInstance, directory: Directory) -> str | None:
    """Whom the step waits for now (the principal; their stand-in may act too)."""
    state = StepState(step.state)
    if awaits_owner(state):
        return step.owner
    if state is StepState.submitted and has_decider(step):
        return decision_principal(step, directory)
    return None


def decision_principal(step: StepInstance, directory: Directory) -> str | None:
    """Who decides: the decider, or, when the decider submitted the step themselves (as
    the owner's stand-in), the decider's own stand-in."""
    decider = step.decider
    if decider is None or decider not in excluded_deciders(step):
        return decider
    standin = directory[decider].standin if decider in directory else None
    return standin if standin and standin not in excluded_deciders(step) else decider
