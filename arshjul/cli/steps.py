"""`arshjul steps …`: list and show steps, act on them and move deadlines — the same rules
and audit as the Prefect form, for people without the UI."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Engine
from sqlmodel import Session

from arshjul.cli import plan_changes
from arshjul.cli.common import (
    SimulationOption,
    check_ids,
    check_year,
    cli_origin,
    console,
    cycle_or_fail,
    database,
    errors,
    fail,
    load,
    parse_date,
    today_in,
)
from arshjul.core.settings import get_settings
from models.queries import step_history, steps_matching, template_instances
from models.states import Action, state_label
from models.steps import StepActionError
from models.tables import STATE_NAMES, Cycle, Mode, StepInstance, StepState


def steps_list(
    year: Annotated[int | None, typer.Option(help="Planår.")] = None,
    state: Annotated[str | None, typer.Option(help="planned, open, submitted, returned eller approved.")] = None,
    unit: Annotated[str | None, typer.Option(help="Enhetens eller organets nyckel.")] = None,
    role: Annotated[str | None, typer.Option(help="Ägarens roll.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Bara försenade steg.")] = False,
    simulation: SimulationOption = False,
    output_json: Annotated[bool, typer.Option("--json", help="Som JSON.")] = False,
) -> None:
    """Lista steg med filter."""
    if year is not None:
        check_year(year)
    definition = load(None)
    engine = database()
    today = today_in(definition)
    if state is not None and state not in StepState.__members__:
        fail(f"okänt läge '{state}': välj {', '.join(StepState.__members__)}")
    with Session(engine) as session:
        rows = steps_matching(
            session=session,
            mode=Mode.of(simulation),
            year=year,
            state=StepState(state) if state else None,
            unit=unit,
            role=role,
            overdue_on=today if overdue else None,
        )
    if output_json:
        listed = [
            {
                "id": s.id,
                "year": c.year,
                "key": s.key,
                "name": s.name,
                "unit": s.unit,
                "owner": s.owner,
                "due": s.due.isoformat(),
                "state": StepState(s.state).value,
            }
            for s, c in rows
        ]
        sys.stdout.write(json.dumps(listed, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"{len(rows)} steg", header_style="bold")
    for column in ("ID", "År", "Steg", "Enhet", "Ägare", "Deadline", "Läge"):
        table.add_column(column)
    people = {p.key: p.name for p in definition.organisation.source.people}
    for step, cycle in rows:
        owner = people.get(step.owner, step.owner or "–")
        table.add_row(
            str(step.id),
            str(cycle.year),
            step.name,
            step.unit_name,
            owner,
            step.due.isoformat(),
            state_label(step, today),
        )
    console.print(table)


def existing_step(engine: Engine, instance_id: int) -> StepInstance:
    check_ids([instance_id], "steg-id")
    with Session(engine) as session:
        step = session.get(StepInstance, instance_id)
    if step is None:
        fail(f"steg {instance_id} finns inte; se `arshjul steps list`")
    return step


def steps_show(instance_id: Annotated[int, typer.Argument(metavar="ID", help="Stegets id.")]) -> None:
    """Visa ett steg: deadline, ansvariga, beroenden och historik."""
    from models.dependencies import unfinished_dependencies
    from models.people import load_directory

    definition = load(None)
    engine = database()
    step = existing_step(engine, instance_id)
    with Session(engine) as session:
        cycle = session.get(Cycle, step.cycle_id)
        directory = load_directory(session=session, organisation=cycle.organisation)
        blockers = unfinished_dependencies(step, session=session)
        history = step_history(session=session, instance_id=step.id)
    org = definition.organisation
    today = today_in(definition)
    console.print(f"[bold]{step.name}[/bold] · {step.unit_name}  (id {step.id})", highlight=False)
    moved = f" (flyttad från {step.nominal_due}, ingen arbetsdag)" if step.nominal_due else ""
    role = org.roles[step.owner_role].name if step.owner_role in org.roles else step.owner_role
    lines = [
        ("Läge", state_label(step, today)),
        ("Öppnar", step.opens.isoformat()),
        ("Deadline", step.due.isoformat() + moved),
        ("Ägare", f"{directory.name(step.owner)} ({role})"),
    ]
    if step.decided_by:
        known = step.decided_by in org.roles or step.decided_by in org.bodies
        body = org.decider_name(step.decided_by) if known else step.decided_by
        lines.append(("Beslutas av", f"{body} – registreras av {directory.name(step.decider)}"))
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
            role_note = f" ({entry.actor_role})" if entry.actor_role else ""
            note = f" – {entry.comment}" if entry.comment else ""
            console.print(
                f"    {entry.at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC  {entry.action:<22} {who}{role_note}"
                f" via {entry.source}{note}",
                highlight=False,
                soft_wrap=True,
            )


AsOption = Annotated[str, typer.Option("--as", help="Din e-postadress i organisationen.")]
CommentOption = Annotated[str, typer.Option("--comment", help="Kommentar (krävs vid återremiss).")]
DiarieOption = Annotated[str | None, typer.Option("--diarienummer", help="T.ex. RS/342/2027.")]
IdArgument = Annotated[int, typer.Argument(metavar="ID")]


def act(action: Action, instance_id: int, *, actor: str, comment: str, diarienummer: str | None) -> None:
    """Take an action as `actor`, then bring the step's run in Prefect up to date."""
    from models.states import ACTION_LABELS
    from tasks.steps import after_action, apply_action, nudge_run_after_external_action

    load(None)
    engine = database()
    existing_step(engine, instance_id)
    try:
        step = apply_action(
            instance_id,
            action,
            actor_email=actor,
            comment=comment,
            diarienummer=diarienummer,
            source="cli",
            origin=cli_origin(actor),
        )
    except StepActionError as exc:
        fail(str(exc))
    state = STATE_NAMES[StepState(step.state)]
    console.print(
        f"{ACTION_LABELS[action].capitalize()}: {step.name} · {step.unit_name} är nu {state}.", highlight=False
    )
    try:
        after_action(step, action)
        form = {
            "åtgärd": ACTION_LABELS[action],
            "epostadress": actor,
            "kommentar": comment,
            "diarienummer": diarienummer or "",
        }
        nudge_run_after_external_action(step, form)
    except Exception as exc:  # noqa: BLE001 - the change is committed; Prefect catches up
        errors.print(
            f"Obs: Prefect-körningen kunde inte uppdateras nu ({exc.__class__.__name__}); "
            "den läser läget nästa gång den körs.",
            highlight=False,
        )


