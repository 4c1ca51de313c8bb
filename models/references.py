"""Cross-references within an organisation's folder, checked once every file has passed
its schema: do the roles, units, bodies, people, processes and steps a file names exist,
are keys unique, does the unit tree have no loops, do step dependencies form no cycle.
Every problem is located (file, line, field)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable

import holidays
from apscheduler.triggers.cron import CronTrigger

from models.definition import Definition
from models.organisation import OWNER_MANAGER, SELF_BODY
from models.planning import select_targets
from models.schema import ARSHJUL_FILE, Rule
from models.source import FieldPath, Issue, SourceDocument


def _duplicates(document: SourceDocument, section: str, keys: Iterable[str]) -> list[Issue]:
    issues: list[Issue] = []
    first: dict[str, int] = {}
    for index, key in enumerate(keys):
        if key in first:
            line = document.line_of((section, first[key]))
            issues.append(document.issue((section, index, "key"), f"nyckeln '{key}' finns redan (rad {line})"))
        else:
            first[key] = index
    return issues


def organisation_issues(definition: Definition, document: SourceDocument) -> list[Issue]:
    org = definition.organisation
    src = org.source
    issues: list[Issue] = []

    def problem(path: FieldPath, message: str) -> None:
        issues.append(document.issue(path, message))

    for section, items in (
        ("levels", src.levels),
        ("bodies", src.bodies),
        ("roles", src.roles),
        ("units", src.units),
        ("people", src.people),
    ):
        issues.extend(_duplicates(document, section, [item.key for item in items]))
    for index, body in enumerate(src.bodies):
        if body.key in org.units:
            problem(
                ("bodies", index, "key"),
                f"'{body.key}' är redan en enhets nyckel; organ och enheter behöver olika nycklar",
            )

    info = src.organisation
    try:
        zoneinfo.ZoneInfo(info.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problem(("organisation", "timezone"), f"okänd tidszon '{info.timezone}'")
    supported = holidays.list_supported_countries()
    if info.holidays.country not in supported:
        problem(("organisation", "holidays", "country"), f"okänt land '{info.holidays.country}' för helgdagar")
    else:
        categories = holidays.country_holidays(info.holidays.country).supported_categories
        for index, category in enumerate(info.holidays.categories):
            if category not in categories:
                problem(
                    ("organisation", "holidays", "categories", index),
                    f"okänd kategori '{category}'; möjliga: {', '.join(sorted(categories))}",
                )

    level_names = set(org.levels)

    def refers(path: FieldPath, value: str | None, known, kind: str) -> None:
        if value is not None and value not in known:
            problem(path, f"okänd {kind} '{value}'" if kind != "organ" else f"okänt organ '{value}'")

    for index, unit in enumerate(src.units):
        refers(("units", index, "level"), unit.level, level_names, "nivå")
        refers(("units", index, "parent"), unit.parent, org.units, "enhet")
        refers(("units", index, "manager"), unit.manager, org.people, "person")
        if unit.parent in org.units and unit.level in level_names and org.units[unit.parent].level in level_names:
            if org.levels.index(org.units[unit.parent].level) >= org.levels.index(unit.level):
                problem(
                    ("units", index, "parent"),
                    f"'{unit.parent}' ({org.units[unit.parent].level}) ligger inte på en högre nivå än {unit.level}",
                )
    roots = [index for index, unit in enumerate(src.units) if unit.parent is None]
    if len(roots) != 1:
        problem(("units",), f"enhetsträdet behöver exakt en rot (enhet utan parent), fann {len(roots)}")
    for index, unit in enumerate(src.units):
        seen, parent = {unit.key}, unit.parent
        while parent in org.units:
            if parent in seen:
                problem(
                    ("units", index, "parent"), f"enheten '{unit.key}' ligger under sig själv (cykel i enhetsträdet)"
                )
                break
            seen.add(parent)
            parent = org.units[parent].parent

    for index, body in enumerate(src.bodies):
        refers(("bodies", index, "level"), body.level, level_names, "nivå")
        refers(("bodies", index, "parent"), body.parent, org.bodies, "organ")
        refers(("bodies", index, "administration"), body.administration, org.units, "enhet")
        refers(("bodies", index, "secretary"), body.secretary, org.people, "person")

    for position, role_key in enumerate(src.permissions.change_plan if src.permissions else []):
        refers(("permissions", "change_plan", position), role_key, org.roles, "roll")
    for index, role in enumerate(src.roles):
        held_by = role.held_by
        refers(("roles", index, "held_by", "person"), held_by.person, org.people, "person")
        refers(("roles", index, "held_by", "manager_of_level"), held_by.manager_of_level, level_names, "nivå")
        refers(("roles", index, "held_by", "manager_of_unit"), held_by.manager_of_unit, org.units, "enhet")
        for unit_key, person_key in (held_by.per_unit or {}).items():
            refers(("roles", index, "held_by", "per_unit", unit_key), unit_key, org.units, "enhet")
            refers(("roles", index, "held_by", "per_unit", unit_key), person_key, org.people, "person")
        if role.key == OWNER_MANAGER:
            problem(("roles", index, "key"), f"'{OWNER_MANAGER}' är reserverat för eskaleringar")

    emails: dict[str, int] = {}
    for index, person in enumerate(src.people):
        refers(("people", index, "reports_to"), person.reports_to, org.people, "person")
        if person.standin is not None:
            if person.standin not in org.people:
                problem(("people", index, "standin"), f"okänd person '{person.standin}'")
            elif person.standin == person.key:
                problem(("people", index, "standin"), "en person kan inte vara sin egen ersättare")
        email = person.email.lower()
        if email in emails:
            problem(("people", index, "email"), f"e-postadressen används redan av '{src.people[emails[email]].key}'")
        emails.setdefault(email, index)
    return issues


def template_issues(definition: Definition) -> list[Issue]:
    org = definition.organisation
    document = definition.documents[ARSHJUL_FILE]
    issues: list[Issue] = []
    issues.extend(_duplicates(document, "processes", [p.key for p in definition.arshjul.processes]))
    issues.extend(_duplicates(document, "steps", [t.key for t in definition.arshjul.steps]))
    templates = definition.templates
    levels = set(org.levels)
    bodies_with_meetings = set(definition.meeting_dates)

    for index, template in enumerate(definition.arshjul.steps):

        def problem(path: FieldPath, message: str, index: int = index) -> None:
            issues.append(document.issue(("steps", index, *path), message))

        if template.process not in definition.processes:
            problem(("process",), f"okänd process '{template.process}'")
        for position, level in enumerate(template.level):
            if level not in levels:
                problem(("level", position), f"okänd nivå '{level}'")
        selector = template.applies_to
        if selector is not None:
            for name, known, kind in (
                ("units", org.units, "enhet"),
                ("bodies", org.bodies, "organ"),
                ("within", org.units, "enhet"),
                ("except", org.units, "enhet"),
            ):
                values = getattr(selector, "exclude" if name == "except" else name) or []
                for position, key in enumerate(values):
                    if key not in known:
                        problem(("applies_to", name, position), f"okänt {kind} '{key}'")
        if template.owner_role not in org.roles:
            problem(("owner_role",), f"okänd roll '{template.owner_role}'")
        if template.decided_by is not None:
            if template.decided_by == SELF_BODY:
                if not (selector and selector.bodies) and not any(
                    b.level in template.level for b in org.bodies.values()
                ):
                    problem(("decided_by",), "'self' betyder organet som steget gäller; steget gäller inget organ")
            elif template.decided_by not in org.roles and template.decided_by not in org.bodies:
                problem(("decided_by",), f"okänd roll eller okänt organ '{template.decided_by}'")
            elif template.decided_by in org.bodies and not org.bodies[template.decided_by].secretary:
                problem(
                    ("decided_by",), f"organet '{template.decided_by}' har ingen sekreterare som kan registrera beslut"
                )
        for field_name in ("depends_on", "inputs"):
            for position, key in enumerate(getattr(template, field_name)):
                if key not in templates:
                    problem((field_name, position), f"okänt steg '{key}'")
                elif key == template.key:
                    problem((field_name, position), "ett steg kan inte bero på sig självt")
        for position, stage in enumerate(template.escalation):
            if stage.alert != OWNER_MANAGER and stage.alert not in org.roles:
                problem(("escalation", position, "alert"), f"okänd roll '{stage.alert}' (eller '{OWNER_MANAGER}')")
            if position and stage.after <= template.escalation[position - 1].after:
                problem(
                    ("escalation", position, "after"), "eskaleringstrappan måste stiga: after ska öka steg för steg"
                )
        if len(set(template.reminders)) != len(template.reminders):
            problem(("reminders",), "samma påminnelse står två gånger")
        recurrence = template.recurrence
        if recurrence is not None:
            if recurrence.cron is not None:
                try:
                    CronTrigger(
                        month=recurrence.cron.month,
                        day=recurrence.cron.day,
                        day_of_week=recurrence.cron.day_of_week,
                        timezone="UTC",
                    )
                except (ValueError, TypeError) as exc:
                    problem(("recurrence", "cron"), f"ogiltigt cron-uttryck: {exc}")
            if recurrence.meetings is not None and recurrence.meetings not in org.bodies:
                problem(("recurrence", "meetings"), f"okänt organ '{recurrence.meetings}'")
        for rule_name in ("opens", "due"):
            rule: Rule = getattr(template, rule_name)
            if rule.meeting == SELF_BODY:
                if not (selector and selector.bodies) and not any(
                    b.level in template.level for b in org.bodies.values()
                ):
                    problem(
                        (rule_name, "meeting"), "'self' betyder organet som steget gäller; steget gäller inget organ"
                    )
            elif rule.meeting is not None:
                if rule.meeting not in org.bodies:
                    problem((rule_name, "meeting"), f"okänt organ '{rule.meeting}'")
                elif rule.meeting not in bodies_with_meetings:
                    problem((rule_name, "meeting"), f"'{rule.meeting}' har inga sammanträden i någon meetings-fil")
            if rule.step is not None:
                if rule.step not in templates:
                    problem((rule_name, "step"), f"okänt steg '{rule.step}'")
                elif rule.step == template.key:
                    problem((rule_name, "step"), "en regel kan inte utgå från steget självt")
            if rule.decided_at is not None and rule.decided_at != SELF_BODY:
                if rule.decided_at not in org.bodies:
                    problem((rule_name, "decided_at"), f"okänt organ '{rule.decided_at}'")
                elif rule.decided_at not in bodies_with_meetings:
                    problem(
                        (rule_name, "decided_at"), f"'{rule.decided_at}' har inga sammanträden i någon meetings-fil"
                    )
            if rule.milestone is not None and rule.milestone not in definition.milestone_keys:
                problem(
                    (rule_name, "milestone"), f"okänd milstolpe '{rule.milestone}' (se organisation.yaml: calendars)"
                )
            if (rule.occurrence or rule.after == "occurrence") and recurrence is None:
                problem((rule_name,), "occurrence används bara i steg med recurrence")
        if not any(issue.file == ARSHJUL_FILE for issue in issues) and not select_targets(org, template):
            problem(("applies_to",) if selector else ("level",), "steget gäller ingen enhet eller inget organ")
    if not issues:
        issues.extend(_dependency_cycle_issues(definition))
    return issues


def _dependency_cycle_issues(definition: Definition) -> list[Issue]:
    """Report each cycle among depends_on and step-relative rules once."""
    edges: dict[str, list[tuple[str, FieldPath]]] = {}
    for template in definition.arshjul.steps:
        links: list[tuple[str, FieldPath]] = [(key, ("depends_on", i)) for i, key in enumerate(template.depends_on)]
        for name in ("opens", "due"):
            rule = getattr(template, name)
            if rule.step:
                links.append((rule.step, (name, "step")))
        edges[template.key] = links
    issues: list[Issue] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []
    reported: set[frozenset] = set()

    def visit(key: str) -> None:
        state[key] = 1
        stack.append(key)
        for target, path in edges.get(key, []):
            if state.get(target) == 1:
                cycle = stack[stack.index(target) :] + [target]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    issues.append(definition.template_issue(key, path, "beroendecykel: " + " → ".join(cycle)))
            elif state.get(target) is None:
                visit(target)
        stack.pop()
        state[key] = 2

    for template in definition.arshjul.steps:
        if template.key not in state:
            visit(template.key)
    return issues
