"""The step state machine, as a table."""

import datetime as dt

import pytest

from models.states import Action, TransitionError, is_done, is_overdue, transition
from models.tables import StepState as S


@pytest.mark.parametrize(
    "state, action, has_decider, result",
    [
        (S.open, Action.submit, True, S.submitted),
        (S.open, Action.submit, False, S.submitted),
        (S.returned, Action.submit, True, S.submitted),
        (S.submitted, Action.approve, True, S.approved),
        (S.submitted, Action.send_back, True, S.returned),
        (S.planned, Action.submit, True, "inte öppnat"),
        (S.submitted, Action.submit, True, "redan inlämnat och väntar på beslut"),
        (S.approved, Action.submit, True, "redan inlämnat"),
        (S.open, Action.approve, True, "innan steget har lämnats in"),
        (S.returned, Action.approve, True, "innan steget har lämnats in"),
        (S.approved, Action.approve, True, "redan godkänt"),
        (S.submitted, Action.approve, False, "ingen beslutsinstans"),
        (S.open, Action.send_back, False, "ingen beslutsinstans"),
    ],
)
def test_transitions(state, action, has_decider, result):
    if isinstance(result, S):
        assert transition(state, action, has_decider=has_decider) is result
    else:
        with pytest.raises(TransitionError, match=result):
            transition(state, action, has_decider=has_decider)


@pytest.mark.parametrize(
    "state, has_decider, done",
    [
        (S.submitted, False, True),
        (S.submitted, True, False),
        (S.approved, True, True),
        (S.returned, True, False),
        (S.open, False, False),
    ],
)
def test_done(state, has_decider, done):
    assert is_done(state, has_decider=has_decider) is done


@pytest.mark.parametrize(
    "state, today, overdue",
    [
        (S.open, dt.date(2027, 3, 25), False),  # on the due date itself
        (S.open, dt.date(2027, 3, 26), True),
        (S.returned, dt.date(2027, 4, 1), True),
        (S.planned, dt.date(2027, 4, 1), True),  # still blocked after its deadline: it slipped too
        (S.submitted, dt.date(2027, 4, 1), False),  # the owner delivered; the decision is pending
        (S.approved, dt.date(2027, 4, 1), False),
    ],
)
def test_overdue_is_derived(state, today, overdue):
    assert is_overdue(state, dt.date(2027, 3, 25), today) is overdue
