"""`arshjul mail …`: what was sent to whom and when, what failed, sending it again."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session

from arshjul.cli.common import check_ids, check_year, console, database, errors, fail, load
from arshjul.core.database import session_scope
from models.queries import failed_messages, outbox_log
from models.tables import Mode, OutboxState

KIND_NAMES = {
    "opened": "steget öppnat",
    "awaiting_decision": "att besluta",
    "reminder": "påminnelse",
    "due_today": "deadline i dag",
    "overdue": "försenat",
    "escalation": "eskalering",
    "returned": "återremitterat",
    "decided": "godkänt",
    "deadline_moved": "ny deadline",
    "digest": "sammanfattning",
    "cancelled": "inställt",
    "new_link": "ny länk",
}
STATE_NAMES = {"pending": "väntar", "sent": "skickat", "failed": "misslyckat"}


def mail_log(
    to: Annotated[str | None, typer.Option("--to", help="Mottagarens e-postadress.")] = None,
    step: Annotated[
        str | None, typer.Option("--step", help="Stegmall (t.ex. enhet_verksamhetsplan) eller stegets id.")
    ] = None,
    year: Annotated[int | None, typer.Option(help="Planår.")] = None,
    simulation: Annotated[bool, typer.Option("--simulation", help="Simuleringens e-post.")] = False,
    output_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Vad som skickats till vem och när, och vad som misslyckats."""
    if year is not None:
        check_year(year)
    if step and step.isdigit():
        check_ids([int(step)], "steg-id")
    engine = database()
    with Session(engine) as session:
        rows = outbox_log(session=session, mode=Mode.of(simulation), recipient=to, step=step, year=year)
    if output_json:
        listed = [
            {
                "key": m.key,
                "kind": m.kind,
                "to": m.recipient,
                "on_behalf_of": m.on_behalf_of,
                "step": s.key if s else None,
                "state": OutboxState(m.state).value,
                "attempts": m.attempts,
                "subject": m.subject,
                "created_at": m.created_at.isoformat(),
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                "message_id": m.message_id,
                "error": m.last_error,
            }
            for m, s, _ in rows
        ]
        sys.stdout.write(json.dumps(listed, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"{len(rows)} meddelanden", header_style="bold")
    for column in ("ID", "Skapat (UTC)", "Till", "Typ", "Steg", "Läge", "Skickat (UTC)", "Fel"):
        table.add_column(column)
    for message, instance, _ in rows:
        state = OutboxState(message.state).value
        table.add_row(
            str(message.id),
            f"{message.created_at:%Y-%m-%d %H:%M}",
            message.recipient + (f" (för {message.on_behalf_of})" if message.on_behalf_of else ""),
            KIND_NAMES.get(message.kind, message.kind),
            f"{instance.name} · {instance.unit_name}" if instance else "–",
            STATE_NAMES.get(state, state) + (f" ({message.attempts} försök)" if message.attempts > 1 else ""),
            f"{message.sent_at:%Y-%m-%d %H:%M}" if message.sent_at else "–",
            message.last_error or "",
        )
    console.print(table)


def mail_stats_command(
    year: Annotated[int | None, typer.Option(help="Bara e-post skickad det här kalenderåret.")] = None,
    simulation: Annotated[bool, typer.Option("--simulation", help="Simuleringens e-post.")] = False,
    output_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Hur mycket e-post var och en får: per person och månad, per typ, andel sammanfattningar."""
    from models.mail_stats import mail_stats, sent_rows

    if year is not None:
        check_year(year)
    definition = load(None)
    with Session(database()) as session:
        rows = sent_rows(session=session, mode=Mode.of(simulation), year=year)
    stats = mail_stats(rows, definition.organisation.calendar)
    if output_json:
        sys.stdout.write(json.dumps(stats.as_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    console.print(f"{stats.mails} mejl, varav {stats.digests} sammanfattningar ({stats.digest_share:.0%}).")
    console.print(
        f"Mejl per person och månad: median {stats.per_person_month_median:g}, "
        f"90:e percentilen {stats.per_person_month_p90:g}, högst {stats.per_person_month_max}."
    )
    console.print(
        f"Flest mejl till en person: {stats.most_mailed} (varav högst {stats.most_digests} sammanfattningar); "
        f"flest schemalagda mejl till en person på en dag: {stats.most_scheduled_in_a_day}."
    )
    table = Table(title="Meddelanden per typ", header_style="bold")
    table.add_column("Typ")
    table.add_column("Antal", justify="right")
    for kind, number in sorted(stats.per_kind.items(), key=lambda item: -item[1]):
        table.add_row(KIND_NAMES.get(kind, kind), str(number))
    console.print(table)


def mail_failed() -> None:
    """Meddelanden som inte gick att skicka efter sista försöket."""
    from models.swedish_faults import fault_standing
    from notifications.smtp_faults import standing_fault

    engine = database()
    with Session(engine) as session:
        failed = failed_messages(session=session)
    fault = standing_fault(engine)
    if fault is not None:
        errors.print(
            "[red]E-postservern nekar konfigurationen:[/red] "
            + fault_standing(fault.message, fault.since, fault.retry_at),
            highlight=False,
            soft_wrap=True,
        )
    if not failed:
        console.print("Inga misslyckade utskick.", highlight=False)
        return
    title = f"{len(failed)} misslyckade utskick – skicka om med `arshjul mail resend ID` eller `--all`"
    table = Table(title=title, header_style="bold")
    for column in ("ID", "Till", "Typ", "Ämne", "Försök", "Senaste fel"):
        table.add_column(column)
    for message in failed:
        table.add_row(
            str(message.id),
            message.recipient,
            KIND_NAMES.get(message.kind, message.kind),
            message.subject or "–",
            str(message.attempts),
            message.last_error or "",
        )
    console.print(table)


def mail_resend(
    ids: Annotated[list[int] | None, typer.Argument(metavar="[ID]...")] = None,
    all_failed: Annotated[bool, typer.Option("--all", help="Alla misslyckade.")] = False,
) -> None:
    """Lägg misslyckade meddelanden i kö igen (samma Message-ID)."""
    from arshjul.core import clock

    if not ids and not all_failed:
        fail("ange meddelandenas id eller --all")
    check_ids(ids or [])
    engine = database()
    with session_scope(engine) as session:
        rows = failed_messages(session=session, ids=ids)
        if ids and len(rows) != len(set(ids)):
            missing = sorted(set(ids) - {r.id for r in rows})
            fail(f"inga misslyckade meddelanden med id {', '.join(map(str, missing))}")
        for row in rows:
            row.state = OutboxState.pending
            row.attempts = 0
            row.next_attempt_at = clock.now()
            session.add(row)
    console.print(
        f"{len(rows)} meddelanden ligger i kö igen; de skickas inom en minut av `arshjul serve` "
        "(eller `arshjul mail send`).",
        highlight=False,
    )


def mail_send(
    simulation: Annotated[bool, typer.Option("--simulation")] = False,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=16, help="Antal parallella processer (för stora utskick).")
    ] = 1,
) -> None:
    """Skicka det som är på tur i utkorgen nu."""
    from tasks.mail import deliver

    load(None)
    database()
    # By hand: log in even if the relay refused this configuration a moment ago.
    report = deliver(Mode.of(simulation), workers=workers, retry_refused_now=True)
    console.print(
        f"Skickade {report.sent}; {report.retried} försöks igen senare; {report.dead_lettered} misslyckades.",
        highlight=False,
    )
    if report.configuration_error:
        fail(report.configuration_error)
    if report.server_unreachable:
        errors.print(f"SMTP-servern svarar inte ({'; '.join(report.errors)}): meddelandena väntar.", highlight=False)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="E-post: logg, misslyckade utskick, skicka om.", no_args_is_help=True)
    group.command("log")(mail_log)
    group.command("failed")(mail_failed)
    group.command("resend")(mail_resend)
    group.command("send")(mail_send)
    group.command("stats")(mail_stats_command)
    app.add_typer(group, name="mail")
