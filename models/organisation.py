"""The organisation as a tree: who holds which role for which unit, who is whose manager,
who stands in for whom. Built from a validated `OrganisationFile`; pure lookups only.

A step belongs to a *target*: either a unit of the officials' tree (region, förvaltning,
område, avdelning, enhet) or a political body (RS, RUN, …). Roles are resolved from an
*anchor unit*: the unit itself, or for a body the unit that administers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from models.schema import Body, Person, Role, Unit
from models.schema_organisation import OrganisationFile
from models.workdays import WorkingCalendar

OWNER_MANAGER = "owner_manager"  # escalation target: the owner's manager in the unit tree
SELF_BODY = "self"  # decided_by: the body the step applies to


@dataclass(frozen=True)
class Target:
    """What a step instance belongs to: a unit or a body."""

    key: str
    name: str
    level: str
    is_body: bool
    anchor: str  # the unit from which roles are resolved


class Organisation:
    def __init__(self, source: OrganisationFile):
        self.source = source
        self.info = source.organisation
        self.levels = [level.key for level in source.levels]
        self.level_names = {level.key: level.name for level in source.levels}
        self.units: dict[str, Unit] = {unit.key: unit for unit in source.units}
        self.bodies: dict[str, Body] = {body.key: body for body in source.bodies}
        self.roles: dict[str, Role] = {role.key: role for role in source.roles}
        self.people: dict[str, Person] = {person.key: person for person in source.people}
        self.children: dict[str, list[str]] = {key: [] for key in self.units}
        for unit in source.units:
            if unit.parent in self.children:
                self.children[unit.parent].append(unit.key)
        self.root = next((u.key for u in source.units if u.parent is None), source.units[0].key)

    @cached_property
    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(
            country=self.info.holidays.country,
            categories=self.info.holidays.categories,
            closure_days=self.info.closure_days,
            timezone=self.info.timezone,
            workday_start=self.info.workday_start,
        )

    @cached_property
    def people_by_email(self) -> dict[str, Person]:
        return {person.email.lower(): person for person in self.source.people}

    # -- the tree ----------------------------------------------------------------------

    def target(self, key: str) -> Target:
        if key in self.units:
            unit = self.units[key]
            return Target(unit.key, unit.name, unit.level, False, unit.key)
        body = self.bodies[key]
        return Target(body.key, body.name, body.level, True, body.administration or self.root)

    def ancestors(self, unit_key: str) -> list[str]:
        """The unit's parents, nearest first (the unit itself excluded)."""
        chain: list[str] = []
        seen = {unit_key}
        parent = self.units[unit_key].parent
        while parent is not None and parent in self.units and parent not in seen:
            chain.append(parent)
            seen.add(parent)
            parent = self.units[parent].parent
        return chain

    def subtree(self, unit_key: str) -> list[str]:
        result, stack = [], [unit_key]
        while stack:
            key = stack.pop()
            result.append(key)
            stack.extend(self.children.get(key, []))
        return result

    @cached_property
    def _administered(self) -> dict[str, list[str]]:
        by_unit: dict[str, list[str]] = {}
        for body in self.source.bodies:
            by_unit.setdefault(body.administration or self.root, []).append(body.key)
        return by_unit

    def bodies_administered_by(self, unit_key: str) -> list[str]:
        return self._administered.get(unit_key, [])

    def targets_at_levels(self, levels: list[str]) -> list[str]:
        """Units at the given levels; for a level without units (nämnd), the bodies there."""
        keys: list[str] = []
        for level in levels:
            units = [u.key for u in self.source.units if u.level == level]
            keys += units or [b.key for b in self.source.bodies if b.level == level]
        return keys

    # -- roles and people --------------------------------------------------------------

    def role_holder(self, role_key: str, anchor: str) -> str | None:
        """The person holding `role_key` as seen from the anchor unit, or None."""
        held_by = self.roles[role_key].held_by
        if held_by.person:
            return held_by.person
        if held_by.unit_manager:
            return self.units[anchor].manager
        if held_by.manager_of_unit:
            return self.units[held_by.manager_of_unit].manager
        if held_by.per_unit is not None:
            for key in [anchor, *self.ancestors(anchor)]:
                if key in held_by.per_unit:
                    return held_by.per_unit[key]
            return None
        if held_by.parent_manager:
            for key in self.ancestors(anchor):
                if self.units[key].manager:
                    return self.units[key].manager
            return None
        for key in [anchor, *self.ancestors(anchor)]:
            unit = self.units[key]
            if unit.level == held_by.manager_of_level:
                return unit.manager
        return None

    @cached_property
    def _managed_units(self) -> dict[str, list[str]]:
        managed: dict[str, list[str]] = {}
        for unit in self.source.units:
            if unit.manager:
                managed.setdefault(unit.manager, []).append(unit.key)
        return managed

    def manager_of(self, person_key: str) -> str | None:
        """The person's own manager: `reports_to` if given, else the manager of the
        nearest unit above the highest unit they manage."""
        person = self.people[person_key]
        if person.reports_to:
            return person.reports_to
        managed = self._managed_units.get(person_key, [])
        if not managed:
            return None
        highest = min(managed, key=lambda key: len(self.ancestors(key)))
        for key in self.ancestors(highest):
            manager = self.units[key].manager
            if manager and manager != person_key:
                return manager
        return None

    def decider_name(self, decided_by: str | None) -> str | None:
        if decided_by is None:
            return None
        if decided_by in self.bodies:
            return self.bodies[decided_by].name
        return self.roles[decided_by].name

    def decider_subject(self, decided_by: str | None) -> str | None:
        """Who decides, as the subject of a sentence: a body by its name, a role in its
        definite form ("Regiondirektören")."""
        if decided_by is None or decided_by not in self.roles:
            return self.decider_name(decided_by)
        definite = self.roles[decided_by].definite or self.roles[decided_by].name
        return definite[:1].upper() + definite[1:]
