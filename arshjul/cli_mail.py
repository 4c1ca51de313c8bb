"""`arshjul mail …`, `arshjul people …` and `arshjul audit …`: what was sent to whom, who
is away, and the tamper-evident record auditors ask for."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table
from sqlmodel import Session, select

from arshjul.cli_common import app, console, errors, fail, load, parse_date
from arshjul.database import get_engine, migrate, session_scope

mail_app = typer.Typer(help="E-post: logg, misslyckade utskick, skicka om.", no_args_is_help=True)
people_app = typer.Typer(help="Personer: frånvaro och ersättare.", no_args_is_help=True)
audit_app = typer.Typer(help="Granskningsloggen: kontrollera och exportera.", no_args_is_help=True)
app.add_typer(mail_app, name="mail")
app.add_typer(people_app, name="people")
app.add_typer(audit_app, name="audit")

KIND_NAMES = {
    "opened": "steget öppnat", "awaiting_decision": "att besluta", "reminder": "påminnelse", "due_today": "deadline i dag",
    "overdue": "försenat", "escalation": "eskalering", "returned": "återremitterat", "decided": "godkänt",
    "deadline_moved": "ny deadline", "digest": "sammanfattning",
}
STATE_NAMES = {"pending": "väntar", "sent": "skickat", "failed": "misslyckat"}


def database():
    engine = get_engine()
    migrate(engine)
    return engine


@mail_app.command("log")
def mail_log(
    to: Annotated[Optional[str], typer.Option("--to", help="Mottagarens e-postadress.")] = None,
    step: Annotated[Optional[str], typer.Option("--step", help="Stegmall (t.ex. enhet_verksamhetsplan) eller stegets id.")] = None,
    year: Annotated[Optional[int], typer.Option(help="Planår.")] = None,
    simulation: Annotated[bool, typer.Option("--simulation", help="Simuleringens e-post.")] = False,
    output_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Vad som skickats till vem och när, och vad som misslyckats."""
    from models.tables import Cycle, OutboxMessage, StepInstance

    engine = database()
    query = (
        select(OutboxMessage, StepInstance, Cycle)
        .join(StepInstance, StepInstance.id == OutboxMessage.instance_id, isouter=True)
        .join(Cycle, Cycle.id == OutboxMessage.cycle_id, isouter=True)
        .where(OutboxMessage.mode == ("simulation" if simulation else "live"))
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    if to:
        query = query.where(OutboxMessage.recipient == to.strip().lower())
    if step:
        query = query.where(StepInstance.id == int(step)) if step.isdigit() else query.where(StepInstance.step == step)
    if year:
        query = query.where(Cycle.year == year)
    with Session(engine) as session:
        rows = session.exec(query).all()
    if output_json:
        sys.stdout.write(json.dumps([
            {"key": m.key, "kind": m.kind, "to": m.recipient, "on_behalf_of": m.on_behalf_of, "step": s.key if s else None,
             "state": str(m.state.value if hasattr(m.state, "value") else m.state), "attempts": m.attempts, "subject": m.subject,
             "created_at": m.created_at.isoformat(), "sent_at": m.sent_at.isoformat() if m.sent_at else None, "message_id": m.message_id, "error": m.last_error}
            for m, s, _ in rows], ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"{len(rows)} meddelanden", header_style="bold")
    for column in ("ID", "Skapat (UTC)", "Till", "Typ", "Steg", "Läge", "Skickat (UTC)", "Fel"):
        table.add_column(column)
    for message, instance, _ in rows:
        state = str(message.state.value if hasattr(message.state, "value") else message.state)
        table.add_row(
            str(message.id), f"{message.created_at:%Y-%m-%d %H:%M}", message.recipient + (f" (för {message.on_behalf_of})" if message.on_behalf_of else ""),
            KIND_NAMES.get(message.kind, message.kind), f"{instance.name} · {instance.unit_name}" if instance else "–",
            STATE_NAMES.get(state, state) + (f" ({message.attempts} försök)" if message.attempts > 1 else ""),
            f"{message.sent_at:%Y-%m-%d %H:%M}" if message.sent_at else "–", message.last_error or "",
        )
    console.print(table)


@mail_app.command("failed")
def mail_failed() -> None:
    """Meddelanden som inte gick att skicka efter sista försöket."""
    from models.tables import OutboxMessage, OutboxState

    engine = database()
    with Session(engine) as session:
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.state == OutboxState.failed.value).order_by(OutboxMessage.id)).all()
    if not failed:
        console.print("Inga misslyckade utskick.", highlight=False)
        return
    table = Table(title=f"{len(failed)} misslyckade utskick – skicka om med `arshjul mail resend ID` eller `--all`", header_style="bold")
    for column in ("ID", "Till", "Typ", "Ämne", "Försök", "Senaste fel"):
        table.add_column(column)
    for message in failed:
        table.add_row(str(message.id), message.recipient, KIND_NAMES.get(message.kind, message.kind), message.subject or "–", str(message.attempts), message.last_error or "")
    console.print(table)


@mail_app.command("resend")
def mail_resend(
    ids: Annotated[Optional[list[int]], typer.Argument(metavar="[ID]...")] = None,
    all_failed: Annotated[bool, typer.Option("--all", help="Alla misslyckade.")] = False,
) -> None:
    """Lägg misslyckade meddelanden i kö igen (samma Message-ID)."""
    from arshjul import clock
    from models.tables import OutboxMessage, OutboxState

    if not ids and not all_failed:
        fail("ange meddelandenas id eller --all")
    engine = database()
    with session_scope(engine) as session:
        query = select(OutboxMessage).where(OutboxMessage.state == OutboxState.failed.value)
        if ids:
            query = query.where(OutboxMessage.id.in_(ids))
        rows = session.exec(query).all()
        if ids and len(rows) != len(set(ids)):
            missing = sorted(set(ids) - {r.id for r in rows})
            fail(f"inga misslyckade meddelanden med id {', '.join(map(str, missing))}")
        for row in rows:
            row.state = OutboxState.pending
            row.attempts = 0
            row.next_attempt_at = clock.now()
            session.add(row)
    console.print(f"{len(rows)} meddelanden ligger i kö igen; de skickas inom en minut av `arshjul serve` (eller `arshjul mail send`).", highlight=False)


