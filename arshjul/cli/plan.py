"""`arshjul validate`, `arshjul plan` and `arshjul wheel`: the organisation's folder
checked, and a cycle's plan as a table, JSON, CSV, iCalendar or the wall wheel."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from arshjul.cli.common import (
    OrgOption,
    console,
    errors,
    fail,
    load,
    output_file,
    parse_date,
    parse_years,
    print_issues,
    today_in,
)
from models.definition import Definition
from models.planned import PlannedStep, PlanningError, filter_steps
from models.planning import plan_cycle

FORMATS = ("table", "json", "csv", "ics")


def planned(
    definition: Definition, year: int, *, unit: str | None = None, role: str | None = None, person: str | None = None
) -> list[PlannedStep]:
    """The cycle's plan, narrowed as asked; a Swedish message and exit code 2 for an
    unknown unit, role or person, or a year that cannot be planned."""
    org = definition.organisation
    if unit is not None and unit not in org.units and unit not in org.bodies:
        fail(f"okänd enhet '{unit}'. Se organisation.yaml för giltiga nycklar.")
    if role is not None and role not in org.roles:
        fail(f"okänd roll '{role}'. Giltiga roller: {', '.join(sorted(org.roles))}")
    person_key = None
    if person is not None:
        found = org.people.get(person) or org.people_by_email.get(person.lower())
        if found is None:
            fail(f"okänd person '{person}' (ange nyckel eller e-postadress)")
        person_key = found.key
    try:
        steps = plan_cycle(definition, year)
    except PlanningError as exc:  # the year lacks meetings, for instance
        print_issues(f"Cykel {year} kan inte planeras:", exc.issues)
    return filter_steps(steps, org, unit=unit, role=role, person=person_key)


def validate(
    folder: Annotated[Path | None, typer.Argument(help="Organisationens mapp.")] = None,
    cycles: Annotated[
        str | None,
        typer.Option(
            "--cycles", help="Cyklerna att kontrollera: 2027, 2027..2030 eller 2027,2029 (standard: alla mappen avser)."
        ),
    ] = None,
) -> None:
    """Kontrollera en organisations mapp (organisation, årshjul, sammanträdesplaner).

    Säger aldrig OK om en cykel som inte gick att kontrollera: utan --cycles avslutas
    kommandot med kod 1 om någon av mappens cykler saknar sammanträdesplaner."""
    from models.separation import decision_conflicts
    from models.validation import candidate_cycles, check_cycles

    years = parse_years(cycles, "--cycles") if cycles is not None else None
    definition = load(folder, check_cycles=False)
    org = definition.organisation
    check = check_cycles(definition, years if years is not None else candidate_cycles(definition))
    if check.issues:
        print_issues(f"{len(check.issues)} fel i {definition.folder}:", check.issues)
    if years is not None and check.unchecked:
        print_issues(
            "Cyklerna som efterfrågades kan inte kontrolleras:",
            [issue for found in check.unchecked.values() for issue in found],
        )
    for warning in decision_conflicts(definition):
        errors.print(f"[yellow]Varning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    summary = (
        f"{definition.folder}: {len(definition.arshjul.steps)} stegmallar, "
        f"{len(org.units)} enheter, {len(org.bodies)} organ, {len(org.people)} personer, "
        f"sammanträdesplaner {', '.join(str(y) for y in sorted(definition.meetings)) or 'saknas'}"
    )
    if not check.planned and not check.unchecked:
        fail(f"{summary}: ingen cykel att kontrollera (inga sammanträdesplaner). Ange --cycles.", code=1)
    planned_text = f"; cykel {', '.join(map(str, check.planned))} planerad utan fel" if check.planned else ""
    if check.unchecked:
        console.print(
            f"Mappen är felfri så långt den gick att kontrollera: {summary}{planned_text}.",
            highlight=False,
            soft_wrap=True,
        )
        errors.print("[red]Kunde inte kontrolleras:[/red]", highlight=False)
        for year, found in check.unchecked.items():
            for issue in found:
                errors.print(f"  cykel {year}: {issue}", highlight=False, markup=False, soft_wrap=True)
        errors.print(
            "Lägg till sammanträdesplanerna, eller ange vilka cykler som ska kontrolleras (--cycles "
            f"{','.join(map(str, check.planned)) or 'ÅÅÅÅ'}).",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    console.print(f"[green]OK[/green] {summary}{planned_text}.", highlight=False, soft_wrap=True)


def plan(
    years: Annotated[str, typer.Argument(metavar="YEARS", help="Planåret (2027) eller en period (2027..2030).")],
    org: OrgOption = None,
    unit: Annotated[
        str | None, typer.Option(help="Bara denna enhet (och enheterna under den) eller detta organ.")
    ] = None,
    role: Annotated[str | None, typer.Option(help="Bara steg som denna roll äger eller beslutar.")] = None,
    person: Annotated[
        str | None, typer.Option(help="Bara steg som denna person (nyckel eller e-post) äger eller beslutar.")
    ] = None,
    format: Annotated[str, typer.Option("--format", help="table, json, csv eller ics.")] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Skriv till fil i stället för standard ut.")
    ] = None,
) -> None:
    """Visa alla steg i en cykel med deadlines, ansvariga och beroenden."""
    from arshjul.views import plan_output

    cycles = parse_years(years, "planår")
    if format not in FORMATS:
        fail(f"okänt format '{format[:40]}': välj table, json, csv eller ics")
    if output:
        output_file(output, "-o")
    definition = load(org, check_cycles=False)  # the cycles asked for are planned (and checked) below
    steps = [step for year in cycles for step in planned(definition, year, unit=unit, role=role, person=person)]
    steps.sort(key=lambda step: (step.due, step.opens, step.name, step.unit_name))
    year = cycles[0]
    period = str(year) if len(cycles) == 1 else f"{cycles[0]}–{cycles[-1]}"
    if format == "table":
        title = f"Årshjul {period} – {definition.organisation.info.name} ({len(steps)} steg)"
        table = plan_output.render_table(steps, definition, title=title)
        if output:
            with output.open("w", encoding="utf-8") as handle:
                Console(file=handle, width=200).print(table)
        else:
            console.print(table)
        return
    if format == "json":
        data: str | bytes = plan_output.render_json(steps, definition)
    elif format == "csv":
        data = plan_output.render_csv(steps, definition)
    else:
        data = plan_output.render_ics(steps, definition, year=year, now=dt.datetime.now(dt.UTC))
    if output:
        output.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        errors.print(f"Skrev {len(steps)} steg till {output}", highlight=False)
    elif isinstance(data, bytes):
        sys.stdout.buffer.write(data)
    else:
        sys.stdout.write(data)


def wheel(
    years: Annotated[
        str, typer.Argument(metavar="YEARS", help="Planåret (2027) eller en period (2027..2030): en ring per planår.")
    ],
    out: Annotated[Path, typer.Option("--out", help="SVG-fil att skriva.")],
    org: OrgOption = None,
    unit: Annotated[str | None, typer.Option(help="Bara denna enhet (och enheterna under den).")] = None,
    today: Annotated[str | None, typer.Option(help="Dagens datum att markera (ÅÅÅÅ-MM-DD); standard i dag.")] = None,
    overview: Annotated[
        bool,
        typer.Option(
            "--overview",
            help="Översikt för skärmen (1 600 px bred): en båge per stegmall, enheterna räknade, t.ex. "
            "'Verksamhetsplan enhet (412 enheter)'.",
        ),
    ] = False,
) -> None:
    """Rita årshjulet som SVG: tolv månader, en ring per nivå (eller per planår för en
    period), varje steg som en båge."""
    from arshjul.views.wheel import render_period_wheel, render_wheel

    cycles = parse_years(years, "planår")
    output_file(out, "--out")
    definition = load(org)
    marked = today_in(definition)
    if today is not None:
        marked = parse_date(
            today, "--today", earliest=dt.date(cycles[0] - 2, 1, 1), latest=dt.date(cycles[-1] + 2, 12, 31)
        )
    subtitle = definition.organisation.target(unit).name if unit else None
    plans = {year: planned(definition, year, unit=unit) for year in cycles}
    count = sum(len(steps) for steps in plans.values())
    if len(cycles) == 1:
        [year] = cycles
        svg = render_wheel(plans[year], definition, year=year, today=marked, subtitle=subtitle, overview=overview)
        period = str(year)
    else:
        svg = render_period_wheel(plans, definition, today=marked, subtitle=subtitle, overview=overview)
        period = f"{cycles[0]}–{cycles[-1]}"
    out.write_text(svg, encoding="utf-8")
    kind = "översikten" if overview else "årshjulet"
    errors.print(f"Skrev {kind} {period} ({count} steg) till {out}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(plan)
    app.command()(wheel)
