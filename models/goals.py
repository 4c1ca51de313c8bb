"""A cycle's goal structure as a tree (`GoalPlan`), its statuses, and the checks of a
`goals-YYYY.yaml` against the organisation: every reference, with file, line and field.

Pure lookups only; storing it per cycle is `models.followup`, summing it up
`models.rollup`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from models.goal_schema import GoalItem, GoalLevel, GoalsFile, Period, Scale
from models.organisation import Organisation
from models.source import Issue, SourceDocument

# The statuses of seed 003 in their order of display; keys are ASCII, labels Swedish.
STATUSES: dict[Scale, dict[str, str]] = {
    Scale.mal: {"gron": "grön", "gul": "gul", "rod": "röd", "ej_matbar": "ej mätbar"},
    Scale.aktivitet: {
        "planerad": "planerad",
        "pagaende": "pågående enligt plan",
        "forsenad": "försenad",
        "genomford": "genomförd",
    },
}
NOT_REPORTED = "ej_rapporterad"  # nothing entered yet: never the same as ej mätbar
NOT_REPORTED_LABEL = "ej rapporterad"
NEEDS_COMMENT = {"gul", "rod"}
WARNING_STATUSES = {"gul", "rod", "forsenad"}  # what the report lists with its comments
# Worst first: the order `worst` and the early warning use (ej mätbar says nothing).
SEVERITY = {"rod": 3, "forsenad": 3, "gul": 2, "planerad": 1, "pagaende": 1, "gron": 0, "genomford": 0}


def status_label(status: str) -> str:
    for labels in STATUSES.values():
        if status in labels:
            return labels[status]
    return NOT_REPORTED_LABEL


def parse_status(text: str, scale: Scale) -> str | None:
    """The status key for what a person wrote (label or key, any case), or None."""
    wanted = " ".join(text.strip().lower().replace("_", " ").split())
    for key, label in STATUSES[scale].items():
        if wanted in (label, key.replace("_", " ")) or (key == "pagaende" and wanted == "pågående"):
            return key
    return None


class Ancestors:
    """item → the items above it, nearest first, memoised as they are asked for (a
    roll-up needs them for the goals that have items below them, not for every item)."""

    def __init__(self, items: dict[str, GoalItem]):
        self._items = items
        self._memo: dict[str, list[str]] = {}

    def __getitem__(self, key: str) -> list[str]:
        found = self._memo.get(key)
        if found is None:
            parent = self._items[key].parent
            found = [parent, *self[parent]] if parent is not None and parent in self._items else []
            self._memo[key] = found
        return found


@dataclass(frozen=True)
class GoalPlan:
    """One cycle's goal structure: the items as a tree, their levels and målområden."""

    source: GoalsFile

    @property
    def year(self) -> int:
        return self.source.year

    @cached_property
    def items(self) -> dict[str, GoalItem]:
        return {item.key: item for item in self.source.items}

    @cached_property
    def levels(self) -> dict[str, GoalLevel]:
        return {level.key: level for level in self.source.levels}

    @cached_property
    def level_order(self) -> list[str]:
        return [level.key for level in self.source.levels]

    @cached_property
    def periods(self) -> dict[str, Period]:
        return {period.key: period for period in self.source.periods}

    @cached_property
    def malomraden(self) -> dict[str, str]:
        return {area.key: area.name for area in self.source.malomraden}

    @cached_property
    def children(self) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {key: [] for key in self.items}
        for item in self.source.items:
            if item.parent in children:
                children[item.parent].append(item.key)
        return children

    def ancestors(self, key: str) -> list[str]:
        """The items above, nearest first."""
        chain: list[str] = []
        parent = self.items[key].parent
        while parent is not None and parent in self.items and parent not in chain:
            chain.append(parent)
            parent = self.items[parent].parent
        return chain

    @cached_property
    def columns(self) -> tuple[dict[str, str], dict[str, str], dict[str, str | None]]:
        """Each item's level, owner and parent: the roll-up's inner loop reads these."""
        items = self.source.items
        return (
            {item.key: item.level for item in items},
            {item.key: item.owner for item in items},
            {item.key: item.parent for item in items},
        )

    @cached_property
    def top_down(self) -> list[str]:
        """The items with every parent before its children (a parent's level is higher)."""
        by_level: dict[str, list[str]] = {level: [] for level in self.level_order}
        for item in self.source.items:
            by_level.setdefault(item.level, []).append(item.key)
        return [key for keys in by_level.values() for key in keys]

    @cached_property
    def ancestors_of(self) -> Ancestors:
        """Each item's items above, nearest first; worked out for the items asked about."""
        return Ancestors(self.items)

    @cached_property
    def malomrade_of(self) -> dict[str, str | None]:
        """Each item's målområde: its own, else the nearest one above."""
        result: dict[str, str | None] = {}
        for key in self.top_down:
            item = self.items[key]
            result[key] = item.malomrade or (result.get(item.parent) if item.parent is not None else None)
        return result

    def scale_of(self, key: str) -> Scale | None:
        return self.levels[self.items[key].level].scale

    @cached_property
    def reported(self) -> list[str]:
        """The items a unit reports a status for, in file order."""
        levels = {level.key for level in self.source.levels if level.scale is not None}
        return [item.key for item in self.source.items if item.level in levels]

    def period_of_step(self, step: str) -> Period | None:
        return next((period for period in self.source.periods if step in period.steps), None)

    def previous_period(self, key: str) -> str | None:
        keys = [period.key for period in self.source.periods]
        index = keys.index(key)
        return keys[index - 1] if index > 0 else None

    def as_of(self, period: str) -> dt.date:
        return self.periods[period].as_of.in_cycle(self.year)

    def bodies_by_item(self, organisation: Organisation) -> dict[str, str | None]:
        """`body_of` for every item at once, parents first (kept per organisation)."""
        cache = self.__dict__.setdefault("_bodies", {})
        bodies = frozenset(organisation.bodies)
        if bodies not in cache:
            result: dict[str, str | None] = {}
            for key in self.top_down:
                item = self.items[key]
                inherited = result.get(item.parent) if item.parent is not None else None
                result[key] = item.owner if item.owner in organisation.bodies else inherited
            cache[bodies] = result
        return cache[bodies]

    def body_of(self, key: str, organisation: Organisation) -> str | None:
        """The body whose plan the item serves: its own owner if a body, else the
        nearest item above owned by one (a unit's activity under an RS goal is RS's)."""
        for k in [key, *self.ancestors(key)]:
            if self.items[k].owner in organisation.bodies:
                return self.items[k].owner
        return None

    def in_scope(self, target: str, organisation: Organisation) -> list[str]:
        """Reported items of `target`: for a unit, those owned by it and its subtree; for a
        body, those of its plan (its own, and the units' activities under its goals)."""
        if target in organisation.bodies:
            return [key for key in self.reported if self.body_of(key, organisation) == target]
        owners = set(organisation.subtree(target))
        return [key for key in self.reported if self.items[key].owner in owners]

    def to_json(self) -> dict[str, Any]:
        return self.source.model_dump(mode="json", by_alias=True, exclude_none=True)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GoalPlan:
        data = dict(data)
        data["periods"] = [{**period, "as_of": _year_date_text(period["as_of"])} for period in data["periods"]]
        return cls(GoalsFile.model_validate(data))