@mail_app.command("send")
def mail_send(
    simulation: Annotated[bool, typer.Option("--simulation")] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, max=16, help="Antal parallella processer (för stora utskick).")] = 1,
) -> None:
    """Skicka det som är på tur i utkorgen nu."""
    load(None)
    database()
    from tasks.mail import deliver

    report = deliver("simulation" if simulation else "live", workers=workers)
    console.print(f"Skickade {report.sent}; {report.retried} försöks igen senare; {report.dead_lettered} misslyckades.", highlight=False)
    if report.server_unreachable:
        errors.print(f"SMTP-servern svarar inte ({'; '.join(report.errors)}): meddelandena väntar.", highlight=False)
        raise typer.Exit(1)


@people_app.command("absent")
def people_absent(
    person: Annotated[str, typer.Argument(help="Personens e-postadress eller nyckel.")],
    start: Annotated[str, typer.Option("--from", help="Första frånvarodag ÅÅÅÅ-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Sista frånvarodag ÅÅÅÅ-MM-DD.")],
    note: Annotated[str, typer.Option(help="Notering (t.ex. semester).")] = "",
) -> None:
    """Registrera frånvaro: ersättaren får personens meddelanden under perioden."""
    from models.people import load_directory
    from models.tables import Absence

    definition = load(None)
    engine = database()
    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    if last < first:
        fail(f"frånvaron slutar ({last}) före den börjar ({first})")
    org_key = definition.organisation.info.key
    with Session(engine) as session:
        directory = load_directory(session, org_key)
    member = directory.by_email(person) or directory.members.get(person)
    if member is None:
        fail(f"okänd person '{person}' (har en cykel startats? personerna läses in då)")
    with session_scope(engine) as session:
        session.add(Absence(organisation=org_key, person_key=member.key, start=first, end=last, note=note or None, source="cli"))
    standin = directory.name(member.standin) if member.standin else None
    console.print(f"{member.name} är frånvarande {first}–{last}." + (f" {standin} får meddelandena under tiden." if standin else " Personen har ingen ersättare!"), highlight=False)


@people_app.command("list")
def people_list() -> None:
    """Personer, ersättare och frånvaro."""
    from models.people import load_directory

    definition = load(None)
    engine = database()
    with Session(engine) as session:
        directory = load_directory(session, definition.organisation.info.key)
    table = Table(title=f"{len(directory.members)} personer", header_style="bold")
    for column in ("Namn", "E-post", "Titel", "Ersättare", "Frånvaro", "Utskick"):
        table.add_column(column)
    for member in sorted(directory.members.values(), key=lambda m: m.name):
        periods = ", ".join(f"{a}–{b}" for a, b in directory.absences.get(member.key, []))
        table.add_row(member.name, member.email, member.title or "", directory.name(member.standin) if member.standin else "–", periods or "–", "daglig sammanfattning" if member.digest == "daily" else "enskilda + veckosammanfattning")
    console.print(table)


@audit_app.command("verify")
def audit_verify() -> None:
    """Kontrollera att granskningsloggens hashkedja är obruten."""
    from models.audit import verify_chain

    engine = database()
    with Session(engine) as session:
        checked, problems = verify_chain(session)
    if problems:
        for problem in problems:
            errors.print(f"post {problem.entry_id}: {problem.message}", highlight=False)
        fail(f"granskningsloggen är inte intakt: {len(problems)} fel bland {checked} poster", code=1)
    console.print(f"Granskningsloggen är intakt: {checked} poster, obruten hashkedja.", highlight=False)


@audit_app.command("export")
def audit_export(
    output: Annotated[Path, typer.Option("--output", "-o", help="Fil att skriva (.csv eller .jsonl).")],
    since: Annotated[Optional[str], typer.Option("--since", help="Från och med ÅÅÅÅ-MM-DD.")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Till (inte med) ÅÅÅÅ-MM-DD.")] = None,
) -> None:
    """Exportera granskningsloggen (med hashar, så att kedjan kan kontrolleras utanför systemet)."""
    from models.audit import iter_entries

    if output.suffix not in (".csv", ".jsonl"):
        fail("skriv till en .csv- eller .jsonl-fil")
    start = dt.datetime.combine(parse_date(since, "--since"), dt.time(), dt.timezone.utc) if since else None
    stop = dt.datetime.combine(parse_date(until, "--until"), dt.time(), dt.timezone.utc) if until else None
    engine = database()
    fields = ["id", "at", "actor", "actor_role", "source", "action", "cycle_id", "instance_id", "before", "after", "comment", "flow_run_id", "prev_hash", "hash"]
    count = 0
    with Session(engine) as session, output.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields) if output.suffix == ".csv" else None
        if writer:
            writer.writeheader()
        for entry in iter_entries(session, since=start, until=stop):
            row = {name: getattr(entry, name) for name in fields}
            row["at"] = entry.at.isoformat()
            if writer:
                row["before"] = json.dumps(entry.before, ensure_ascii=False) if entry.before is not None else ""
                row["after"] = json.dumps(entry.after, ensure_ascii=False) if entry.after is not None else ""
                writer.writerow(row)
            else:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    console.print(f"Skrev {count} poster till {output}.", highlight=False)
