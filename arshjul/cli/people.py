"""`arshjul people …`: who is away (their stand-in gets their mail), and who stands in."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session

from arshjul.cli import plan_changes
from arshjul.cli.common import cli_origin, console, database, fail, load, parse_date, today_in
from arshjul.core.database import session_scope
from models.people import load_directory
from models.swedish_faults import REASON_MAX_CHARS as NOTE_MAX_CHARS
from models.swedish_faults import too_long
from models.tables import Absence


def people_absent(
    person: Annotated[str, typer.Argument(help="Personens e-postadress eller nyckel.")],
    start: Annotated[str, typer.Option("--from", help="Första frånvarodag ÅÅÅÅ-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Sista frånvarodag ÅÅÅÅ-MM-DD.")],
    note: Annotated[str, typer.Option(help="Notering (t.ex. semester).")] = "",
    as_: Annotated[
        str | None, typer.Option("--as", help="Din e-postadress (för någon annans frånvaro krävs en planroll).")
    ] = None,
) -> None:
    """Registrera frånvaro: ersättaren får personens meddelanden under perioden."""
    from arshjul.core import clock
    from models.audit import append_audit
    from models.plan_authority import require_plan_role
    from models.steps import StepActionError

    definition = load(None)
    today = today_in(definition)
    # An absence is recorded for the near past or the coming years, not from year 1 to 9999.
    window = dict(earliest=today - dt.timedelta(days=366), latest=dt.date(today.year + 3, 12, 31))
    first, last = parse_date(start, "--from", **window), parse_date(end, "--to", **window)
    if last < first:
        fail(f"frånvaron slutar ({last}) före den börjar ({first})")
    if len(note) > NOTE_MAX_CHARS:
        fail(too_long("noteringen", len(note), NOTE_MAX_CHARS))
    engine = database()
    org_key = definition.organisation.info.key
    with Session(engine) as session:
        directory = load_directory(session=session, organisation=org_key)
    member = directory.by_email(person) or directory.members.get(person)
    if member is None:
        fail(f"okänd person '{person}' (har en cykel startats? personerna läses in då)")
    actor = directory.by_email(as_) if as_ else member
    if actor is None:
        fail(f"okänd e-postadress '{as_}' (--as)")
    role = None
    if actor.key != member.key:  # for someone else: a role the organisation names for it
        try:
            role = require_plan_role(definition.organisation, actor, [None], "registrera frånvaro för andra")
        except StepActionError as exc:
            fail(str(exc))
    with session_scope(engine) as session:
        session.add(
            Absence(organisation=org_key, person_key=member.key, start=first, end=last, note=note or None, source="cli")
        )
        append_audit(
            session=session,
            at=clock.now(),
            actor=actor.key,
            actor_role=role,
            action="person.absence_recorded",
            source="cli",
            after={"person": member.key, "from": first.isoformat(), "to": last.isoformat(), "note": note or None},
            origin=cli_origin(as_ or None),
        )
    standin = directory.name(member.standin) if member.standin else None
    covered = f" {standin} får meddelandena under tiden." if standin else " Personen har ingen ersättare!"
    console.print(f"{member.name} är frånvarande {first}–{last}." + covered, highlight=False)


def people_list() -> None:
    """Personer, ersättare och frånvaro."""
    definition = load(None)
    engine = database()
    with Session(engine) as session:
        directory = load_directory(session=session, organisation=definition.organisation.info.key)
    table = Table(title=f"{len(directory.members)} personer", header_style="bold")
    for column in ("Namn", "E-post", "Titel", "Ersättare", "Frånvaro", "Utskick"):
        table.add_column(column)
    for member in sorted(directory.members.values(), key=lambda m: m.name):
        periods = ", ".join(f"{a}–{b}" for a, b in directory.absences.get(member.key, []))
        table.add_row(
            member.name,
            member.email,
            member.title or "",
            directory.name(member.standin) if member.standin else "–",
            periods or "–",
            "daglig sammanfattning" if member.digest == "daily" else "enskilda + veckosammanfattning",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Personer: frånvaro och ersättare.", no_args_is_help=True)
    group.command("absent")(people_absent)
    group.command("list")(people_list)
    group.command("replace")(plan_changes.people_replace)
    app.add_typer(group, name="people")
