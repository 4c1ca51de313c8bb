"""The schema of an organisation's calendar folder (organisation.yaml, arshjul.yaml,
meetings-YYYY.yaml), as pydantic models.

Every model forbids unknown fields, so a misspelt field is an error with a line number
instead of a silently ignored value. Cross-references (does this role exist?) are checked
afterwards in `models.validation`, where all files are known.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

ORGANISATION_FILE = "organisation.yaml"
ARSHJUL_FILE = "arshjul.yaml"

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=80)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


KeyList = Annotated[list[Key], BeforeValidator(_one_or_many)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# ---------------------------------------------------------------------------------------
# Dates relative to the plan year. A cycle is one plan year Y: "Y-1-11-20" is the 20th of
# November the year before, "Y+1-04" is April the year after.

_YEAR_DATE = re.compile(r"^Y(?P<offset>[+-]\d)?-(?P<month>\d{2})-(?P<day>\d{2})$")
_YEAR_MONTH = re.compile(r"^Y(?P<offset>[+-]\d)?-(?P<month>\d{2})$")


class YearDate(Strict):
    year_offset: int
    month: int
    day: int

    def in_cycle(self, year: int) -> dt.date:
        return dt.date(year + self.year_offset, self.month, self.day)

    def __str__(self) -> str:
        return (
            f"Y{self.year_offset:+d}-{self.month:02d}-{self.day:02d}"
            if self.year_offset
            else f"Y-{self.month:02d}-{self.day:02d}"
        )


class YearMonth(Strict):
    year_offset: int
    month: int

    def in_cycle(self, year: int) -> tuple[int, int]:
        return year + self.year_offset, self.month


def _parse_year_date(value: Any) -> Any:
    if isinstance(value, str):
        match = _YEAR_DATE.match(value)
        if not match:
            raise ValueError(f"ogiltigt datum '{value}': skriv Y-MM-DD, Y-1-MM-DD eller Y+1-MM-DD (Y = planåret)")
        offset, month, day = int(match["offset"] or 0), int(match["month"]), int(match["day"])
        try:
            dt.date(2000 + offset if offset else 2000, month, day)  # 2000 is a leap year: 29 Feb allowed
        except ValueError:
            raise ValueError(f"ogiltigt datum '{value}': månad {month} har ingen dag {day}") from None
        return {"year_offset": offset, "month": month, "day": day}
    return value


def _parse_year_month(value: Any) -> Any:
    if isinstance(value, str):
        match = _YEAR_MONTH.match(value)
        if not match or not 1 <= int(match["month"]) <= 12:
            raise ValueError(f"ogiltig månad '{value}': skriv Y-MM, Y-1-MM eller Y+1-MM (Y = planåret)")
        return {"year_offset": int(match["offset"] or 0), "month": int(match["month"])}
    return value


YearDateField = Annotated[YearDate, BeforeValidator(_parse_year_date)]
YearMonthField = Annotated[YearMonth, BeforeValidator(_parse_year_month)]


# ---------------------------------------------------------------------------------------
# organisation.yaml


class HolidayRules(Strict):
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "SE"
    categories: list[Key] = Field(default_factory=lambda: ["public"])


class OrganisationInfo(Strict):
    key: Key
    name: Text
    timezone: Text = "Europe/Stockholm"
    holidays: HolidayRules = HolidayRules()
    closure_days: list[dt.date] = Field(default_factory=list)
    workday_start: dt.time = dt.time(8, 0)
    # Where the audit log's signed checkpoints are mailed (the auditors, revisorerna):
    # a copy the app's database writers cannot reach.
    auditors_email: Email | None = None


class Level(Strict):
    key: Key
    name: Text


class StandingMeetings(Strict):
    """A body's usual meeting rhythm (an RFC 5545 RRULE with months left out), used for
    the years no meetings file covers yet: the dates it gives are tentative."""

    rule: Annotated[str, StringConstraints(min_length=5, max_length=300, strip_whitespace=True)]
    except_months: list[Annotated[int, Field(ge=1, le=12)]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _parses(self) -> StandingMeetings:
        from models.meeting_rules import rule_problem

        problem = rule_problem(self.rule)
        if problem:
            raise ValueError(problem)
        return self


class Body(Strict):
    key: Key
    name: Text
    short: Text | None = None
    kind: Text
    level: Key
    parent: Key | None = None
    administration: Key | None = None
    secretary: Key | None = None
    meetings: StandingMeetings | None = None  # for years without a meetings file (tentative)


class HeldBy(Strict):
    """Who holds a role, relative to the unit a step belongs to. Exactly one form."""

    person: Key | None = None
    unit_manager: Literal[True] | None = None
    manager_of_level: Key | None = None
    manager_of_unit: Key | None = None
    parent_manager: Literal[True] | None = None
    # A named person per unit (a hälso- och sjukvårdsdirektör for one förvaltning, a
    # kulturchef for another): the nearest listed unit at or above the step's unit.
    per_unit: dict[Key, Key] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> HeldBy:
        forms = ("person", "unit_manager", "manager_of_level", "manager_of_unit", "parent_manager", "per_unit")
        if len([name for name in forms if getattr(self, name) is not None]) != 1:
            raise ValueError(
                "ange exakt en av person, unit_manager, manager_of_level, manager_of_unit, "
                "parent_manager eller per_unit"
            )
        if self.per_unit is not None and not self.per_unit:
            raise ValueError("per_unit behöver minst en enhet med sin person")
        return self


class Role(Strict):
    key: Key
    name: Text
    held_by: HeldBy
    # The role as the subject of a sentence ("Regiondirektören har godkänt …"); derived
    # from the name's ending when the data gives none.
    definite: Text | None = None

    @model_validator(mode="after")
    def _definite_form(self) -> Role:
        if self.definite is None:
            from models.swedish_mail import derived_definite

            derived = derived_definite(self.name)
            if derived is None:
                raise ValueError(
                    f"rollen {self.key} ({self.name}) behöver sin bestämda form i `definite`, "
                    "t.ex. definite: Den överordnade linjechefen"
                )
            object.__setattr__(self, "definite", derived)
        return self


class Unit(Strict):
    key: Key
    name: Text
    level: Key
    parent: Key | None = None
    manager: Key | None = None


class Absence(Strict):
    start: dt.date = Field(alias="from")
    end: dt.date = Field(alias="to")
    note: Text | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Absence:
        if self.end < self.start:
            raise ValueError(f"frånvaron slutar ({self.end}) före den börjar ({self.start})")
        if self.start.year < 2000 or self.end.year > 2100:
            raise ValueError(f"orimlig frånvaro {self.start}–{self.end}: den ska ligga mellan år 2000 och 2100")
        if (self.end - self.start).days > 4 * 366:
            raise ValueError(f"orimligt lång frånvaro {self.start}–{self.end}: högst fyra år")
        return self


class Person(Strict):
    key: Key
    name: Text
    email: Email
    title: Text | None = None
    reports_to: Key | None = None
    standin: Key | None = None
    absent: list[Absence] = Field(default_factory=list)
    digest: Literal["weekly", "daily"] = "weekly"


# ---------------------------------------------------------------------------------------
# arshjul.yaml


class Rule(Strict):
    """When something happens: one anchor, then an offset in working days.

    Anchors: `date` (a date in the plan year), `meeting` (a meeting of a body — or of
    `self`, the body the step applies to —: the first or last in `month`, or the first
    after the occurrence), `step` (another step's opening or deadline), `occurrence`
    (the occurrence of a recurring step).
    """

    date: YearDateField | None = None
    meeting: Key | None = None
    month: YearMonthField | None = None
    after: Literal["occurrence"] | None = None
    which: Literal["first", "last"] = "first"
    step: Key | None = None
    edge: Literal["opens", "due"] = "due"
    occurrence: Literal[True] | None = None
    milestone: Key | None = None  # an event of an external calendar (organisation.yaml: calendars)
    offset: int = Field(default=0, ge=-250, le=250)
    roll: Literal["previous", "next", "none"] | None = None
    # A deadline not set by a meeting, decided at the body's first meeting after it.
    decided_at: Key | None = None

    @model_validator(mode="after")
    def _one_anchor(self) -> Rule:
        anchors = [
            name for name in ("date", "meeting", "step", "occurrence", "milestone") if getattr(self, name) is not None
        ]
        if len(anchors) != 1:
            raise ValueError("en regel behöver exakt en av date, meeting, step, occurrence eller milestone")
        if self.decided_at is not None and self.meeting is not None:
            raise ValueError("decided_at behövs inte när regeln redan utgår från ett sammanträde (meeting)")
        if self.meeting is not None and (self.month is None) == (self.after is None):
            raise ValueError("en mötesregel behöver antingen month (t.ex. Y-1-11) eller after: occurrence")
        if self.meeting is None and self.milestone is None and (self.month is not None or self.after is not None):
            raise ValueError("month och after används bara tillsammans med meeting eller milestone")
        if self.milestone is not None and self.after is not None:
            raise ValueError("en milstolpe väljs med month (t.ex. Y-04), inte med after")
        return self


class Selector(Strict):
    units: KeyList | None = None
    bodies: KeyList | None = None
    within: KeyList | None = None
    exclude: KeyList | None = Field(default=None, alias="except")

    @model_validator(mode="after")
    def _not_empty(self) -> Selector:
        if not any([self.units, self.bodies, self.within, self.exclude]):
            raise ValueError("applies_to behöver units, bodies, within eller except")
        return self


class EscalationStage(Strict):
    after: int = Field(ge=1, le=120)
    alert: Key


class CronSpec(Strict):
    month: str | int = "*"
    day: str | int = "last"
    day_of_week: str | None = None


class Recurrence(Strict):
    cron: CronSpec | None = None
    meetings: Key | None = None
    year: int = Field(default=0, ge=-1, le=1)

    @model_validator(mode="after")
    def _one_kind(self) -> Recurrence:
        if (self.cron is None) == (self.meetings is None):
            raise ValueError("recurrence behöver antingen cron eller meetings")
        return self


class CycleRecurrence(Strict):
    """Which plan years a template belongs to: every N years from a start year (a LUP
    revision every fourth year), or once per mandate period in its first, second, third
    or last year (organisation.yaml: mandate_periods)."""

    every: int | None = Field(default=None, ge=1, le=10)
    start: int | None = Field(default=None, ge=2000, le=2100)
    mandate_period: Literal["first", "second", "third", "last"] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> CycleRecurrence:
        if (self.every is None) == (self.mandate_period is None):
            raise ValueError("cycles behöver antingen every (med start) eller mandate_period")
        if self.every is not None and self.start is None:
            raise ValueError("cycles: every behöver start, ett planår då steget förekommer")
        if self.mandate_period is not None and self.start is not None:
            raise ValueError("cycles: start används bara med every")
        return self


class StepTemplate(Strict):
    key: Key
    name: Text
    kind: Literal["plan", "report", "decision", "review"]
    process: Key
    level: KeyList = Field(min_length=1)
    applies_to: Selector | None = None
    owner_role: Key
    decided_by: Key | None = None
    opens: Rule
    due: Rule
    depends_on: KeyList = Field(default_factory=list)
    inputs: KeyList = Field(default_factory=list)
    reminders: list[Annotated[int, Field(ge=1, le=60)]] = Field(default_factory=list)
    escalation: list[EscalationStage] = Field(default_factory=list)
    recurrence: Recurrence | None = None
    cycles: CycleRecurrence | None = None
    reference: Text | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None


class Process(Strict):
    key: Key
    name: Text
    colour: Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]


class ArshjulFile(Strict):
    processes: list[Process] = Field(min_length=1)
    steps: list[StepTemplate] = Field(min_length=1)
