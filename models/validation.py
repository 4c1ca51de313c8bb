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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from models.definition import Definition, DefinitionError
from models.goal_schema import GOALS_FILE_PATTERN, GoalsFile
from models.goals import GoalPlan, goal_issues
from models.milestones import FeedReader, calendar_issues, read_feeds
from models.organisation import Organisation
from models.planned import MissingMeetings, PlanningError
from models.planning import plan_cycle
from models.references import organisation_issues, template_issues
from models.schema import ARSHJUL_FILE, ORGANISATION_FILE, ArshjulFile
from models.schema_meetings import MeetingsFile
from models.schema_organisation import OrganisationFile
from models.source import Issue, SourceDocument, SourceError, load_source
from models.swedish import describe_error

MEETINGS_FILE = re.compile(r"^meetings-(\d{4})\.yaml$")
GOALS_FILE = re.compile(GOALS_FILE_PATTERN)


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
            loc = tuple(
                part
                for part in error["loc"]
                if not (isinstance(part, str) and ("[" in part or part in {"str", "int", "list[str]"}))
            )
            issue = document.issue(loc, describe_error(error))
            if issue not in seen:
                seen.add(issue)
                issues.append(issue)
        return None, issues


# ---------------------------------------------------------------------------------------
# Loading


def load_definition(folder: Path | str, *, check_cycles: bool = True, feeds: FeedReader | None = None) -> Definition:
    """Load and fully validate a folder; raise DefinitionError listing every problem.
    `feeds` hands over the local copies of the calendars given as feeds (without it a
    feed calendar is a located problem)."""
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
    goal_docs: dict[int, SourceDocument] = {}
    for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
        if path.name in (ORGANISATION_FILE, ARSHJUL_FILE):
            continue
        goals_match = GOALS_FILE.match(path.name)
        if goals_match:
            document = read(path.name)
            if document is not None:
                goal_docs[int(goals_match.group(1))] = document
            continue
        match = MEETINGS_FILE.match(path.name)
        if not match:
            issues.append(
                Issue(
                    path.name,
                    None,
                    "",
                    "okänd fil: förväntade organisation.yaml, arshjul.yaml, meetings-ÅÅÅÅ.yaml eller goals-ÅÅÅÅ.yaml",
                )
            )
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

    assert organisation_doc is not None  # it was parsed, since its schema was read
    definition = Definition(folder, Organisation(organisation_file), arshjul_file, meetings, documents)
    issues.extend(organisation_issues(definition, organisation_doc))
    read_feeds(definition, feeds)
    issues.extend(calendar_issues(definition, organisation_doc))
    if issues:  # the templates can only be checked against a sound organisation
        raise DefinitionError(issues)
    issues.extend(_meeting_issues(definition, meeting_docs))
    issues.extend(template_issues(definition))
    issues.extend(_goal_issues(definition, goal_docs))
    if not issues and check_cycles:
        issues.extend(_cycle_issues(definition))
    if issues:
        raise DefinitionError(issues)
    return definition


# ---------------------------------------------------------------------------------------
# meetings-YYYY.yaml (organisation.yaml and arshjul.yaml: models.references)


def _meeting_issues(definition: Definition, documents: dict[int, SourceDocument]) -> list[Issue]:
    issues: list[Issue] = []
    bodies = definition.organisation.bodies
    for year, meetings in definition.meetings.items():
        document = documents[year]
        for body in meetings.meetings:
            entries = meetings.dates(body)
            if body not in bodies:
                issues.append(document.issue(("meetings", body), f"okänt organ '{body}'"))
            seen: dict = {}
            for index, meeting in enumerate(entries):
                path = ("meetings", body, index)
                if meeting.date.year != year:
                    issues.append(document.issue(path, f"{meeting.date} ligger inte i {year}"))
                if meeting.date in seen:
                    issues.append(
                        document.issue(
                            path,
                            f"sammanträdet {meeting.date} finns redan "
                            f"(rad {document.line_of(('meetings', body, seen[meeting.date]))})",
                        )
                    )
                seen.setdefault(meeting.date, index)
                reason = definition.organisation.calendar.non_working_reason(meeting.date)
                if reason:
                    issues.append(document.issue(path, f"{meeting.date} är ingen arbetsdag ({reason})"))
    return issues


# ---------------------------------------------------------------------------------------
# goals-YYYY.yaml: the cycle's goal structure (references checked in models.goals)


def _goal_issues(definition: Definition, documents: dict[int, SourceDocument]) -> list[Issue]:
    issues: list[Issue] = []
    for year, document in documents.items():
        parsed, found = _schema_issues(document, GoalsFile)
        issues.extend(found)
        if parsed is None:
            continue
        if parsed.year != year:
            issues.append(document.issue(("year",), f"året {parsed.year} stämmer inte med filnamnet ({year})"))
        plan = GoalPlan(parsed)
        issues.extend(goal_issues(plan, document, definition.organisation, definition.templates))
        definition.goals[year] = plan
    return issues


# ---------------------------------------------------------------------------------------
# The cycles the meeting files cover


def _cycle_issues(definition: Definition) -> list[Issue]:
    """Resolve every cycle the meeting files cover; report what cannot be planned."""
    return check_cycles(definition, definition.covered_cycles()).issues


@dataclass
class CycleCheck:
    """What `validate` could say about the cycles: planned without fault, not checkable
    (a meetings file is missing: why), and the problems of the others."""

    planned: list[int] = field(default_factory=list)
    unchecked: dict[int, list[Issue]] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)


def candidate_cycles(definition: Definition) -> list[int]:
    """The cycles a folder is meant for: every year with its own meetings file, and every
    year its files fully cover."""
    return sorted(set(definition.meetings) | set(definition.covered_cycles()))


def check_cycles(definition: Definition, years: list[int]) -> CycleCheck:
    result = CycleCheck()
    for year in years:
        try:
            plan_cycle(definition, year)
        except MissingMeetings as exc:
            result.unchecked[year] = exc.issues
        except PlanningError as exc:
            result.issues.extend(exc.issues)
        else:
            result.planned.append(year)
    return result
