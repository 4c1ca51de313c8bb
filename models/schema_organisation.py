"""The schema of `organisation.yaml` as a whole: its sections (the units, bodies, roles
and people in `models.schema`), and the parts a living årshjul added — external
calendars and their milestones, mandate periods, who may change the plan."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from models.schema import Body, Key, KeyList, Level, OrganisationInfo, Person, Role, Strict, Text, Unit


class MilestoneSpec(Strict):
    """A milestone: the events of an external calendar whose summary contains `summary`."""

    key: Key
    summary: Text


def _feed_address(value: str) -> str:
    """An http(s) address with a host and nothing that could smuggle a header or a file."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("måste vara en webbadress som börjar med http:// eller https://")
    if any(char.isspace() or ord(char) < 32 for char in value):
        raise ValueError("en webbadress får inte innehålla blanksteg eller styrtecken")
    try:
        parts.port  # noqa: B018 (a port outside 0-65535 raises here)
    except ValueError:
        raise ValueError("ogiltig port i webbadressen") from None
    return value


FeedAddress = Annotated[str, StringConstraints(max_length=500), AfterValidator(_feed_address)]


class ExternalCalendar(Strict):
    """A national or external calendar (SKR's timetable, national deadlines): an .ics
    file in the organisation's folder (`file`) or a feed over the network (`url`), whose
    last good copy the kernel keeps (arshjul.core.calendar_feeds)."""

    key: Key
    name: Text
    file: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.ics$", max_length=120)] | None = None
    url: FeedAddress | None = None
    milestones: list[MilestoneSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_source(self) -> ExternalCalendar:
        if (self.file is None) == (self.url is None):
            raise ValueError("ange antingen file (en .ics-fil i mappen) eller url (ett flöde), inte båda eller inget")
        return self

    @property
    def source(self) -> str:
        """What messages call the calendar: its file or its address."""
        return self.file or self.url or self.key


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
