"""What the screen overview and the period wheel draw, beyond the wall wheel's rings per
level: one arc per step template (and period) with its units folded into a count
("Verksamhetsplan enhet (412 enheter)"), and one ring per plan year.

The overview joins every instance of a template into one arc, from the earliest opening
to the latest deadline, whatever the units' own dates (each deadline keeps its mark, the
tooltip gives the range): on a screen, what matters is which step is under way when and
for how many, not which unit has which date. A template with periods (a monthly report)
gets one arc per period, since the months are what it is about. All levels share one
ring: the region's templates overlap up to some 32 deep, and a ring per level would add
half as many sub-tracks again, more than a 1,600 px screen has room for at a legible size.

Over a period the overview folds the years onto that one ring: a template's arcs of every
year become one arc (they fall in the same months, year after year), so the wheel stays as
legible as one year's. A template that recurs every few years, or once per mandate period,
says its years in its label ("LUP-revision (2027)"); an arc is tentative (hatched,
"prel.") when it is so in every year it stands for, and the tooltip marks each tentative
year."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from arshjul.views.wheel.layout import Arc, Ring, Style, build_rings, group_arcs, step_label
from models.definition import Definition
from models.planned import PlannedStep

TOOLTIP_UNITS = 12  # units named in an overview arc's tooltip before "och N till"


def count_noun(instances: Iterable[PlannedStep], definition: Definition) -> str:
    """What the count counts: units, bodies or both."""
    bodies = definition.organisation.bodies
    kinds = {"organ" if step.unit in bodies else "enheter" for step in instances}
    return "enheter och organ" if len(kinds) > 1 else kinds.pop()


def year_span(years: list[int]) -> str:
    """2027, 2027–2029, or 2027, 2031 for years that are not consecutive."""
    if len(years) > 1 and years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}–{years[-1]}"
    return ", ".join(map(str, years))


def overview_tooltip(name: str, by_year: dict[int, list[PlannedStep]], definition: Definition) -> str:
    """The full name, who (the first few), and each year's dates from first opening to
    last deadline."""
    units = sorted({step.unit_name for steps in by_year.values() for step in steps})
    shown = ", ".join(units[:TOOLTIP_UNITS]) + (f" och {len(units) - TOOLTIP_UNITS} till" if len(units) > 12 else "")
    lines = [name, f"Gäller {len(units)} {count_noun(next(iter(by_year.values())), definition)}: {shown}"]
    for year, steps in sorted(by_year.items()):
        opens, due = min(step.opens for step in steps), max(step.due for step in steps)
        tentative = " (preliminärt)" if any(step.tentative for step in steps) else ""
        dates = f"öppnar {opens.isoformat()}, deadline {due.isoformat()}"
        if len({step.due for step in steps}) > 1:
            dates = f"öppnar från {opens.isoformat()}, deadlines till {due.isoformat()}"
        lines.append(f"Planår {year}{tentative}: {dates}")
    return "\n".join(lines)


def period_key(period: str | None, year: int) -> tuple[int, str] | None:
    """A step's period relative to its plan year ('2027-02' in cycle 2027 → (0, '02')),
    so that the same month's report of every year folds onto one arc (a period named by a
    meeting's day folds by its month, since the day moves from year to year)."""
    if period is None:
        return None
    head, dash, rest = period.partition("-")
    if dash and head.isdigit():
        return int(head) - year, rest[:2]  # a meeting's day ('2027-02-16') moves from year to year
    return 0, period


def overview_arcs(steps: Iterable[PlannedStep], definition: Definition, year: int) -> list[Arc]:
    """One year's overview: one arc per template and period."""
    return period_overview_arcs({year: list(steps)}, definition, folded=False)


def period_overview_arcs(
    plans: dict[int, list[PlannedStep]], definition: Definition, *, folded: bool = True
) -> list[Arc]:
    """One arc per template and period over the plan years; `folded` arcs stand for
    several years (their angles span every year's, on the same twelve months)."""
    grouped: dict[tuple, dict[int, list[PlannedStep]]] = defaultdict(lambda: defaultdict(list))
    for year, steps in plans.items():
        for step in steps:
            grouped[(step.step, period_key(step.period, year))][year].append(step)
    first_year, every_year = min(plans), sorted(plans)
    arcs = []
    for by_year in grouped.values():
        years = sorted(by_year)
        instances = sorted((step for year in years for step in by_year[year]), key=lambda s: (s.due, s.unit_name))
        first = by_year[years[0]][0]
        count = max(len(by_year[year]) for year in years)
        arc = Arc(
            level=first.level,
            process=first.process,
            instances=instances if not folded else by_year[years[0]],
            base_label=step_label(first, definition),
            plan_year=years[0] if folded else first_year,
            count_noun=count_noun(instances, definition) if count > 1 else "",
            count=count,
            tooltip=overview_tooltip(first.name, by_year, definition),
        )
        if folded:
            # The same months every year: the arc spans each year's arc, shifted by whole turns.
            for year in years[1:]:
                other = Arc(first.level, first.process, by_year[year], "", year)
                shift = round((arc.start - other.start) / 360.0) * 360.0
                arc.start, arc.end = min(arc.start, other.start + shift), max(arc.end, other.end + shift)
            arc.end = min(arc.end, arc.start + 359.9)
            arc.instances = instances
            arc.years = tuple(years)
            if years != every_year:
                arc.note = year_span(years)
        arcs.append(arc)
    return arcs


def level_rings(
    steps: list[PlannedStep], definition: Definition, year: int, *, overview: bool, style: Style
) -> tuple[list[Ring], list[Arc]]:
    """The one-year wheel: a ring per level, the top level outermost (the overview: one ring)."""
    if overview:
        arcs = overview_arcs(steps, definition, year)
        return [Ring(str(year), f"Planår {year}, alla nivåer", arcs, style=style)], arcs
    arcs = group_arcs(steps, definition, year)
    rings = build_rings(arcs, definition)
    for ring in rings:
        ring.style = style
    return rings, arcs


def year_rings(
    plans: dict[int, list[PlannedStep]], definition: Definition, *, overview: bool, style: Style
) -> tuple[list[Ring], list[Arc]]:
    """The period wheel: a ring per plan year, the first year outermost. Each ring holds
    its cycle folded onto the twelve months, as the one-year wheel does; a template that
    recurs every few years, or once per mandate period, is in the rings of its years only.
    The overview folds the years onto one ring (see the module's docstring)."""
    years = sorted(plans)
    if overview:
        arcs = period_overview_arcs(plans, definition)
        return [Ring("period", f"Planår {years[0]}–{years[-1]}, alla nivåer", arcs, style=style)], arcs
    rings, every_arc = [], []
    for year in years:
        steps = plans[year]
        arcs = group_arcs(steps, definition, year)
        tentative = bool(steps) and all(step.tentative for step in steps)
        name = f"Planår {year}" + (" (preliminärt)" if tentative else "")
        rings.append(Ring(str(year), name, arcs, style=style))
        every_arc.extend(arcs)
    return rings, every_arc
