"""Loading and validating an organisation's calendar folder.

`load_definition(folder)` reads organisation.yaml, arshjul.yaml and every
meetings-YYYY.yaml, checks them against the schema, checks every cross-reference, and
resolves the cycles the meeting files cover to catch deadlines that cannot work (a due
date before its opening, a meeting that does not exist, a dependency due after the step
that waits for it). All problems are collected and raised together as a
`DefinitionError`, each naming the file, the line and the field.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import holidays
from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ValidationError

from models.definition import (
    ARSHJUL_FILE,
    ORGANISATION_FILE,
    ArshjulFile,
    Definition,
    DefinitionError,
    MeetingsFile,
    OrganisationFile,
    Rule,
)
from models.organisation import OWNER_MANAGER, SELF_BODY, Organisation
from models.planning import PlanningError, plan_cycle, select_targets
from models.source import FieldPath, Issue, SourceDocument, SourceError, load_source
from models.swedish import describe_error

MEETINGS_FILE = re.compile(r"^meetings-(\d{4})\.yaml$")


# ---------------------------------------------------------------------------------------
# Schema errors


def _schema_issues(document: SourceDocument, model: type[BaseModel]) -> tuple[Any, list[Issue]]:
    try:
        return model.model_validate(document.data), []
    except ValidationError as exc:
        issues = []
        seen = set()
        for error in exc.errors(include_url=False):
            # Drop pydantic's internal loc parts (function-before[...], union branches).
            loc = tuple(part for part in error["loc"] if not (isinstance(part, str) and ("[" in part or part in {"str", "int", "list[str]"})))
            issue = document.issue(loc, describe_error(error))
            if issue not in seen:
                seen.add(issue)
                issues.append(issue)
        return None, issues


# ---------------------------------------------------------------------------------------
# Loading


def load_definition(folder: Path | str, *, check_cycles: bool = True) -> Definition:
    """Load and fully validate a folder; raise DefinitionError listing every problem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DefinitionError([Issue(str(folder), None, "", "mappen finns inte")])
    issues: list[Issue] = []
    documents: dict[str, SourceDocument] = {}

    def read(name: str) -> SourceDocument | None:
        try:
            document = load_source(folder / name)
        except SourceError as exc:
            issues.extend(exc.issues)
            return None
        documents[name] = document
        return document

    organisation_doc = read(ORGANISATION_FILE)
    arshjul_doc = read(ARSHJUL_FILE)
    meeting_docs: dict[int, SourceDocument] = {}
    for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
        if path.name in (ORGANISATION_FILE, ARSHJUL_FILE):
            continue
        match = MEETINGS_FILE.match(path.name)
        if not match:
            issues.append(Issue(path.name, None, "", "okänd fil: förväntade organisation.yaml, arshjul.yaml eller meetings-ÅÅÅÅ.yaml"))
            continue
        document = read(path.name)
        if document is not None:
            meeting_docs[int(match.group(1))] = document

    organisation_file = arshjul_file = None
    if organisation_doc is not None:
        organisation_file, found = _schema_issues(organisation_doc, OrganisationFile)
        issues.extend(found)
    if arshjul_doc is not None:
        arshjul_file, found = _schema_issues(arshjul_doc, ArshjulFile)
        issues.extend(found)
    meetings: dict[int, MeetingsFile] = {}
    for year, document in meeting_docs.items():
        parsed, found = _schema_issues(document, MeetingsFile)
        issues.extend(found)
        if parsed is not None:
            if parsed.year != year:
                issues.append(document.issue(("year",), f"året {parsed.year} stämmer inte med filnamnet ({year})"))
            meetings[year] = parsed

    if organisation_file is None or arshjul_file is None:
        raise DefinitionError(issues)

    definition = Definition(folder, Organisation(organisation_file), arshjul_file, meetings, documents)
    issues.extend(_organisation_issues(definition, organisation_doc))
    if issues:  # the templates can only be checked against a sound organisation
        raise DefinitionError(issues)
    issues.extend(_meeting_issues(definition, meeting_docs))
    issues.extend(_template_issues(definition))
    if not issues and check_cycles:
        issues.extend(_cycle_issues(definition))
    if issues:
        raise DefinitionError(issues)
    return definition


# ---------------------------------------------------------------------------------------
# organisation.yaml


def _duplicates(document: SourceDocument, section: str, keys: Iterable[str]) -> list[Issue]:
    issues, first = [], {}
    for index, key in enumerate(keys):
        if key in first:
            line = document.line_of((section, first[key]))
            issues.append(document.issue((section, index, "key"), f"nyckeln '{key}' finns redan (rad {line})"))
        else:
            first[key] = index
    return issues


