"""External calendars' milestones (models.milestones) where people see the plan: as
calendar entries beside the deadlines (the plan's .ics, the personal feed) and as lines
under the plan's table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from arshjul.views.ics import Deadline
from models.definition import Definition
from models.milestones import Milestone, milestones_in


def milestones_for(definition: Definition, days: Iterable[dt.date]) -> list[Milestone]:
    """The milestones within the span of these days (a plan's openings and deadlines)."""
    days = list(days)
    if not days or not definition.milestones:
        return []
    return milestones_in(definition, min(days), max(days))


def milestone_entry(milestone: Milestone, definition: Definition) -> Deadline:
    """A milestone as an all-day calendar entry, with a UID stable across exports."""
    uid = milestone.uid or f"{milestone.key}.{milestone.date.isoformat()}"
    return Deadline(
        uid=f"milstolpe.{uid}@{definition.organisation.info.key}",
        summary=f"Milstolpe: {milestone.name} ({milestone.calendar})",
        due=milestone.date,
        description=f"{milestone.name}\n{milestone.calendar}: en extern kalender som årshjulets steg utgår från.",
        categories=("Milstolpe",),
    )


def milestone_lines(milestones: list[Milestone]) -> str | None:
    if not milestones:
        return None
    return "Milstolpar: " + "; ".join(f"{m.date.isoformat()} {m.name} ({m.calendar})" for m in milestones)
