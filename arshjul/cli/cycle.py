"""`arshjul cycle start` and `arshjul cycle status`: a cycle in Prefect, and where it stands."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session

from arshjul.cli import archive
from arshjul.cli.common import (
    OrgOption,
    SimulationOption,
    check_year,
    console,
    cycle_or_fail,
    database,
    export_settings,
    fail,
    load,
    print_issues,
    require_prefect,
    today_in,
)
from models.queries import cycle_steps, last_activity
from models.reporting import COLUMN_NAMES, COLUMNS, status_rows
from models.states import step_is_done
from models.tables import Mode


def cycle_start(year: Annotated[int, typer.Argument(help="Planåret, t.ex. 2027.")], org: OrgOption = None) -> None:
    """Skapa cykelns steg och en schemalagd Prefect-körning per steg (igen: inget nytt)."""
    check_year(year)
    definition = load(org)
    export_settings(org)
    database()
    require_prefect()
    from flows.start_cycle import start_cycle
    from models.planned import PlanningError
    from tasks.flow_runs import DeploymentMissing, RunCreationFailed

    try:
        summary = start_cycle(year)
    except PlanningError as exc:
        print_issues(f"Cykel {year} kan inte planeras:", exc.issues)
    except (DeploymentMissing, RunCreationFailed) as exc:
        fail(str(exc))
    from tasks.reconcile import ensure_zombie_detection

    ensure_zombie_detection()  # Prefect marks a step run whose heartbeats stop Crashed
    console.print(
        f"Cykel {year} för {definition.organisation.info.name}: {summary['instances_created']} nya steg "
        f"({summary['instances_existing']} fanns redan), {summary['flow_runs_created']} nya körningar i Prefect.",
        highlight=False,
    )


def cycle_status(
    year: Annotated[int, typer.Argument(help="Planåret.")], simulation: SimulationOption = False, org: OrgOption = None
) -> None:
    """Läget per process och nivå: planerade, öppna, inlämnade, klara, försenade."""
    check_year(year)
    definition = load(org)
    engine = database()
    today = today_in(definition)
    with Session(engine) as session:
        cycle = cycle_or_fail(session, definition.organisation.info.key, year, Mode.of(simulation))
        steps = cycle_steps(session=session, cycle_id=cycle.id)
        # A simulation's "today" is its simulated clock: where its newest entry stands.
        simulated = last_activity(session=session, cycle_id=cycle.id) if simulation else None
    if simulated is not None:
        today = definition.organisation.calendar.local_date(simulated)
    rows = status_rows(steps, today, definition.organisation.levels)
    when = f"simulerat datum {today.isoformat()}" if simulated is not None else f"läget {today.isoformat()}"
    title = f"Årshjul {year}{' (simulering)' if simulation else ''} – {when}"
    table = Table(title=title, header_style="bold")
    table.add_column("Process")
    table.add_column("Nivå")
    for column in COLUMNS:
        table.add_column(COLUMN_NAMES[column], justify="right")
    table.add_column("Totalt", justify="right")
    for row in rows:
        process = definition.processes[row.process].name if row.process in definition.processes else row.process
        level = definition.organisation.level_names.get(row.level, row.level)
        table.add_row(process, level, *(str(row.counts[c]) for c in COLUMNS), str(row.total))
    done = sum(1 for s in steps if step_is_done(s))
    table.caption = f"{done} av {len(steps)} steg klara"
    console.print(table)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Starta en cykel och följ dess läge.", no_args_is_help=True)
    group.command("start")(cycle_start)
    group.command("status")(cycle_status)
    archive.register(group)
    app.add_typer(group, name="cycle")
