"""A loaded organisation folder: its files parsed by the schema (`models.schema`), the
organisation as a tree (`models.organisation`), and where every value was written, for
error messages. Built by `models.validation.load_definition`."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from models.goals import GoalPlan
from models.organisation import Organisation
from models.schema import ARSHJUL_FILE, ArshjulFile, StepTemplate
from models.schema_meetings import MeetingsFile
from models.source import FieldPath, Issue, SourceDocument


class DefinitionError(Exception):
    """The folder has problems; `issues` lists every one found."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues))


@dataclass
class Definition:
    """A validated organisation folder."""

    folder: Path
    organisation: Organisation
    arshjul: ArshjulFile
    meetings: dict[int, MeetingsFile]
    documents: dict[str, SourceDocument] = field(default_factory=dict)
    goals: dict[int, GoalPlan] = field(default_factory=dict)  # goals-YYYY.yaml per cycle
    # External calendars given as feeds (organisation.yaml: calendars[].url), by key: the
    # local copy read, or why there is none (models.milestones.read_feeds).
    feed_copies: dict[str, Path] = field(default_factory=dict)
    feed_problems: dict[str, str] = field(default_factory=dict)

    @cached_property
    def templates(self) -> dict[str, StepTemplate]:
        return {template.key: template for template in self.arshjul.steps}

    @cached_property
    def template_positions(self) -> dict[str, int]:
        return {template.key: index for index, template in enumerate(self.arshjul.steps)}

    @cached_property
    def processes(self) -> dict[str, Any]:
        return {process.key: process for process in self.arshjul.processes}

    @cached_property
    def tentative_years(self) -> set[int]:
        """Years no meetings file covers, near those that do, whose meetings the bodies'
        standing rules give (organisation.yaml: bodies[].meetings): plans there are
        tentative until the meeting plans are decided."""
        if not any(body.meetings for body in self.organisation.bodies.values()):
            return set()
        known = sorted(self.meetings) or [2000]
        return set(range(known[0] - 1, known[-1] + 6)) - set(self.meetings)

    @cached_property
    def meeting_dates(self) -> dict[str, list]:
        """Every meeting per body, sorted by date, across all meeting files (and the
        standing rules' tentative dates for the years without one)."""
        from models.meeting_rules import standing_dates

        by_body: dict[str, list] = {}
        for year in sorted(self.meetings):
            for body in self.meetings[year].meetings:
                by_body.setdefault(body, []).extend(self.meetings[year].dates(body))
        for key, source in self.organisation.bodies.items():
            if source.meetings is not None:
                for year in sorted(self.tentative_years):
                    by_body.setdefault(key, []).extend(
                        standing_dates(source.meetings, year, self.organisation.calendar)
                    )
        for meetings in by_body.values():
            meetings.sort(key=lambda meeting: meeting.date)
        return by_body

    @cached_property
    def milestone_keys(self) -> set[str]:
        return set(self.milestones)

    @cached_property
    def milestones(self) -> dict[str, list]:
        """Every milestone of the external calendars, by key (see models.milestones)."""
        from models.milestones import read_milestones

        return read_milestones(self)

    @cached_property
    def meetings_in_month(self) -> dict[tuple[str, int, int], list]:
        """Meeting days per (body, year, month): what month rules look up, thousands of
        times in a large plan."""
        index: dict[tuple[str, int, int], list] = {}
        for body, meetings in self.meeting_dates.items():
            for meeting in meetings:
                index.setdefault((body, meeting.date.year, meeting.date.month), []).append(meeting.date)
        return index

    @cached_property
    def _meeting_days(self) -> dict[str, list]:
        return {body: [m.date for m in meetings] for body, meetings in self.meeting_dates.items()}

    def meetings_after(self, body: str, day) -> list:
        """The body's meeting days after `day`, in order."""
        days = self._meeting_days.get(body, [])
        return days[bisect.bisect_right(days, day) :]

    def template_issue(self, template_key: str, field_path: FieldPath, message: str) -> Issue:
        index = self.template_positions.get(template_key)
        if index is None or ARSHJUL_FILE not in self.documents:
            return Issue(ARSHJUL_FILE, None, f"steps.{template_key}", message)
        return self.documents[ARSHJUL_FILE].issue(("steps", index, *field_path), f"[{template_key}] {message}")

    def meetings_file_name(self, year: int) -> str:
        return f"meetings-{year}.yaml"

    def covered_cycles(self) -> list[int]:
        """Plan years whose meetings (the year before, the year itself, the year after) all exist."""
        return sorted(year for year in self.meetings if year - 1 in self.meetings and year + 1 in self.meetings)
