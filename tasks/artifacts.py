"""The regionstab's view of a cycle as Prefect artifacts: a status table per process and
level, and a markdown list of what is overdue, by whom, and what waits downstream."""

from __future__ import annotations

import datetime as dt

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from sqlmodel import Session

from arshjul.core import runtime
from arshjul.core.settings import get_settings
from arshjul.views.markdown import inert, table_cell
from models.followup import period_statuses, stored_plan
from models.followup_warnings import REASONS, early_warnings_by_body
from models.people import load_directory
from models.queries import cycle_steps, failed_messages
from models.reconciliation import recent_heals
from models.reporting import COLUMN_NAMES, COLUMNS, overdue_items, status_rows
from models.swedish_faults import fault_standing
from models.tables import Cycle, Mode, SmtpFault
from notifications.smtp_faults import standing_fault


def _artifact_key(cycle: Cycle, name: str) -> str:
    mode = "" if cycle.mode == Mode.live else "simulering-"
    return f"arshjul-{mode}{cycle.year}-{name}"


def overview_url(cycle: Cycle) -> str:
    """The regionstab's year at a glance in the web app (behind the same sign-in)."""
    simulation = "?simulering=1" if cycle.mode == Mode.simulation else ""
    return f"{get_settings().resolved_public_url}/regionstab/{cycle.year}{simulation}"


def run_link(text: str, flow_run_id: str | None) -> str:
    """`text` (made inert) as a link to its run in the Prefect UI."""
    if not flow_run_id:
        return table_cell(text)
    return f"[{table_cell(text)}]({get_settings().ui_url.rstrip('/')}/runs/flow-run/{flow_run_id})"


def status_markdown(cycle: Cycle, today: dt.date) -> tuple[list[dict], str]:
    """The table rows and the overdue list for one cycle (pure apart from the reads)."""
    definition = runtime.definition()
    overview = overview_url(cycle)
    org = definition.organisation
    with Session(runtime.engine()) as session:
        steps = cycle_steps(session=session, cycle_id=cycle.id)
        directory = load_directory(session=session, organisation=cycle.organisation)
        items = overdue_items(session=session, steps=steps, today=today, calendar=org.calendar)
    table = []
    for row in status_rows(steps, today, org.levels):
        entry = {
            "Process": definition.processes[row.process].name if row.process in definition.processes else row.process,
            "Nivå": org.level_names.get(row.level, row.level),
        }
        entry.update({COLUMN_NAMES[c]: row.counts[c] for c in COLUMNS})
        entry["Totalt"] = row.total
        # The page lists the row's steps, each linking to its run.
        page, _, query = overview.partition("?")
        entry["Stegen"] = f"{page}{'?' + query if query else ''}#{row.process}-{row.level}"
        table.append(entry)
    lines = [
        f"# Försenade steg i årshjulet {cycle.year}",
        "",
        f"Läget {today.isoformat()}: {len(items)} steg har passerat sin deadline utan att vara inlämnade. "
        f"Hela året på en sida: [årsöversikten]({overview}).",
        "",
    ]
    if items:
        lines += [
            "| Steg | Enhet | Ägare | Deadline | Arbetsdagar sent | Väntar nedströms |",
            "|---|---|---|---|---|---|",
        ]
        for item in items:
            step = item.step
            waiting = ", ".join(
                f"{run_link(d.name, d.flow_run_id)} · {table_cell(d.unit_name)}" for d in item.waiting_downstream[:4]
            )
            if len(item.waiting_downstream) > 4:
                waiting += f" och {len(item.waiting_downstream) - 4} till"
            cells = [
                run_link(step.name, step.flow_run_id),
                table_cell(step.unit_name),
                table_cell(directory.name(step.owner)),
                step.due.isoformat(),
            ]
            lines.append(f"| {' | '.join(cells)} | {item.working_days_late} | {waiting or '–'} |")
    else:
        lines.append("Inget är försenat.")
    lines += early_warning_lines(cycle, steps, directory)
    return table, "\n".join(lines)


def early_warning_lines(cycle: Cycle, steps: list, directory) -> list[str]:
    """The latest follow-up period's early warnings (red now, or yellow twice), per body
    with its responsible official: the owner of the body's follow-up step."""
    with Session(runtime.engine()) as session:
        plan = stored_plan(session=session, organisation=cycle.organisation, year=cycle.year, mode=cycle.mode)
        if plan is None:
            return []
        reported = [
            key
            for key in plan.periods
            if period_statuses(
                session=session, organisation=cycle.organisation, year=cycle.year, mode=cycle.mode, period=key
            )
        ]
        if not reported:
            return []
        period = reported[-1]
        warnings = early_warnings_by_body(
            plan, period, session=session, organisation=cycle.organisation, mode=cycle.mode
        )
    lines = ["", f"## Tidig varning – {inert(plan.periods[period].name)}", ""]
    if not warnings:
        return [*lines, "Inga mål har blivit röda eller varit gula två perioder i rad."]
    owners = {step.unit: step.owner for step in steps if step.step in plan.periods[period].steps}
    lines += ["| Organ | Mål | Varför | Ansvarig tjänsteperson |", "|---|---|---|---|"]
    for body, items in warnings.items():
        official = directory.name(owners[body]) if owners.get(body) else "–"
        for warning in items:
            cells = [body, warning.name, REASONS[warning.reason], official]
            lines.append("| " + " | ".join(table_cell(cell) for cell in cells) + " |")
    return lines


