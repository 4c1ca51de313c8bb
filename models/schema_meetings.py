"""The schema of meetings-YYYY.yaml: a body's sammanträdesplan for one year, as listed
dates or as a rule with exceptions (models.meeting_rules expands it when it is read)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BeforeValidator, Discriminator, Field, StringConstraints, Tag, field_validator, model_validator

from models.meeting_rules import expand, rule_problem
from models.schema import Key, Strict, Text


class Meeting(Strict):
    date: dt.date
    time: dt.time | None = None
    note: Text | None = None


def _meeting_entry(value: Any) -> Any:
    return {"date": value} if isinstance(value, (str, dt.date)) else value


MeetingEntry = Annotated[Meeting, BeforeValidator(_meeting_entry)]


class MeetingRule(Strict):
    """A body's meeting plan as a rule: an RFC 5545 RRULE (`FREQ=MONTHLY;BYDAY=+3TU` is
    the third Tuesday of each month) with exceptions, plus any listed dates."""

    rule: Annotated[str, StringConstraints(min_length=5, max_length=300, strip_whitespace=True)]
    except_months: list[Annotated[int, Field(ge=1, le=12)]] = Field(default_factory=list)
    exclude: list[dt.date] = Field(default_factory=list, alias="except")
    dates: list[MeetingEntry] = Field(default_factory=list)
    time: dt.time | None = None

    @field_validator("rule")
    @classmethod
    def _parses(cls, rule: str) -> str:
        problem = rule_problem(rule)
        if problem:
            raise ValueError(problem)
        return rule


def _plan_kind(value: Any) -> str:
    return "plan[rule]" if isinstance(value, dict) else "plan[list]"


# A body's plan is a list of dates or a rule; the tags contain "[" so that error
# locations skip them (models.validation).
MeetingPlan = Annotated[
    Annotated[list[MeetingEntry], Tag("plan[list]")] | Annotated[MeetingRule, Tag("plan[rule]")],
    Discriminator(_plan_kind),
]


class MeetingsFile(Strict):
    year: int = Field(ge=2000, le=2100)
    example: bool = False
    note: Text | None = None
    meetings: dict[Key, MeetingPlan]

    @model_validator(mode="after")
    def _expand_rules(self) -> MeetingsFile:
        for body, plan in list(self.meetings.items()):
            if isinstance(plan, MeetingRule):
                self.meetings[body] = expand(plan, self.year)
        return self

    def dates(self, body: str) -> list[Meeting]:
        plan = self.meetings.get(body, [])
        assert isinstance(plan, list)  # rules are expanded when the file is read
        return plan
