"""The step state machine (pure).

    planned ──open──▶ open ──submit──▶ submitted ──approve──▶ approved
                                 ▲           │
                                 └─submit── returned ◀──return──┘

A step without a deciding body or role is done once submitted; one with a decider is
done when approved. "Overdue" is not a state: it follows from the deadline and today.
"""

from __future__ import annotations

import datetime as dt
import enum

from models.tables import STATE_NAMES, StepInstance, StepState


class Action(enum.StrEnum):
    submit = "submit"
    approve = "approve"
    send_back = "return"


ACTION_LABELS = {Action.submit: "lämna in", Action.approve: "godkänn", Action.send_back: "återremittera"}
ACTION_BY_LABEL = {label: action for action, label in ACTION_LABELS.items()}
ACTION_INFINITIVES = {Action.submit: "lämna in", Action.approve: "godkänna", Action.send_back: "återremittera"}


class TransitionError(ValueError):
    """An action that the step's state does not allow; the message is Swedish."""


def transition(state: StepState, action: Action, *, has_decider: bool) -> StepState:
    state = StepState(state)
    if action is Action.submit:
        if state in (StepState.open, StepState.returned):
            return StepState.submitted
        if state is StepState.planned:
            raise TransitionError("steget är inte öppnat än och kan inte lämnas in")
        raise TransitionError(
            "steget är redan inlämnat"
            + (" och väntar på beslut" if state is StepState.submitted and has_decider else "")
        )
    if not has_decider:
        raise TransitionError("steget har ingen beslutsinstans: det är klart när det har lämnats in")
    if state is StepState.submitted:
        return StepState.approved if action is Action.approve else StepState.returned
    if state is StepState.approved:
        raise TransitionError("steget är redan godkänt")
    raise TransitionError("beslut kan inte fattas innan steget har lämnats in")


def is_done(state: StepState, *, has_decider: bool) -> bool:
    """Nothing more to do: approved, submitted without a decider, or cancelled (a
    cancelled step holds nobody up)."""
    state = StepState(state)
    return state in (StepState.approved, StepState.cancelled) or (state is StepState.submitted and not has_decider)


def awaits_owner(state: StepState) -> bool:
    """The owner has something to do: the step is open or came back for revision."""
    return StepState(state) in (StepState.open, StepState.returned)


def is_overdue(state: StepState, due: dt.date, today: dt.date) -> bool:
    """Past the deadline and not yet submitted (a submitted step waits on its decider)."""
    return today > due and StepState(state) in (StepState.planned, StepState.open, StepState.returned)


def has_decider(step: StepInstance) -> bool:
    return step.decided_by is not None


def step_is_done(step: StepInstance) -> bool:
    return is_done(step.state, has_decider=has_decider(step))


def state_label(step: StepInstance, today: dt.date) -> str:
    """Swedish state for people: the state, plus 'försenat' when the deadline has passed."""
    label = STATE_NAMES[StepState(step.state)]
    if not step_is_done(step) and today > step.due and StepState(step.state) is not StepState.submitted:
        label += ", försenat"
    return label
