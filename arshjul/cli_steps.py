"""`arshjul cycle …`, `arshjul steps …`, `arshjul serve` and `arshjul simulate`: the cycle
in Prefect, and the same rules and audit as the UI form for people without the UI."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from typing import Annotated, Optional

import typer
from rich.table import Table
from sqlmodel import Session, select

from arshjul.cli_common import EMBEDDED_PREFECT, OrgOption, app, console, errors, fail, load, parse_date, today_in
from arshjul.database import get_engine, migrate
from arshjul.settings import get_settings
from models.reporting import COLUMN_NAMES, COLUMNS, status_rows
from models.states import Action
from models.steps import StepActionError, state_label, step_is_done
from models.tables import STATE_NAMES, AuditEntry, Cycle, StepInstance, StepState

cycle_app = typer.Typer(help="Starta en cykel och följ dess läge.", no_args_is_help=True)
steps_app = typer.Typer(help="Steg: lista, visa, lämna in, godkänn, återremittera, flytta deadline.", no_args_is_help=True)
app.add_typer(cycle_app, name="cycle")
app.add_typer(steps_app, name="steps")

SimulationOption = Annotated[bool, typer.Option("--simulation", help="Simuleringens cykel i stället för den skarpa.")]


def database():
    """The app database, migrated (migrations run on every start)."""
    engine = get_engine()
    migrate(engine)
    return engine


def require_prefect() -> None:
    """Commands that create or resume runs need a Prefect server."""
    from arshjul.service import api_healthy

    url = os.environ["PREFECT_API_URL"]
    if not api_healthy(url):
        hint = "starta `arshjul serve` i ett annat fönster" if EMBEDDED_PREFECT else "kontrollera PREFECT_API_URL"
        fail(f"ingen Prefect-server svarar på {url}: {hint}")


def export_settings(org) -> None:
    """Served runs run in child processes: they must see the same settings."""
    settings = get_settings()
    os.environ["ARSHJUL_HOME"] = str(settings.home.resolve())
    os.environ["ARSHJUL_ORG"] = str((org or settings.org).resolve())
    if settings.database_url:
        os.environ["ARSHJUL_DATABASE_URL"] = settings.database_url
    settings.org = (org or settings.org).resolve()


def find_cycle(session: Session, organisation: str, year: int, simulation: bool) -> Cycle:
    mode = "simulation" if simulation else "live"
    cycle = session.exec(select(Cycle).where(Cycle.organisation == organisation, Cycle.year == year, Cycle.mode == mode)).first()
    if cycle is None:
        fail(f"cykel {year} är inte startad{' i simuleringen' if simulation else ''}: kör `arshjul {'simulate' if simulation else 'cycle start'} {year}`")
    return cycle


# -- cycle ------------------------------------------------------------------------------


@cycle_app.command("start")
def cycle_start(year: Annotated[int, typer.Argument(help="Planåret, t.ex. 2027.")], org: OrgOption = None) -> None:
    """Skapa cykelns steg och en schemalagd Prefect-körning per steg (igen: inget nytt)."""
    definition = load(org)
    export_settings(org)
    database()
    require_prefect()
    from flows.start_cycle import start_cycle
    from models.planning import PlanningError
    from tasks.flow_runs import DeploymentMissing

    try:
        summary = start_cycle(year)
    except PlanningError as exc:
        errors.print(f"[red]Cykel {year} kan inte planeras:[/red]", highlight=False)
        for issue in exc.issues:
            errors.print(f"  {issue}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except DeploymentMissing as exc:
        fail(str(exc))
    console.print(
        f"Cykel {year} för {definition.organisation.info.name}: {summary['instances_created']} nya steg "
        f"({summary['instances_existing']} fanns redan), {summary['flow_runs_created']} nya körningar i Prefect.",
        highlight=False,
    )


@cycle_app.command("status")
def cycle_status(year: Annotated[int, typer.Argument(help="Planåret.")], simulation: SimulationOption = False, org: OrgOption = None) -> None:
    """Läget per process och nivå: planerade, öppna, inlämnade, klara, försenade."""
    definition = load(org)
    engine = database()
    today = today_in(definition)
    with Session(engine) as session:
        cycle = find_cycle(session, definition.organisation.info.key, year, simulation)
        steps = session.exec(select(StepInstance).where(StepInstance.cycle_id == cycle.id)).all()
    rows = status_rows(list(steps), today, definition.organisation.levels)
    table = Table(title=f"Årshjul {year}{' (simulering)' if simulation else ''} – läget {today.isoformat()}", header_style="bold")
    table.add_column("Process")
    table.add_column("Nivå")
    for column in COLUMNS:
        table.add_column(COLUMN_NAMES[column], justify="right")
    table.add_column("Totalt", justify="right")
    for row in rows:
        process = definition.processes[row.process].name if row.process in definition.processes else row.process
        table.add_row(process, definition.organisation.level_names.get(row.level, row.level), *(str(row.counts[c]) for c in COLUMNS), str(row.total))
    done = sum(1 for s in steps if step_is_done(s))
    table.caption = f"{done} av {len(steps)} steg klara"
    console.print(table)


# -- steps ------------------------------------------------------------------------------


@steps_app.command("list")
def steps_list(
    year: Annotated[Optional[int], typer.Option(help="Planår.")] = None,
    state: Annotated[Optional[str], typer.Option(help="planned, open, submitted, returned eller approved.")] = None,
    unit: Annotated[Optional[str], typer.Option(help="Enhetens eller organets nyckel.")] = None,
    role: Annotated[Optional[str], typer.Option(help="Ägarens roll.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Bara försenade steg.")] = False,
    simulation: SimulationOption = False,
    output_json: Annotated[bool, typer.Option("--json", help="Som JSON.")] = False,
) -> None:
    """Lista steg med filter."""
    definition = load(None)
    engine = database()
    today = today_in(definition)
    if state is not None and state not in StepState.__members__:
        fail(f"okänt läge '{state}': välj {', '.join(StepState.__members__)}")
    query = select(StepInstance, Cycle).join(Cycle, Cycle.id == StepInstance.cycle_id).where(Cycle.mode == ("simulation" if simulation else "live"))
    if year is not None:
        query = query.where(Cycle.year == year)
    if state is not None:
        query = query.where(StepInstance.state == state)
    if unit is not None:
        query = query.where(StepInstance.unit == unit)
    if role is not None:
        query = query.where(StepInstance.owner_role == role)
    with Session(engine) as session:
        rows = [(step, cycle) for step, cycle in session.exec(query.order_by(StepInstance.due, StepInstance.name))]
    if overdue:
        from models.states import is_overdue

        rows = [(s, c) for s, c in rows if is_overdue(StepState(s.state), s.due, today)]
    if output_json:
        sys.stdout.write(json.dumps([{"id": s.id, "year": c.year, "key": s.key, "name": s.name, "unit": s.unit, "owner": s.owner, "due": s.due.isoformat(), "state": StepState(s.state).value} for s, c in rows], ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"{len(rows)} steg", header_style="bold")
    for column in ("ID", "År", "Steg", "Enhet", "Ägare", "Deadline", "Läge"):
        table.add_column(column)
    people = {p.key: p.name for p in definition.organisation.source.people}
    for step, cycle in rows:
        table.add_row(str(step.id), str(cycle.year), step.name, step.unit_name, people.get(step.owner, step.owner or "–"), step.due.isoformat(), state_label(step, today))
    console.print(table)


def _get_step(engine, instance_id: int) -> StepInstance:
    with Session(engine) as session:
        step = session.get(StepInstance, instance_id)
    if step is None:
        fail(f"steg {instance_id} finns inte; se `arshjul steps list`")
    return step


@steps_app.command("show")
def steps_show(instance_id: Annotated[int, typer.Argument(metavar="ID", help="Stegets id.")]) -> None:
    """Visa ett steg: deadline, ansvariga, beroenden och historik."""
    definition = load(None)
    engine = database()
    step = _get_step(engine, instance_id)
    from models.people import load_directory
    from models.steps import unfinished_dependencies

    with Session(engine) as session:
        directory = load_directory(session, session.get(Cycle, step.cycle_id).organisation)
        blockers = unfinished_dependencies(step, session=session)
        history = session.exec(select(AuditEntry).where(AuditEntry.instance_id == step.id).order_by(AuditEntry.id)).all()
    org = definition.organisation
    today = today_in(definition)
    console.print(f"[bold]{step.name}[/bold] · {step.unit_name}  (id {step.id})", highlight=False)
    lines = [
        ("Läge", state_label(step, today)),
        ("Öppnar", step.opens.isoformat()),
        ("Deadline", step.due.isoformat() + (f" (flyttad från {step.nominal_due}, ingen arbetsdag)" if step.nominal_due else "")),
        ("Ägare", f"{directory.name(step.owner)} ({org.roles[step.owner_role].name if step.owner_role in org.roles else step.owner_role})"),
    ]
    if step.decided_by:
        lines.append(("Beslutas av", f"{org.decider_name(step.decided_by) if step.decided_by in org.roles or step.decided_by in org.bodies else step.decided_by} – registreras av {directory.name(step.decider)}"))
    if step.meeting:
        lines.append(("Sammanträde", step.meeting.isoformat()))
    if step.diarienummer:
        lines.append(("Diarienummer", step.diarienummer))
    if blockers:
        lines.append(("Väntar på", "; ".join(f"{b.name} · {b.unit_name} (id {b.id})" for b in blockers)))
    if step.flow_run_id:
        lines.append(("I Prefect", f"{get_settings().ui_url.rstrip('/')}/runs/flow-run/{step.flow_run_id}"))
    for label, value in lines:
        console.print(f"  {label + ':':<14} {value}", highlight=False, soft_wrap=True)
    if history:
        console.print("  Historik:")
        for entry in history:
            who = directory.name(entry.actor) if entry.actor in directory else entry.actor
            note = f" – {entry.comment}" if entry.comment else ""
            console.print(f"    {entry.at.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC  {entry.action:<22} {who}{f' ({entry.actor_role})' if entry.actor_role else ''} via {entry.source}{note}", highlight=False, soft_wrap=True)


AsOption = Annotated[str, typer.Option("--as", help="Din e-postadress i organisationen.")]
CommentOption = Annotated[str, typer.Option("--comment", help="Kommentar (krävs vid återremiss).")]
DiarieOption = Annotated[Optional[str], typer.Option("--diarienummer", help="T.ex. RS/342/2027.")]


def _act(action: Action, instance_id: int, actor: str, comment: str, diarienummer: str | None) -> None:
    load(None)
    engine = database()
    step = _get_step(engine, instance_id)
    from models.states import ACTION_LABELS
    from tasks.steps import after_action, apply_action, nudge_run_after_external_action

    try:
        step = apply_action(instance_id, action, actor_email=actor, comment=comment, diarienummer=diarienummer, source="cli")
    except StepActionError as exc:
        fail(str(exc))
    console.print(f"{ACTION_LABELS[action].capitalize()}: {step.name} · {step.unit_name} är nu {STATE_NAMES[StepState(step.state)]}.", highlight=False)
    try:
        after_action(step, action)
        form = {"åtgärd": ACTION_LABELS[action], "epostadress": actor, "kommentar": comment, "diarienummer": diarienummer or ""}
        nudge_run_after_external_action(step, form)
    except Exception as exc:  # noqa: BLE001 - the change is committed; Prefect catches up
        errors.print(f"Obs: Prefect-körningen kunde inte uppdateras nu ({exc.__class__.__name__}); den läser läget nästa gång den körs.", highlight=False)


@steps_app.command("submit")
def steps_submit(instance_id: Annotated[int, typer.Argument(metavar="ID")], as_: AsOption, comment: CommentOption = "", diarienummer: DiarieOption = None) -> None:
    """Lämna in ett steg (ägaren eller ersättaren)."""
    _act(Action.submit, instance_id, as_, comment, diarienummer)


@steps_app.command("approve")
def steps_approve(instance_id: Annotated[int, typer.Argument(metavar="ID")], as_: AsOption, comment: CommentOption = "", diarienummer: DiarieOption = None) -> None:
    """Godkänn ett inlämnat steg (beslutsfattaren, eller organets sekreterare)."""
    _act(Action.approve, instance_id, as_, comment, diarienummer)


@steps_app.command("return")
def steps_return(instance_id: Annotated[int, typer.Argument(metavar="ID")], as_: AsOption, comment: CommentOption = "", diarienummer: DiarieOption = None) -> None:
    """Återremittera ett inlämnat steg med en kommentar om vad som ska göras om."""
    _act(Action.send_back, instance_id, as_, comment, diarienummer)


@steps_app.command("move-deadline")
def steps_move_deadline(
    ids: Annotated[Optional[list[int]], typer.Argument(metavar="[ID]...", help="Stegens id.")] = None,
    step: Annotated[Optional[str], typer.Option("--step", help="Alla instanser av denna stegmall …")] = None,
    units: Annotated[Optional[list[str]], typer.Option("--unit", help="… för dessa enheter (och enheterna under dem); kan upprepas.")] = None,
    year: Annotated[Optional[int], typer.Option(help="Planår (med --step).")] = None,
    to: Annotated[Optional[str], typer.Option("--to", help="Ny deadline ÅÅÅÅ-MM-DD.")] = None,
    by: Annotated[Optional[int], typer.Option("--by", help="Flytta så många arbetsdagar (negativt: tidigare).")] = None,
    reason: Annotated[str, typer.Option("--reason", help="Skäl (granskas i efterhand).")] = "",
    as_: AsOption = "",
) -> None:
    """Flytta deadline för ett steg eller en grupp enheter; granskat, och ägarna får besked."""
    definition = load(None)
    engine = database()
    if (to is None) == (by is None):
        fail("ange antingen --to ÅÅÅÅ-MM-DD eller --by ARBETSDAGAR")
    new_due = parse_date(to, "--to") if to else None
    chosen = list(ids or [])
    if step:
        if year is None:
            fail("ange --year tillsammans med --step")
        org = definition.organisation
        inside = None
        if units:
            for unit in units:
                if unit not in org.units and unit not in org.bodies:
                    fail(f"okänd enhet '{unit}'")
            inside = {key for unit in units for key in ([unit] if unit in org.bodies else org.subtree(unit))}
        with Session(engine) as session:
            cycle = find_cycle(session, org.info.key, year, False)
            found = session.exec(select(StepInstance).where(StepInstance.cycle_id == cycle.id, StepInstance.step == step)).all()
        matched = [s.id for s in found if inside is None or s.unit in inside]
        if not matched:
            fail(f"inga steg '{step}' {'för de enheterna ' if units else ''}i cykel {year}")
        chosen += matched
    if not chosen:
        fail("ange stegens id, eller --step (och --unit) för en grupp")
    from arshjul import clock, runtime
    from arshjul.database import session_scope
    from models.steps import move_deadline

    try:
        with session_scope(engine) as session:
            first = session.get(StepInstance, chosen[0])
            if first is None:
                fail(f"steg {chosen[0]} finns inte")
            moved = move_deadline(chosen, new_due=new_due, shift=by, reason=reason, actor_email=as_, session=session, ctx=runtime.context_for_step(session, first), now=clock.now())
    except StepActionError as exc:
        fail(str(exc))
    for item in moved:
        console.print(f"Ny deadline {item.due.isoformat()}: {item.name} · {item.unit_name} (id {item.id})", highlight=False)
    from tasks.events import emit_step_event

    for item in moved:
        emit_step_event("deadline_moved", item, payload={"due": item.due.isoformat(), "reason": reason})


# -- serve and simulate -------------------------------------------------------------------


@app.command()
def serve(
    simulate: Annotated[Optional[int], typer.Option("--simulate", help="Spela också upp en hel cykel (t.ex. 2027) så att UI:t visar ett fyllt år.")] = None,
    org: OrgOption = None,
) -> None:
    """Starta allt: Prefect-server och UI, deploymenterna, tjänstens klocka och e-postsänkan."""
    from arshjul import service

    definition = load(org)
    export_settings(org)
    settings = get_settings()
    engine = database()
    server = sink = scheduler = simulation = None
    try:
        if EMBEDDED_PREFECT:
            if service.api_healthy(service.EMBEDDED_API_URL):
                fail("en Prefect-server svarar redan på 127.0.0.1:4200 (kör `arshjul serve` redan?)")
            console.print("Startar Prefect-servern (första gången tar det en stund) …", highlight=False)
            server = service.PrefectServer(settings.prefect_home).start()
        else:
            require_prefect()
        if not settings.smtp_host:
            from notifications.sink import MailSink

            if service.port_open("127.0.0.1", settings.sink_port):
                fail(f"porten {settings.sink_port} för e-postsänkan är upptagen (ARSHJUL_SINK_PORT)")
            sink = MailSink(settings.mail_dir, settings.sink_port).start()
        scheduler = service.start_service_clock(engine, definition.organisation.info.timezone)
        if simulate:
            simulation = subprocess.Popen([sys.executable, "-m", "arshjul", "simulate", str(simulate)], env=dict(os.environ))
        console.print(
            f"Årshjulet körs för {definition.organisation.info.name}.\n"
            f"  Prefect UI:  {settings.ui_url}\n"
            f"  E-post:      {'SMTP ' + settings.smtp_host if settings.smtp_host else str(settings.mail_dir.resolve())}\n"
            f"  Databas:     {settings.resolved_database_url}\n"
            + (f"  Simulering:  cykel {simulate} spelas upp i bakgrunden\n" if simulate else "")
            + "Ctrl-C stoppar.",
            highlight=False,
        )
        from prefect import serve as prefect_serve

        # Prefect's runner stops gracefully on SIGTERM but not on Ctrl-C's SIGINT.
        signal.signal(signal.SIGINT, lambda *_: os.kill(os.getpid(), signal.SIGTERM))
        prefect_serve(*service.served_deployments(), pause_on_shutdown=False, print_starting_message=False)
    except KeyboardInterrupt:
        pass
    finally:
        if simulation and simulation.poll() is None:
            simulation.terminate()
            simulation.wait(timeout=30)
        if scheduler:
            scheduler.shutdown(wait=False)
        if sink:
            sink.stop()
        if server:
            server.stop()
        console.print("Årshjulet stoppat.", highlight=False)


@app.command()
def simulate(
    year: Annotated[int, typer.Argument(help="Planåret, t.ex. 2027.")],
    late_share: Annotated[float, typer.Option("--late-share", help="Andel steg som lämnas in sent (0–1).")] = 0.2,
    seed: Annotated[int, typer.Option(help="Slumpfrö: samma frö ger samma år.")] = 1,
    until: Annotated[Optional[str], typer.Option("--until", help="Spela bara fram till och med detta datum (ÅÅÅÅ-MM-DD); en senare körning fortsätter därifrån.")] = None,
    output_json: Annotated[bool, typer.Option("--json", help="Sammanfattningen som JSON.")] = False,
    org: OrgOption = None,
) -> None:
    """Spela upp en hel cykel genom riktiga flödeskörningar på en simulerad klocka."""
    from arshjul import service

    if not 0 <= late_share <= 1:
        fail("--late-share ska vara mellan 0 och 1")
    stop_day = parse_date(until, "--until") if until else None
    load(org)
    export_settings(org)
    settings = get_settings()
    database()
    server = sink = None
    try:
        if EMBEDDED_PREFECT and not service.api_healthy(service.EMBEDDED_API_URL):
            errors.print("Ingen Prefect-server körs: startar en egen (historiken sparas i var/prefect) …", highlight=False)
            server = service.PrefectServer(settings.prefect_home).start()
        elif not EMBEDDED_PREFECT:
            require_prefect()
        if not settings.smtp_host and not service.port_open("127.0.0.1", settings.sink_port):
            from notifications.sink import MailSink

            sink = MailSink(settings.mail_dir, settings.sink_port).start()
        from flows.simulate_year import simulate as run_simulation

        summary = run_simulation(year, late_share=late_share, seed=seed, until=stop_day, progress=lambda message: errors.print(message, highlight=False))
    finally:
        if sink:
            sink.stop()
        if server:
            server.stop()
    from dataclasses import asdict

    result = asdict(summary)
    if output_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    table = Table(title=f"Simulering av cykel {year}", header_style="bold", show_header=False)
    for key, value in result.items():
        table.add_row(key, str(value))
    console.print(table)
