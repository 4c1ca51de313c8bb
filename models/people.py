"""The people of an organisation as the running system sees them: the snapshot in the app
database (refreshed from organisation.yaml at cycle start) plus absences entered with
`arshjul people absent`. Who acts for an absent person is decided here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from models.tables import Absence, Person


@dataclass(frozen=True)
class Member:
    key: str
    name: str
    email: str
    title: str | None
    standin: str | None
    reports_to: str | None
    digest: str


@dataclass
class Directory:
    organisation: str
    members: dict[str, Member]
    absences: dict[str, list[tuple[dt.date, dt.date]]] = field(default_factory=dict)

    def __contains__(self, key: str) -> bool:
        return key in self.members

    def __getitem__(self, key: str) -> Member:
        return self.members[key]

    def name(self, key: str | None) -> str:
        return self.members[key].name if key in self.members else (key or "–")

    def by_email(self, email: str) -> Member | None:
        wanted = email.strip().lower()
        return next((m for m in self.members.values() if m.email == wanted), None)

    def is_absent(self, key: str, day: dt.date) -> bool:
        return any(start <= day <= end for start, end in self.absences.get(key, []))

    def acting_for(self, key: str, day: dt.date) -> str:
        """The person who acts for `key` on `day`: themselves, or their stand-in (or the
        stand-in's stand-in) while they are away. If everyone in the chain is away, the
        last one reachable is used rather than nobody."""
        seen = {key}
        current = key
        while self.is_absent(current, day):
            standin = self.members[current].standin if current in self.members else None
            if not standin or standin in seen:
                break
            seen.add(standin)
            current = standin
        return current

    def may_act_for(self, actor: str, principal: str) -> bool:
        """The principal themselves, or anyone in their chain of stand-ins."""
        seen: set[str] = set()
        current: str | None = principal
        while current and current not in seen:
            if current == actor:
                return True
            seen.add(current)
            current = self.members[current].standin if current in self.members else None
        return False


def load_directory(*, session: Session, organisation: str) -> Directory:
    # Columns, not ORM objects: every page of the web app reads the whole directory, and
    # building hundreds of tracked Person objects cost more than the rest of the page.
    fields = (Person.key, Person.name, Person.email, Person.title, Person.standin, Person.reports_to, Person.digest)
    people = select(*(col(field) for field in fields)).where(col(Person.organisation) == organisation)
    rows: list[Any] = list(session.connection().execute(people))
    members = {row.key: Member(*row) for row in rows}
    absences: dict[str, list[tuple[dt.date, dt.date]]] = {}
    away = select(col(Absence.person_key), col(Absence.start), col(Absence.end)).where(
        col(Absence.organisation) == organisation
    )
    for person_key, start, end in session.connection().execute(away):
        absences.setdefault(person_key, []).append((start, end))
    return Directory(organisation, members, absences)
