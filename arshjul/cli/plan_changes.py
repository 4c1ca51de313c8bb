"""`arshjul steps add|cancel|reassign` and `arshjul people replace`: the year as it is
lived — needs that arise, steps no longer needed, people who change. Each needs a
`change_plan` role from the organisation's data (models.plan_authority), is audited with
that role and the OS user, and tells the people concerned."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
import yaml
from sqlmodel import Session

from arshjul.cli.common import (
    check_ids,
    cli_origin,
    console,
    cycle_or_fail,
    database,
    errors,
    fail,
    load,
    parse_date,
    print_issues,
)
from models.steps import StepActionError
from models.tables import Mode, StepInstance

AsOption = Annotated[str, typer.Option("--as", help="Din e-postadress i organisationen.")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Skäl (granskas i efterhand).")]
MAX_RULE = 300


def _in_transaction(work: Callable[..., Any], first_step_id: int | None = None) -> Any:
    """Run `work(session, ctx, org, now)` in one transaction; a refusal is a Swedish
    message and exit code 2, and writes nothing."""
    from arshjul.core import clock, runtime
    from arshjul.core.database import session_scope

    if first_step_id is not None:
        check_ids([first_step_id], "steg-id")
    definition = load(None)
    engine = database()
    try:
        with session_scope(engine) as session:
            ctx = runtime.step_context(session=session)
            if first_step_id is not None:
                step = session.get(StepInstance, first_step_id)
                if step is None:
                    fail(f"steg {first_step_id} finns inte; se `arshjul steps list`")
                ctx = runtime.context_for_step(step, session=session)
            return work(session, ctx, definition.organisation, clock.now())
    except StepActionError as exc:
        fail(str(exc))


def _prefect(what: str, action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception as exc:  # noqa: BLE001 - the change is committed; the run follows on its next execution
        errors.print(
            f"Obs: Prefect kunde inte uppdateras nu ({exc.__class__.__name__}); "
            f"{what} följer när körningen körs nästa gång.",
            highlight=False,
        )


def steps_cancel(
    instance_id: Annotated[int, typer.Argument(metavar="ID")], reason: ReasonOption = "", as_: AsOption = ""
) -> None:
    """Ställ in ett steg som inte längre behövs: körningen avslutas som inställd, ägaren får besked."""
    from models.plan_edits import cancel_step
    from tasks.plan_runs import cancel_run

    def work(session, ctx, org, now):
        return cancel_step(
            instance_id,
            reason=reason,
            actor_email=as_,
            org=org,
            session=session,
            ctx=ctx,
            now=now,
            origin=cli_origin(as_ or None),
        )

    step = _in_transaction(work, instance_id)
    console.print(f"Inställt: {step.name} · {step.unit_name} (id {step.id}).", highlight=False)
    _prefect("körningen", lambda: cancel_run(step))


def steps_reassign(
    instance_id: Annotated[int, typer.Argument(metavar="ID")],
    to: Annotated[str, typer.Option("--to", help="Den nya ägaren (nyckel eller e-postadress).")],
    reason: ReasonOption = "",
    as_: AsOption = "",
) -> None:
    """Flytta ett steg till en annan person; båda får besked, den nya med kalenderfilen."""
    from models.plan_edits import reassign_step
    from tasks.plan_runs import ask_again

    def work(session, ctx, org, now):
        step = reassign_step(
            instance_id,
            to,
            reason=reason,
            actor_email=as_,
            org=org,
            session=session,
            ctx=ctx,
            now=now,
            origin=cli_origin(as_ or None),
        )
        return step, ctx.directory[step.owner].email

    step, email = _in_transaction(work, instance_id)
    console.print(f"{step.name} · {step.unit_name} (id {step.id}) ägs nu av {email}.", highlight=False)
    _prefect("formuläret", lambda: ask_again(step, email))


def people_replace(
    old: Annotated[str, typer.Argument(help="Personen som lämnar (nyckel eller e-postadress).")],
    new: Annotated[str, typer.Argument(help="Personen som tar över, t.ex. en tillförordnad chef.")],
    start: Annotated[str, typer.Option("--from", help="Steg med deadline från detta datum (ÅÅÅÅ-MM-DD).")],
    reason: ReasonOption = "",
    as_: AsOption = "",
) -> None:
    """Lämna över alla öppna och kommande steg från en person till en annan (ny chef, tf.)."""
    from models.plan_edits import replace_person
    from tasks.plan_runs import ask_again

    first = parse_date(start, "--from")

    def work(session, ctx, org, now):
        steps = replace_person(
            old,
            new,
            start=first,
            reason=reason,
            actor_email=as_,
            org=org,
            session=session,
            ctx=ctx,
            now=now,
            origin=cli_origin(as_ or None),
        )
        return steps, ctx.directory

    steps, directory = _in_transaction(work)
    new_member = directory.by_email(new) or directory.members[new]
    console.print(f"{len(steps)} steg lämnade över till {new_member.name}.", highlight=False)
    console.print(
        "Uppdatera också organisation.yaml (chef, roller), så att kommande cykler planeras med den nya personen.",
        highlight=False,
    )
    _prefect(
        "formulären", lambda: [ask_again(step, new_member.email) for step in steps if step.owner == new_member.key]
    )


def _rule(value: str, option: str) -> dict | str:
    """A date (ÅÅÅÅ-MM-DD) or a rule in YAML's flow style: `{meeting: rs, month: Y-09, offset: -5}`."""
    text = value.strip()
    if len(text) > MAX_RULE:
        fail(f"{option} är för lång (högst {MAX_RULE} tecken)")
    if not text.startswith("{"):
        return text
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        fail(f"{option} '{value}' är ingen regel: skriv ett datum eller t.ex. {{meeting: rs, month: Y-09, offset: -5}}")
    if not isinstance(parsed, dict):
        fail(f"{option} '{value}' är ingen regel")
    return {str(k): (str(v) if not isinstance(v, (int, bool)) else v) for k, v in parsed.items()}


