"""The regionstab's year at a glance (a page of the web app): the wheel coloured by
where each step stands, with today marked. Pure: stored steps in, SVG out."""

from __future__ import annotations

import datetime as dt

from arshjul.views.wheel import render_wheel
from arshjul.views.wheel.layout import Arc
from models.definition import Definition
from models.planned import STORED_AS_PLANNED, PlannedStep
from models.states import is_overdue, step_is_done
from models.tables import StepInstance, StepState

# Category → (legend text, colour), most urgent first: an arc of several units takes the
# most urgent category among them. Colours of the Okabe–Ito palette (colour-blind safe).
STATE_PALETTE = {
    "overdue": ("Försenat", "#D55E00"),
    "open": ("Öppet, väntar på ägaren", "#E69F00"),
    "submitted": ("Inlämnat, väntar på beslut", "#0072B2"),
    "planned": ("Planerat, inte öppnat", "#999999"),
    "done": ("Klart", "#009E73"),
}


def state_category(step: StepInstance, today: dt.date) -> str:
    state = StepState(step.state)
    if step_is_done(step):
        return "done"
    if is_overdue(state, step.due, today):
        return "overdue"
    if state is StepState.submitted:
        return "submitted"
    return "planned" if state is StepState.planned else "open"


def planned_step(step: StepInstance, year: int) -> PlannedStep:
    """A stored step as the wheel draws it (its dates as they stand now)."""
    return PlannedStep(year=year, **{name: getattr(step, name) for name in STORED_AS_PLANNED})


def state_wheel(steps: list[StepInstance], definition: Definition, *, year: int, today: dt.date) -> str:
    categories = {step.key: state_category(step, today) for step in steps}
    order = list(STATE_PALETTE)

    def category(arc: Arc) -> str:
        return min((categories[instance.key] for instance in arc.instances), key=order.index)

    return render_wheel(
        [planned_step(step, year) for step in steps],
        definition,
        year=year,
        today=today,
        subtitle="Färg efter läge",
        colour_by=(category, STATE_PALETTE, "Läge"),
    )
