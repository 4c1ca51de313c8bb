"""The schema of `organisation.yaml` as a whole: its sections (the units, bodies, roles
and people in `models.schema`), and the parts a living årshjul added — external
calendars and their milestones, mandate periods, who may change the plan."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from models.schema import Body, Key, KeyList, Level, OrganisationInfo, Person, Role, Strict, Text, Unit


class MilestoneSpec(Strict):
    """A milestone: the events of an external calendar whose summary contains `summary`."""

    key: Key
    summary: Text


class ExternalCalendar(Strict):
    """A national or external calendar (SKR's timetable, national deadlines) as an .ics
    file in the organisation's folder."""

    key: Key
    name: Text
    file: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.ics$", max_length=120)]
    milestones: list[MilestoneSpec] = Field(min_length=1)


class MandatePeriod(Strict):
    """A mandate period (mandatperiod) of the elected bodies, e.g. 2027–2030."""

    start: int = Field(ge=2000, le=2100)
    end: int = Field(ge=2000, le=2100)

    @model_validator(mode="after")
    def _ordered(self) -> MandatePeriod:
        if self.end < self.start:
            raise ValueError(f"mandatperioden slutar ({self.end}) före den börjar ({self.start})")
        return self


class Permissions(Strict):
    """Who may change the plan of a running cycle (move deadlines, add, cancel and
    reassign steps, hand a person's steps to another, record absences for others): the
    holders of these roles, seen from the unit of the step changed."""

    change_plan: KeyList = Field(min_length=1)


class OrganisationFile(Strict):
    organisation: OrganisationInfo
    permissions: Permissions | None = None
    calendars: list[ExternalCalendar] = Field(default_factory=list)
    mandate_periods: list[MandatePeriod] = Field(default_factory=list)
    levels: list[Level] = Field(min_length=1)
    bodies: list[Body] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=list)
    units: list[Unit] = Field(min_length=1)
    people: list[Person] = Field(min_length=1)
