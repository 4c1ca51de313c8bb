"""The schema of a cycle's goal structure, `goals-YYYY.yaml` in the organisation folder.

The röd tråd of seed 004 §5 as data: the målområden, the goal tree's levels top-down
(RF's övergripande mål, uppdrag from one body to another, the bodies' and units' goals,
activities), each level's status scale and roll-up rule, the follow-up periods with the
steps that report them, and the items — each owned by a unit or a body, tied to the
verksamhetsplan step of its level and linked to the item above it. Every model forbids
unknown fields; references are checked in `models.goals`.
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from models.schema import Key, KeyList, Strict, Text, YearDateField

GOALS_FILE_PATTERN = r"^goals-(\d{4})\.yaml$"

PeriodKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", max_length=20)]


class Scale(enum.StrEnum):
    """The status scales of seed 003: goals and uppdrag, and activities."""

    mal = "mal"
    aktivitet = "aktivitet"


class Rule(enum.StrEnum):
    """How a level's nodes sum up the reported items below them."""

    distribution = "count"  # the distribution: how many of each status (seed 003's way)
    worst = "worst"  # the node takes the worst status below it
    threshold = "threshold"  # röd / gul when the share of röd / (gul + röd) reaches a limit


class Rollup(Strict):
    rule: Rule = Rule.distribution
    red_share: float | None = Field(default=None, gt=0, le=1)
    yellow_share: float | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _limits(self) -> Rollup:
        has_limits = self.red_share is not None and self.yellow_share is not None
        if self.rule is Rule.threshold and not has_limits:
            raise ValueError("regeln threshold behöver red_share och yellow_share (andelar mellan 0 och 1)")
        if self.rule is not Rule.threshold and (self.red_share is not None or self.yellow_share is not None):
            raise ValueError("red_share och yellow_share används bara med rule: threshold")
        return self


class Malomrade(Strict):
    key: Key
    name: Text
    description: Text | None = None


class GoalLevel(Strict):
    key: Key
    name: Text
    scale: Scale | None = None  # None: structure only, not reported (RF's övergripande mål)
    rollup: Rollup = Rollup()


class Period(Strict):
    key: PeriodKey
    name: Text
    as_of: YearDateField  # "per april": the date the statuses describe
    steps: KeyList = Field(min_length=1)  # the follow-up step templates that report it


class Indicator(Strict):
    name: Text
    unit: Annotated[str, StringConstraints(min_length=1, max_length=40, strip_whitespace=True)]
    baseline: float | None = None
    target: float
    direction: Literal["higher", "lower", "equal"]


class GoalItem(Strict):
    key: Key
    name: Text
    level: Key
    parent: Key | None = None
    malomrade: Key | None = None  # required at the top of a branch; inherited below
    owner: Key  # a unit or a body
    assigned_by: Key | None = None  # an uppdrag: the body that gave it
    plan: Key  # the verksamhetsplan step template the item belongs to
    indicator: Indicator | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None


class GoalsFile(Strict):
    year: int = Field(ge=2000, le=2100)
    example: bool = False
    note: Text | None = None
    malomraden: list[Malomrade] = Field(min_length=1)
    levels: list[GoalLevel] = Field(min_length=1)
    periods: list[Period] = Field(min_length=1)
    items: list[GoalItem] = Field(default_factory=list)