def steps_submit(
    instance_id: IdArgument, as_: AsOption, comment: CommentOption = "", diarienummer: DiarieOption = None
) -> None:
    """Lämna in ett steg (ägaren eller ersättaren)."""
    act(Action.submit, instance_id, actor=as_, comment=comment, diarienummer=diarienummer)


def steps_approve(
    instance_id: IdArgument, as_: AsOption, comment: CommentOption = "", diarienummer: DiarieOption = None
) -> None:
    """Godkänn ett inlämnat steg (beslutsfattaren, eller organets sekreterare)."""
    act(Action.approve, instance_id, actor=as_, comment=comment, diarienummer=diarienummer)


def steps_return(
    instance_id: IdArgument, as_: AsOption, comment: CommentOption = "", diarienummer: DiarieOption = None
) -> None:
    """Återremittera ett inlämnat steg med en kommentar om vad som ska göras om."""
    act(Action.send_back, instance_id, actor=as_, comment=comment, diarienummer=diarienummer)


def steps_move_deadline(
    ids: Annotated[list[int] | None, typer.Argument(metavar="[ID]...", help="Stegens id.")] = None,
    step: Annotated[str | None, typer.Option("--step", help="Alla instanser av denna stegmall …")] = None,
    units: Annotated[
        list[str] | None, typer.Option("--unit", help="… för dessa enheter (och enheterna under dem); kan upprepas.")
    ] = None,
    year: Annotated[int | None, typer.Option(help="Planår (med --step).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Ny deadline ÅÅÅÅ-MM-DD.")] = None,
    by: Annotated[int | None, typer.Option("--by", help="Flytta så många arbetsdagar (negativt: tidigare).")] = None,
    reason: Annotated[str, typer.Option("--reason", help="Skäl (granskas i efterhand).")] = "",
    as_: AsOption = "",
) -> None:
    """Flytta deadline för ett steg eller en grupp enheter; granskat, och ägarna får besked."""
    from arshjul.core import clock, runtime
    from arshjul.core.database import session_scope
    from models.plan_changes import move_deadline
    from tasks.events import emit_step_event

    definition = load(None)
    engine = database()
    if (to is None) == (by is None):
        fail("ange antingen --to ÅÅÅÅ-MM-DD eller --by ARBETSDAGAR")
    new_due = parse_date(to, "--to") if to else None
    check_ids(ids or [], "steg-id")
    if year is not None:
        check_year(year)
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
            cycle = cycle_or_fail(session, org.info.key, year, Mode.live)
            found = template_instances(session=session, cycle_id=cycle.id, step=step)
        matched = [s.id for s in found if inside is None or s.unit in inside]
        if not matched:
            fail(f"inga steg '{step}' {'för de enheterna ' if units else ''}i cykel {year}")
        chosen += matched
    if not chosen:
        fail("ange stegens id, eller --step (och --unit) för en grupp")
    try:
        with session_scope(engine) as session:
            first = session.get(StepInstance, chosen[0])
            if first is None:
                fail(f"steg {chosen[0]} finns inte")
            moved = move_deadline(
                chosen,
                new_due=new_due,
                shift=by,
                reason=reason,
                actor_email=as_,
                org=definition.organisation,
                session=session,
                ctx=runtime.context_for_step(first, session=session),
                now=clock.now(),
                origin=cli_origin(as_),
            )
    except StepActionError as exc:
        fail(str(exc))
    for item in moved:
        console.print(
            f"Ny deadline {item.due.isoformat()}: {item.name} · {item.unit_name} (id {item.id})", highlight=False
        )
    for item in moved:
        emit_step_event("deadline_moved", item, payload={"due": item.due.isoformat(), "reason": reason})


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Steg: lista, visa, lämna in, godkänn, återremittera, flytta deadline, lägg till, ställ in, flytta.",
        no_args_is_help=True,
    )
    group.command("list")(steps_list)
    group.command("show")(steps_show)
    group.command("submit")(steps_submit)
    group.command("approve")(steps_approve)
    group.command("return")(steps_return)
    group.command("move-deadline")(steps_move_deadline)
    group.command("add")(plan_changes.steps_add)
    group.command("cancel")(plan_changes.steps_cancel)
    group.command("reassign")(plan_changes.steps_reassign)
    app.add_typer(group, name="steps")
