"""`arshjul report followup`: a period's follow-up of goals as a document a nämnd reads
in its meeting (HTML or PDF), or its figures (CSV, JSON)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from arshjul.cli.common import OrgOption, SimulationOption, check_year, database, errors, fail, load, output_file
from models.followup_facts import report_facts
from models.tables import Mode

FORMATS = ("html", "pdf", "csv", "json")


def report_followup(
    year: Annotated[int, typer.Argument(help="Planåret, t.ex. 2027.")],
    period: Annotated[str, typer.Option("--period", help="Uppföljningsperioden, t.ex. T1.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Fil att skriva.")],
    format: Annotated[str, typer.Option("--format", help="html, pdf, csv eller json.")] = "html",
    unit: Annotated[
        str | None, typer.Option(help="Bara denna enhet (och enheterna under den) eller detta organ.")
    ] = None,
    org: OrgOption = None,
    simulation: SimulationOption = False,
) -> None:
    """Uppföljningsrapporten för en period: sammanfattning, diagram, förändring, röda och gula mål."""
    from arshjul.views import followup_report

    check_year(year)
    if format not in FORMATS:
        fail(f"okänt format '{format}': välj html, pdf, csv eller json")
    output_file(output, "-o")
    definition = load(org)
    organisation = definition.organisation
    if unit is not None and unit not in organisation.units and unit not in organisation.bodies:
        fail(f"okänd enhet '{unit}'. Se organisation.yaml för giltiga nycklar.")
    with Session(database()) as session:
        facts = report_facts(
            definition.goals.get(year),
            organisation,
            year=year,
            period=period,
            scope=unit,
            mode=Mode.of(simulation),
            session=session,
        )
    if facts is None:
        plan = definition.goals.get(year)
        if plan is None:
            fail(f"ingen målstruktur för {year}: lägg goals-{year}.yaml i {definition.folder}")
        fail(f"okänd period '{period}' för {year}: välj {', '.join(plan.periods)}")
    data = followup_report.report_data(
        facts.plan,
        organisation,
        definition.templates,
        facts.result,
        facts.statuses,
        facts.analyses,
        scope=unit,
        generated=dt.datetime.now(dt.UTC),
    )
    if format == "json":
        output.write_text(followup_report.to_json(data), encoding="utf-8")
    elif format == "csv":
        output.write_text(followup_report.to_csv(data), encoding="utf-8-sig")
    else:
        from arshjul.views.documents import html_to_pdf
        from arshjul.views.followup_document import render_report

        html = render_report(data)
        if format == "html":
            output.write_text(html, encoding="utf-8")
        else:
            output.write_bytes(html_to_pdf(html))
    errors.print(f"Skrev uppföljningen {period} {year} till {output}", highlight=False)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Rapporter: uppföljning av mål.", no_args_is_help=True)
    group.command("followup")(report_followup)
    app.add_typer(group, name="report")