def steps_add(
    year: Annotated[int, typer.Option("--year", help="Cykelns planår.")],
    key: Annotated[str, typer.Option("--key", help="Stegmallens nyckel, t.ex. extra_uppfoljning.")],
    name: Annotated[str, typer.Option("--name", help="Stegets namn.")],
    units: Annotated[list[str], typer.Option("--unit", help="Enhet eller organ; kan upprepas.")],
    process: Annotated[str, typer.Option("--process", help="Processen (arshjul.yaml: processes).")],
    opens: Annotated[str, typer.Option("--opens", help="Öppnar: ÅÅÅÅ-MM-DD eller en regel.")],
    due: Annotated[str, typer.Option("--due", help="Deadline: ÅÅÅÅ-MM-DD eller en regel.")],
    kind: Annotated[str, typer.Option("--kind", help="plan, report, decision eller review.")] = "report",
    owner_role: Annotated[str | None, typer.Option("--owner-role", help="Ägarens roll.")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Eller en namngiven ägare (nyckel/e-post).")] = None,
    decided_by: Annotated[str | None, typer.Option("--decided-by", help="Beslutande organ eller roll.")] = None,
    depends_on: Annotated[list[str] | None, typer.Option("--depends-on", help="Stegmall det bygger på.")] = None,
    reminders: Annotated[str, typer.Option("--reminders", help="Arbetsdagar före deadline, t.ex. 5,1.")] = "",
    description: Annotated[str | None, typer.Option("--description", help="Vad som ska lämnas in.")] = None,
    reason: ReasonOption = "",
    as_: AsOption = "",
) -> None:
    """Lägg till ett steg i en pågående cykel (ett behov som uppkommit under året)."""
    from models.added_steps import plan_added_step, store_added_step, template_data
    from models.definition import DefinitionError
    from models.plan_authority import acting_person, require_plan_role
    from tasks.plan_runs import runs_for_added

    definition = load(None)
    if owner_role is None and owner is None:
        fail("ange --owner-role (ägarens roll) eller --owner (en namngiven person)")
    try:
        days = [int(part) for part in reminders.split(",") if part.strip()]
    except ValueError:
        fail(f"ogiltiga påminnelser '{reminders}': skriv arbetsdagar före deadline, t.ex. 5,1")
    org = definition.organisation
    owner_key = None
    if owner is not None:
        person = org.people.get(owner) or org.people_by_email.get(owner.lower())
        if person is None:
            fail(f"okänd person '{owner}'")
        owner_key = person.key
    role_for_template = owner_role
    if role_for_template is None:
        # A named owner: the template records the role they hold for those units.
        anchors = [org.target(unit).anchor for unit in units if unit in org.units or unit in org.bodies]
        role_for_template = next(
            (r for r in org.roles if anchors and all(org.role_holder(r, a) == owner_key for a in anchors)), None
        )
        if role_for_template is None:
            fail(f"{owner} har ingen roll för {', '.join(units)}: ange också --owner-role (rollen steget hör till)")
    try:
        data = template_data(
            key=key,
            name=name,
            kind=kind,
            process=process,
            units=units,
            definition=definition,
            owner_role=role_for_template,
            decided_by=decided_by,
            opens=_rule(opens, "--opens"),
            due=_rule(due, "--due"),
            depends_on=list(depends_on or []),
            reminders=days,
            description=description,
            year=year,
        )
        template, instances = plan_added_step(definition, year, data)
    except DefinitionError as exc:
        print_issues("Steget kan inte läggas till:", exc.issues)
    if not reason.strip():
        fail("ange ett skäl (--reason): tillägget granskas i efterhand")

    def work(session: Session, ctx, org, now):
        person = acting_person(ctx.directory, as_)
        role = require_plan_role(org, person, units, "lägga till steg")
        cycle = cycle_or_fail(session, org.info.key, year, Mode.live)
        rows = store_added_step(
            definition,
            cycle,
            template,
            instances,
            owner=owner_key,
            actor=person.key,
            role=role,
            reason=" ".join(reason.split()),
            session=session,
            ctx=ctx,
            now=now,
            origin=cli_origin(as_ or None),
        )
        return cycle.id, rows

    cycle_id, rows = _in_transaction(work)
    for row in rows:
        console.print(
            f"Tillagt: {row.name} · {row.unit_name} (id {row.id}), öppnar {row.opens}, deadline {row.due}.",
            highlight=False,
        )
    _prefect("stegets körning", lambda: runs_for_added(cycle_id))
