"""Planning a cycle: every step template × every unit or body it applies to × every
occurrence, with its opening date, deadline, owner, decider and dependencies resolved.

Pure: `plan_cycle(definition, year)` reads nothing but the definition and never the clock.

How a reference to another step is resolved for a given target (used both for
`depends_on` and for rules anchored on a step): the other step's instance for the same
target; else the instance of the nearest unit above; else the instances of the units
below; else all of its instances. A rule anchored on several instances uses the latest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from graphlib import TopologicalSorter

from models.definition import Definition
from models.organisation import OWNER_MANAGER, SELF_BODY, Organisation, Target
from models.planned import Escalation, MissingMeetings, PlannedStep, PlanningError, instance_name
from models.rules import RuleError, RuleResolver
from models.schema import StepTemplate
from models.source import Issue


def select_targets(org: Organisation, template: StepTemplate) -> list[str]:
    """The units and bodies a template applies to."""
    selector = template.applies_to
    if selector and (selector.units or selector.bodies):
        keys = list(selector.units or []) + list(selector.bodies or [])
    else:
        keys = org.targets_at_levels(template.level)
    if selector and selector.within:
        allowed = {key for root in selector.within for key in org.subtree(root)}
        keys = [key for key in keys if org.target(key).anchor in allowed]
    if selector and selector.exclude:
        excluded = {key for root in selector.exclude for key in org.subtree(root)}
        keys = [
            key
            for key in keys
            if key not in excluded and not (key in org.bodies and org.target(key).anchor in excluded)
        ]
    return keys


@dataclass(frozen=True)
class Responsible:
    """Who owns a step instance and who decides it."""

    owner: str
    decided_by: str | None  # a body or a role
    decided_by_kind: str | None  # "body" or "role"
    decider: str | None  # the person who records the decision
    # When the template's decider would decide a step they own: who decides instead.
    substitute_for: str | None = None


@dataclass(frozen=True)
class DecisionConflict:
    """A template whose decider would own the step for a target: the step goes to the
    decider's own manager (else their stand-in)."""

    template: str
    target: str
    person: str
    substitute: str