@task(name="publicera läget")
def publish_status(cycle_id: int, today: dt.date) -> None:
    with Session(runtime.engine()) as session:
        cycle = session.get(Cycle, cycle_id)
    table, markdown = status_markdown(cycle, today)
    with Session(runtime.engine()) as session:
        heals = recent_heals(session=session, cycle_id=cycle.id)
    healed = (
        f" Avstämningen har rättat {len(heals)} körningar eller svar, senast {heals[0].at:%Y-%m-%d %H:%M} "
        f"(se {_artifact_key(cycle, 'avstamning')})."
        if heals
        else " Avstämningen: alla körningar stämmer med stegen."
    )
    create_table_artifact(
        key=_artifact_key(cycle, "status"),
        table=table,
        description=(
            f"Årshjulet {cycle.year}: steg per process och nivå, läget {today.isoformat()}. "
            f"Årsöversikten med hjulet, det som snart ska in och det försenade: {overview_url(cycle)}.{healed}"
        ),
    )
    create_markdown_artifact(
        key=_artifact_key(cycle, "forsenat"),
        markdown=markdown,
        description=f"Årshjulet {cycle.year}: försenade steg {today.isoformat()}.",
    )
    create_markdown_artifact(
        key=_artifact_key(cycle, "avstamning"),
        markdown=heals_markdown(cycle, heals),
        description=f"Årshjulet {cycle.year}: körningar som avstämningen har rättat.",
    )


def heals_markdown(cycle: Cycle, heals: list) -> str:
    """What the reconciler healed, newest first: the regionstab sees that a crash or a
    state forced by hand was caught, and what was done."""
    lines = [f"# Avstämning av årshjulet {cycle.year}", ""]
    if not heals:
        return "\n".join(lines + ["Alla körningar stämmer med stegen; inget har behövt rättas."])
    with Session(runtime.engine()) as session:
        steps = {s.id: s for s in cycle_steps(session=session, cycle_id=cycle.id)}
    lines += [
        "Appens databas är facit: en körning som inte stämmer med sitt steg (kraschad, avslutad för hand, "
        "eller ett svar som aldrig registrerades) rättas och startas om från stegets läge.",
        "",
        "| När | Steg | Enhet | Vad | Åtgärd |",
        "|---|---|---|---|---|",
    ]
    for entry in heals:
        step = steps.get(entry.instance_id)
        what = entry.comment or entry.action
        name = run_link(step.name, step.flow_run_id) if step else "–"
        unit = table_cell(step.unit_name) if step else "–"
        lines.append(
            f"| {entry.at:%Y-%m-%d %H:%M} | {name} | {unit} | {table_cell(what)} | {table_cell(entry.action)} |"
        )
    return "\n".join(lines)


def failed_mail_markdown(failed: list, fault: SmtpFault | None = None) -> str:
    lines = ["# Utskick som inte gick fram", ""]
    if fault is not None:
        lines += [
            "## E-postservern nekar konfigurationen: inget skickas",
            "",
            inert(fault_standing(fault.message, fault.since, fault.retry_at)),
            "",
        ]
    if not failed:
        if fault is not None:
            return "\n".join(lines + ["Inga meddelanden har gett upp: de som ska ut väntar i utkorgen tills dess."])
        return "\n".join(lines + ["Alla meddelanden har gått fram."])
    lines += [
        f"{len(failed)} meddelanden misslyckades efter sista försöket. "
        "Rätta adressen eller vänta tills e-postservern tar emot igen, "
        "och skicka om med `arshjul mail resend ID` (eller `--all`).",
        "",
        "| ID | Till | Ämne | Försök | Senaste fel |",
        "|---|---|---|---|---|",
    ]
    for message in failed:
        subject = message.subject or message.kind
        cells = [str(message.id), message.recipient, subject, str(message.attempts), message.last_error or ""]
        lines.append("| " + " | ".join(table_cell(cell) for cell in cells) + " |")
    return "\n".join(lines)


@task(name="publicera misslyckade utskick")
def publish_failed_mail() -> int:
    """The dead letters, for the regionstab (also `arshjul mail failed`)."""
    with Session(runtime.engine()) as session:
        failed = failed_messages(session=session, mode=Mode.live)
    fault = standing_fault(runtime.engine())
    create_markdown_artifact(
        key="arshjul-misslyckade-utskick",
        markdown=failed_mail_markdown(failed, fault),
        description="E-post som inte gick att skicka.",
    )
    return len(failed)
