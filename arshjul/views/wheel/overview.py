"""What the screen overview and the period wheel draw, beyond the wall wheel's rings per
level: one arc per step template (and period) with its units folded into a count
("Verksamhetsplan enhet (412 enheter)"), and one ring per plan year.

The overview joins every instance of a template in a ring into one arc, from the
earliest opening to the latest deadline, whatever the units' own dates (each deadline
keeps its mark, and the tooltip lists them): on a screen, what matters is which step is
under way when and for how many, not which unit has which date. A template with periods
(a monthly report) gets one arc per period, since the months are what it is about."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from arshjul.views.wheel.layout import Arc, Ring, Style, build_rings, group_arcs, step_label
from models.definition import Definition
from models.planned import PlannedStep


def count_noun(instances: list[PlannedStep], definition: Definition) -> str:
    """What the count counts: units, bodies or both."""
    bodies = definition.organisation.bodies
    kinds = {"organ" if step.unit in bodies else "enheter" for step in instances}
    return "enheter och organ" if len(kinds) > 1 else kinds.pop()


def overview_arcs(steps: Iterable[PlannedStep], definition: Definition, year: int, *, by_level: bool) -> list[Arc]:
    """One arc per template and period (per level too when `by_level`)."""
    grouped: dict[tuple, list[PlannedStep]] = defaultdict(list)
    for step in steps:
        grouped[(step.level if by_level else "", step.step, step.period)].append(step)
    arcs = []
    for instances in grouped.values():
        instances.sort(key=lambda step: (step.due, step.unit_name))
        first = instances[0]
        arcs.append(
            Arc(
                level=first.level,
                process=first.process,
                instances=instances,
                base_label=step_label(first, definition),
                plan_year=year,
                count_noun=count_noun(instances, definition) if len(instances) > 1 else "",
            )
        )
    return arcs


def level_rings(
    steps: list[PlannedStep], definition: Definition, year: int, *, overview: bool, style: Style
) -> tuple[list[Ring], list[Arc]]:
    """The one-year wheel: a ring per level, the top level outermost."""
    arcs = overview_arcs(steps, definition, year, by_level=True) if overview else group_arcs(steps, definition, year)
    rings = build_rings(arcs, definition)
    for ring in rings:
        ring.style = style
    return rings, arcs


def year_rings(
    plans: dict[int, list[PlannedStep]], definition: Definition, *, overview: bool, style: Style
) -> tuple[list[Ring], list[Arc]]:
    """The period wheel: a ring per plan year, the first year outermost. Each ring holds
    its cycle folded onto the twelve months, as the one-year wheel does; a template that
    recurs every few years, or once per mandate period, is in the rings of its years only."""
    rings, every_arc = [], []
    for year in sorted(plans):
        steps = plans[year]
        if overview:
            arcs = overview_arcs(steps, definition, year, by_level=False)
        else:
            arcs = group_arcs(steps, definition, year)
        tentative = bool(steps) and all(step.tentative for step in steps)
        name = f"Planår {year}" + (" (preliminärt)" if tentative else "")
        rings.append(Ring(str(year), name, arcs, style=style))
        every_arc.extend(arcs)
    return rings, every_arc
