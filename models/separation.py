"""Nobody decides a step they own: which templates would make someone do so (the planner
reroutes such a step to the decider's own manager, else their stand-in, and records it),
for `arshjul validate` to warn about."""

from __future__ import annotations

from models.definition import Definition
from models.planned import PlanningError
from models.planning import CyclePlanner, DecisionConflict
from models.source import Issue


def decision_conflicts(definition: Definition) -> list[Issue]:
    """Templates whose decider would decide a step they own, in any cycle the meeting
    files cover (one warning per template and person): `arshjul validate` shows them."""
    found: dict[tuple[str, str], tuple[DecisionConflict, list[str]]] = {}
    org = definition.organisation
    for year in definition.covered_cycles():
        planner = CyclePlanner(definition, year)
        try:
            planner.plan()
        except PlanningError:
            continue  # reported as errors elsewhere
        for conflict in planner.conflicts:
            entry = found.setdefault((conflict.template, conflict.person), (conflict, []))
            target = org.target(conflict.target).name
            if target not in entry[1]:
                entry[1].append(target)
    issues = []
    for (template, person), (conflict, targets) in found.items():
        issues.append(
            definition.template_issue(
                template,
                ("decided_by",),
                f"{org.people[person].name} skulle besluta om ett steg hen själv äger ({', '.join(targets)}); "
                f"beslutet går i stället till {org.people[conflict.substitute].name}",
            )
        )
    return issues