def _organisation_issues(definition: Definition, document: SourceDocument) -> list[Issue]:
    org = definition.organisation
    src = org.source
    issues: list[Issue] = []

    def problem(path: FieldPath, message: str) -> None:
        issues.append(document.issue(path, message))

    for section, items in (("levels", src.levels), ("bodies", src.bodies), ("roles", src.roles), ("units", src.units), ("people", src.people)):
        issues.extend(_duplicates(document, section, [item.key for item in items]))
    for index, body in enumerate(src.bodies):
        if body.key in org.units:
            problem(("bodies", index, "key"), f"'{body.key}' är redan en enhets nyckel; organ och enheter behöver olika nycklar")

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
                problem(("organisation", "holidays", "categories", index), f"okänd kategori '{category}'; möjliga: {', '.join(sorted(categories))}")

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
                problem(("units", index, "parent"), f"'{unit.parent}' ({org.units[unit.parent].level}) ligger inte på en högre nivå än {unit.level}")
    roots = [index for index, unit in enumerate(src.units) if unit.parent is None]
    if len(roots) != 1:
        problem(("units",), f"enhetsträdet behöver exakt en rot (enhet utan parent), fann {len(roots)}")
    for index, unit in enumerate(src.units):
        seen, parent = {unit.key}, unit.parent
        while parent in org.units:
            if parent in seen:
                problem(("units", index, "parent"), f"enheten '{unit.key}' ligger under sig själv (cykel i enhetsträdet)")
                break
            seen.add(parent)
            parent = org.units[parent].parent

    for index, body in enumerate(src.bodies):
        refers(("bodies", index, "level"), body.level, level_names, "nivå")
        refers(("bodies", index, "parent"), body.parent, org.bodies, "organ")
        refers(("bodies", index, "administration"), body.administration, org.units, "enhet")
        refers(("bodies", index, "secretary"), body.secretary, org.people, "person")

    for index, role in enumerate(src.roles):
        held_by = role.held_by
        refers(("roles", index, "held_by", "person"), held_by.person, org.people, "person")
        refers(("roles", index, "held_by", "manager_of_level"), held_by.manager_of_level, level_names, "nivå")
        refers(("roles", index, "held_by", "manager_of_unit"), held_by.manager_of_unit, org.units, "enhet")
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


# ---------------------------------------------------------------------------------------
# meetings-YYYY.yaml


def _meeting_issues(definition: Definition, documents: dict[int, SourceDocument]) -> list[Issue]:
    issues: list[Issue] = []
    bodies = definition.organisation.bodies
    for year, meetings in definition.meetings.items():
        document = documents[year]
        for body, entries in meetings.meetings.items():
            if body not in bodies:
                issues.append(document.issue(("meetings", body), f"okänt organ '{body}'"))
            seen: dict = {}
            for index, meeting in enumerate(entries):
                path = ("meetings", body, index)
                if meeting.date.year != year:
                    issues.append(document.issue(path, f"{meeting.date} ligger inte i {year}"))
                if meeting.date in seen:
                    issues.append(document.issue(path, f"sammanträdet {meeting.date} finns redan (rad {document.line_of(('meetings', body, seen[meeting.date]))})"))
                seen.setdefault(meeting.date, index)
                reason = definition.organisation.calendar.non_working_reason(meeting.date)
                if reason:
                    issues.append(document.issue(path, f"{meeting.date} är ingen arbetsdag ({reason})"))
    return issues


# ---------------------------------------------------------------------------------------
# arshjul.yaml


def _template_issues(definition: Definition) -> list[Issue]:
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
            for name, known, kind in (("units", org.units, "enhet"), ("bodies", org.bodies, "organ"), ("within", org.units, "enhet"), ("except", org.units, "enhet")):
                values = getattr(selector, "exclude" if name == "except" else name) or []
                for position, key in enumerate(values):
                    if key not in known:
                        problem(("applies_to", name, position), f"okänt {kind} '{key}'")
        if template.owner_role not in org.roles:
            problem(("owner_role",), f"okänd roll '{template.owner_role}'")
        if template.decided_by is not None:
            if template.decided_by == SELF_BODY:
                if not (selector and selector.bodies) and not any(b.level in template.level for b in org.bodies.values()):
                    problem(("decided_by",), "'self' betyder organet som steget gäller; steget gäller inget organ")
            elif template.decided_by not in org.roles and template.decided_by not in org.bodies:
                problem(("decided_by",), f"okänd roll eller okänt organ '{template.decided_by}'")
            elif template.decided_by in org.bodies and not org.bodies[template.decided_by].secretary:
                problem(("decided_by",), f"organet '{template.decided_by}' har ingen sekreterare som kan registrera beslut")
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
                problem(("escalation", position, "after"), "eskaleringstrappan måste stiga: after ska öka steg för steg")
        if len(set(template.reminders)) != len(template.reminders):
            problem(("reminders",), "samma påminnelse står två gånger")
        recurrence = template.recurrence
        if recurrence is not None:
            if recurrence.cron is not None:
                try:
                    CronTrigger(month=recurrence.cron.month, day=recurrence.cron.day, day_of_week=recurrence.cron.day_of_week, timezone="UTC")
                except (ValueError, TypeError) as exc:
                    problem(("recurrence", "cron"), f"ogiltigt cron-uttryck: {exc}")
            if recurrence.meetings is not None and recurrence.meetings not in org.bodies:
                problem(("recurrence", "meetings"), f"okänt organ '{recurrence.meetings}'")
        for rule_name in ("opens", "due"):
            rule: Rule = getattr(template, rule_name)
            if rule.meeting == SELF_BODY:
                if not (selector and selector.bodies) and not any(b.level in template.level for b in org.bodies.values()):
                    problem((rule_name, "meeting"), "'self' betyder organet som steget gäller; steget gäller inget organ")
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
        links = [(key, ("depends_on", i)) for i, key in enumerate(template.depends_on)]
        links += [(rule.step, (name, "step")) for name in ("opens", "due") if (rule := getattr(template, name)).step]
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
                cycle = stack[stack.index(target):] + [target]
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


def _cycle_issues(definition: Definition) -> list[Issue]:
    """Resolve every cycle the meeting files cover; report what cannot be planned."""
    issues: list[Issue] = []
    for year in definition.covered_cycles():
        try:
            plan_cycle(definition, year)
        except PlanningError as exc:
            issues.extend(exc.issues)
    return issues