def _year_date_text(value: Any) -> Any:
    if isinstance(value, dict):
        offset = value["year_offset"]
        prefix = f"Y{offset:+d}" if offset else "Y"
        return f"{prefix}-{value['month']:02d}-{value['day']:02d}"
    return value


# ---------------------------------------------------------------------------------------
# Cross-references of goals-YYYY.yaml


def goal_issues(plan: GoalPlan, document: SourceDocument, organisation: Organisation, templates: dict) -> list[Issue]:
    """Every broken reference in the goal structure, located."""
    issues: list[Issue] = []
    source = plan.source

    def duplicates(kind: str, keys: list[str]) -> None:
        seen: dict[str, int] = {}
        for index, key in enumerate(keys):
            if key in seen:
                issues.append(
                    document.issue((kind, index, "key"), f"nyckeln '{key}' finns redan ({kind}[{seen[key]}])")
                )
            seen.setdefault(key, index)

    duplicates("malomraden", [area.key for area in source.malomraden])
    duplicates("levels", [level.key for level in source.levels])
    duplicates("periods", [period.key for period in source.periods])
    duplicates("items", [item.key for item in source.items])
    for index, period in enumerate(source.periods):
        for step in period.steps:
            if step not in templates:
                issues.append(document.issue(("periods", index, "steps"), f"okänt steg '{step}' i årshjulet"))
    positions = {key: index for index, key in enumerate(plan.level_order)}
    for index, item in enumerate(source.items):
        path = ("items", index)
        if item.level not in plan.levels:
            issues.append(document.issue((*path, "level"), f"okänd målnivå '{item.level}'"))
            continue
        if item.owner not in organisation.units and item.owner not in organisation.bodies:
            issues.append(document.issue((*path, "owner"), f"okänd enhet eller okänt organ '{item.owner}'"))
        if item.assigned_by is not None and item.assigned_by not in organisation.bodies:
            issues.append(document.issue((*path, "assigned_by"), f"okänt organ '{item.assigned_by}'"))
        if item.malomrade is not None and item.malomrade not in plan.malomraden:
            issues.append(document.issue((*path, "malomrade"), f"okänt målområde '{item.malomrade}'"))
        template = templates.get(item.plan)
        if template is None:
            issues.append(document.issue((*path, "plan"), f"okänt steg '{item.plan}' i årshjulet"))
        elif template.kind != "plan":
            issues.append(document.issue((*path, "plan"), f"'{item.plan}' är inget planeringssteg (kind: plan)"))
        if item.indicator is not None and plan.levels[item.level].scale is None:
            issues.append(document.issue((*path, "indicator"), "en nivå som inte rapporteras har inga indikatorer"))
        if item.parent is None:
            if item.malomrade is None:
                issues.append(document.issue(path, f"[{item.key}] ett mål överst i trädet behöver ett malomrade"))
            continue
        parent = plan.items.get(item.parent)
        if parent is None:
            issues.append(document.issue((*path, "parent"), f"okänt mål '{item.parent}'"))
        elif parent.level in positions and positions[parent.level] >= positions[item.level]:
            issues.append(
                document.issue(
                    (*path, "parent"),
                    f"'{item.parent}' ({parent.level}) ligger inte ovanför nivån {item.level} i målträdet",
                )
            )
    return issues