class CyclePlanner(RuleResolver):
    """Resolves one plan year. Use `plan_cycle`; this class only keeps the bookkeeping."""

    def __init__(self, definition: Definition, year: int):
        self.definition = definition
        self.org = definition.organisation
        self.calendar = self.org.calendar
        self.year = year
        self.instances: dict[str, PlannedStep] = {}
        self.by_template: dict[str, dict[str, list[PlannedStep]]] = {}
        self.issues: list[Issue] = []
        self.conflicts: list[DecisionConflict] = []
        self.missing_meetings: dict[int, list[Issue]] = {}  # year → the rules that needed it

    # -- people ------------------------------------------------------------------------

    def responsible(self, template: StepTemplate, target: Target) -> Responsible:
        """Who owns the step for `target`, and who decides it."""
        owner = self.org.role_holder(template.owner_role, target.anchor)
        if owner is None:
            raise RuleError(("owner_role",), f"rollen '{template.owner_role}' har ingen innehavare för {target.name}")
        decided_by, decided_by_kind, decider = self.decider(template, target)
        substitute_for = None
        if decider is not None and decider == owner:
            # Nobody decides a step they own: the decider's own manager decides it, or,
            # at the top of the tree, their stand-in.
            substitute = self.org.manager_of(decider) or self.org.people[decider].standin
            if substitute is None or substitute == owner:
                raise RuleError(
                    ("decided_by",),
                    f"{self.org.people[owner].name} både äger och beslutar steget för {target.name}, "
                    "och har varken chef eller ersättare som kan besluta i stället",
                )
            self.conflicts.append(DecisionConflict(template.key, target.key, decider, substitute))
            substitute_for, decider = decider, substitute
        return Responsible(
            owner=owner,
            decided_by=decided_by,
            decided_by_kind=decided_by_kind,
            decider=decider,
            substitute_for=substitute_for,
        )

    def decider(self, template: StepTemplate, target: Target) -> tuple[str | None, str | None, str | None]:
        """(decided_by key, 'body' or 'role', the person who records the decision)."""
        decided_by = template.decided_by
        if decided_by is None:
            return None, None, None
        if decided_by == SELF_BODY:
            if not target.is_body:
                raise RuleError(
                    ("decided_by",), f"'self' kräver att steget gäller ett organ, men {target.name} är en enhet"
                )
            decided_by = target.key
        if decided_by in self.org.bodies:
            return decided_by, "body", self.org.bodies[decided_by].secretary
        holder = self.org.role_holder(decided_by, target.anchor)
        if holder is None:
            raise RuleError(("decided_by",), f"rollen '{decided_by}' har ingen innehavare för {target.name}")
        return decided_by, "role", holder

    def escalation(self, template: StepTemplate, target: Target, *, owner: str, due: dt.date) -> list[Escalation]:
        stages = []
        climbed: str | None = owner
        for stage in template.escalation:
            if stage.alert == OWNER_MANAGER:
                # Each owner_manager stage climbs one step further up the tree: the
                # manager, then the manager's manager (the top stays the top).
                above = self.org.manager_of(climbed) if climbed else None
                person = climbed = above or (climbed if climbed != owner else None)
            else:
                person = self.org.role_holder(stage.alert, target.anchor)
            stages.append(
                Escalation(stage.after, self.calendar.add_working_days(due, stage.after), stage.alert, person)
            )
        return stages

    # -- the whole cycle ---------------------------------------------------------------

    def record(self, template: StepTemplate, error: RuleError) -> None:
        issue = self.definition.template_issue(template.key, error.field_path, str(error))
        if error.missing_year is not None:  # one problem, however many rules need the file
            self.missing_meetings.setdefault(error.missing_year, []).append(issue)
        else:
            self.issues.append(issue)

    def plan_template(self, template: StepTemplate) -> None:
        explicit = template.applies_to is not None and bool(template.applies_to.units or template.applies_to.bodies)
        try:
            if not self.in_this_cycle(template):
                return
        except RuleError as error:
            self.record(template, error)
            return
        for target_key in select_targets(self.org, template):
            target = self.org.target(target_key)
            try:
                responsible = self.responsible(template, target)
                occurrences = self.occurrences(template)
            except RuleError as error:
                self.record(template, error)
                continue
            for period, occurrence in occurrences:
                try:
                    self.plan_instance(
                        template,
                        target,
                        period=period,
                        occurrence=occurrence,
                        responsible=responsible,
                        explicit=explicit,
                    )
                except RuleError as error:
                    self.record(template, error)

    def plan_instance(
        self,
        template: StepTemplate,
        target: Target,
        *,
        period: str | None,
        occurrence: dt.date | None,
        responsible: Responsible,
        explicit: bool,
    ) -> None:
        self.tentative = occurrence is not None and occurrence.year in self.definition.tentative_years
        opens, _, _ = self.resolve(template.opens, "opens", target, period=period, occurrence=occurrence)
        on_meetings = template.recurrence is not None and template.recurrence.meetings is not None
        due, nominal_due, meeting = self.resolve(
            template.due, "due", target, period=period, occurrence=occurrence, recurs_on_meetings=on_meetings
        )
        where = f"{target.name}{', period ' + period if period else ''}, cykel {self.year}"
        if due < opens:
            raise RuleError(("due",), f"deadline {due} ligger före öppningen {opens} ({where})")
        depends_on = []
        for position, dependency_key in enumerate(template.depends_on):
            needed = f"'{dependency_key}' (depends_on, rad {self.line_of(template.key, ('depends_on', position))})"
            for dependency in self.related(dependency_key, target, period):
                # Reported at the rule that gives the date, which is what to change.
                if dependency.due > due:
                    raise RuleError(
                        ("due",),
                        f"deadline {due} ligger före deadline {dependency.due} för {needed} "
                        f"för {dependency.unit_name}, som steget behöver ({where})",
                    )
                if dependency.opens > opens:
                    raise RuleError(
                        ("opens",),
                        f"öppningen {opens} ligger före öppningen {dependency.opens} av {needed} "
                        f"för {dependency.unit_name}, som steget behöver ({where})",
                    )
                depends_on.append(dependency.key)
        instance = PlannedStep(
            year=self.year,
            key=f"{template.key}{'@' + period if period else ''}:{target.key}",
            step=template.key,
            period=period,
            name=instance_name(template, period),
            kind=template.kind,
            process=template.process,
            level=template.level[0] if explicit else target.level,
            unit=target.key,
            unit_name=target.name,
            owner_role=template.owner_role,
            owner=responsible.owner,
            decided_by=responsible.decided_by,
            decided_by_kind=responsible.decided_by_kind,
            decider=responsible.decider,
            meeting=meeting,
            opens=opens,
            due=due,
            nominal_due=nominal_due,
            depends_on=depends_on,
            reminders=sorted(
                {
                    day
                    for day in (self.calendar.add_working_days(due, -days) for days in template.reminders)
                    if day > opens
                }
            ),
            escalation=self.escalation(template, target, owner=responsible.owner, due=due),
            description=template.description,
            reference=template.reference,
            tentative=self.tentative,
        )
        self.instances[instance.key] = instance
        self.by_template.setdefault(template.key, {}).setdefault(target.key, []).append(instance)

    def line_of(self, template_key: str, field_path: tuple) -> int | None:
        return self.definition.template_issue(template_key, field_path, "").line

    def plan(self) -> list[PlannedStep]:
        graph = {
            template.key: set(template.depends_on) | {rule.step for rule in (template.opens, template.due) if rule.step}
            for template in self.definition.arshjul.steps
        }
        for key in TopologicalSorter(graph).static_order():
            self.plan_template(self.definition.templates[key])
        if self.missing_meetings:
            raise MissingMeetings(self.year, self.missing_meetings, self.definition.meetings_file_name)
        if self.issues:
            raise PlanningError(self.issues)
        return sorted(self.instances.values(), key=lambda step: (step.due, step.opens, step.name, step.unit_name))


def plan_cycle(definition: Definition, year: int) -> list[PlannedStep]:
    """Every step instance of plan year `year`, sorted by deadline."""
    return CyclePlanner(definition, year).plan()
