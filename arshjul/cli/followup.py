"""`arshjul followup import|template`: a period's statuses from the region's spreadsheet,
and the spreadsheet to fill in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from arshjul.cli.common import (
    OrgOption,
    SimulationOption,
    check_year,
    cli_origin,
    console,
    database,
    errors,
    fail,
    load,
    output_file,
)
from arshjul.core import runtime
from arshjul.core.database import session_scope
from models.definition import Definition
from models.followup import period_analyses, period_statuses, store_plan
from models.followup_authority import report_if_allowed
from models.followup_import import ImportRejected, parse_report
from models.followup_warnings import warn_early
from models.goals import GoalPlan
from models.people import load_directory
from models.tables import Mode

YearOption = Annotated[int, typer.Option("--year", help="Planåret, t.ex. 2027.")]
PeriodOption = Annotated[str, typer.Option("--period", help="Uppföljningsperioden, t.ex. T1 (se goals-ÅÅÅÅ.yaml).")]


def goal_plan(definition: Definition, year: int, period: str | None = None) -> GoalPlan:
    """The cycle's goal structure from the folder, or a Swedish message and exit code 2."""
    check_year(year)
    plan = definition.goals.get(year)
    if plan is None:
        fail(f"ingen målstruktur för {year}: lägg goals-{year}.yaml i {definition.folder}")
    if period is not None and period not in plan.periods:
        fail(f"okänd period '{period}' för {year}: välj {', '.join(plan.periods)}")
    return plan


def followup_import(
    file: Annotated[Path, typer.Argument(help="CSV- eller XLSX-fil (se `arshjul followup template`).")],
    year: YearOption,
    period: PeriodOption,
    as_: Annotated[str, typer.Option("--as", help="Vem som rapporterar (e-postadress i organisationen).")],
    org: OrgOption = None,
    simulation: SimulationOption = False,
) -> None:
    """Läs in en periods status för mål, uppdrag och aktiviteter. En fil med fel lagrar ingenting."""
    definition = load(org)
    plan = goal_plan(definition, year, period)
    person = definition.organisation.people_by_email.get(as_.strip().lower())
    if person is None:
        fail(f"okänd e-postadress '{as_}': ange din adress i organisationen")
    try:
        content = file.read_bytes()
    except OSError as exc:
        fail(f"filen {file} kan inte läsas: {exc.strerror}")
    try:
        parsed = parse_report(file.name, content, plan, definition.organisation)
    except ImportRejected as exc:
        errors.print(f"[red]{len(exc.problems)} fel i {file.name}; ingenting har lagrats:[/red]", highlight=False)
        for problem in exc.problems:
            errors.print(f"  {problem}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    organisation = definition.organisation.info.key
    now = dt.datetime.now(dt.UTC)
    with session_scope(database()) as session:
        mode = Mode.of(simulation)
        directory = load_directory(session=session, organisation=organisation)
        store_plan(plan, organisation=organisation, mode=mode, session=session, now=now)
        # Checked against the stored plan; a refusal rolls the whole transaction back.
        verdict = report_if_allowed(
            plan,
            period,
            parsed.reported,
            parsed.analyses,
            person,
            org=definition.organisation,
            directory=directory,
            mode=mode,
            source="cli",
            origin=cli_origin(via="import", file=file.name),
            session=session,
            now=now,
        )
        if verdict.refusals:
            errors.print(f"[red]{file.name} lagras inte:[/red]", highlight=False)
            for refusal in verdict.refusals:
                errors.print(f"  {refusal}", highlight=False, markup=False, soft_wrap=True)
            raise typer.Exit(2)
        warned = warn_early(
            plan,
            period,
            organisation=organisation,
            mode=mode,
            calendar=definition.organisation.calendar,
            directory=directory,
            mail_domain=runtime.mail_domain(),
            session=session,
            now=now,
        )
    console.print(
        f"Läste {len(parsed.reported)} statusar och {len(parsed.analyses)} analyser för {period} {year} "
        f"({verdict.changed} ändrade, {parsed.skipped} rader utan status lämnade som ej rapporterade)"
        + (f"; tidig varning till {warned} {'ansvarig' if warned == 1 else 'ansvariga'}." if warned else "."),
        highlight=False,
    )


def followup_template(
    year: Annotated[int, typer.Argument(help="Planåret, t.ex. 2027.")],
    period: PeriodOption,
    output: Annotated[Path, typer.Option("--output", "-o", help="Fil att skriva (.csv eller .xlsx).")],
    unit: Annotated[
        str | None, typer.Option(help="Bara denna enhets (och enheterna under den) eller detta organs mål.")
    ] = None,
    org: OrgOption = None,
    simulation: SimulationOption = False,
) -> None:
    """Skriv filen att fylla i för en period, med det som redan rapporterats."""
    from arshjul.views.followup_template import template_rows, to_csv, to_xlsx

    if output.suffix not in (".csv", ".xlsx"):
        fail("skriv till en .csv- eller .xlsx-fil")
    output_file(output, "-o")
    definition = load(org)
    plan = goal_plan(definition, year, period)
    if unit is not None and unit not in definition.organisation.units and unit not in definition.organisation.bodies:
        fail(f"okänd enhet '{unit}'. Se organisation.yaml för giltiga nycklar.")
    organisation = definition.organisation.info.key
    with session_scope(database()) as session:
        keys = {
            "session": session,
            "organisation": organisation,
            "year": year,
            "mode": Mode.of(simulation),
            "period": period,
        }
        statuses, analyses = period_statuses(**keys), period_analyses(**keys)
    rows = template_rows(plan, definition.organisation, statuses=statuses, analyses=analyses, unit=unit)
    title = f"Uppföljning {plan.periods[period].name} {year} – {definition.organisation.info.name}"
    output.write_bytes(to_csv(rows) if output.suffix == ".csv" else to_xlsx(rows, title=title))
    errors.print(f"Skrev {len(rows) - 1} rader till {output}", highlight=False)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Uppföljning av mål: läs in status och skriv mallen.", no_args_is_help=True)
    group.command("import")(followup_import)
    group.command("template")(followup_template)
    app.add_typer(group, name="followup")
