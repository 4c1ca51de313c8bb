"""Follow-up of a cycle for the regionstab and the auditors: what was delivered, when,
by whom, how late, and what is still outstanding — as Prefect artifacts and a CSV file."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from sqlmodel import Session

from arshjul.core import clock, runtime
from arshjul.core.settings import get_settings
from arshjul.views.markdown import table_cell
from models.people import load_directory
from models.queries import cycle_steps, find_cycle
from models.reporting import deliveries, overdue_items
from models.tables import Mode, StepState

REPORT_FIELDS = [
    "steg",
    "period",
    "namn",
    "enhet",
    "process",
    "nivå",
    "ägare",
    "deadline",
    "inlämnat",
    "inlämnat_av",
    "beslutat",
    "beslutat_av",
    "diarienummer",
    "arbetsdagar_sent",
    "läge",
]


def follow_up_report(year: int, *, mode: Mode = Mode.live, today: dt.date | None = None) -> dict:
    """Build the follow-up of one cycle: rows for the CSV and a markdown summary."""
    definition = runtime.definition()
    org = definition.organisation
    today = today or org.calendar.local_date(clock.now())
    with Session(runtime.engine()) as session:
        cycle = find_cycle(session=session, organisation=org.info.key, year=year, mode=mode)
        if cycle is None:
            raise LookupError(f"cykel {year} är inte startad ({'simulering' if mode is Mode.simulation else 'skarp'})")
        steps = cycle_steps(session=session, cycle_id=cycle.id)
        directory = load_directory(session=session, organisation=cycle.organisation)
        late_items = overdue_items(session=session, steps=steps, today=today, calendar=org.calendar)
    delivered = deliveries(steps, org.calendar)
    by_id = {d.step.id: d for d in delivered}
    rows = []
    for step in sorted(steps, key=lambda s: (s.due, s.name, s.unit_name)):
        delivery = by_id.get(step.id)
        rows.append(
            {
                "steg": step.step,
                "period": step.period or "",
                "namn": step.name,
                "enhet": step.unit_name,
                "process": definition.processes[step.process].name
                if step.process in definition.processes
                else step.process,
                "nivå": org.level_names.get(step.level, step.level),
                "ägare": directory.name(step.owner),
                "deadline": step.due.isoformat(),
                "inlämnat": delivery.submitted_on.isoformat() if delivery else "",
                "inlämnat_av": directory.name(step.submitted_by) if step.submitted_by else "",
                "beslutat": delivery.decided_on.isoformat() if delivery and delivery.decided_on else "",
                "beslutat_av": directory.name(step.decided_by_person) if step.decided_by_person else "",
                "diarienummer": step.diarienummer or "",
                "arbetsdagar_sent": delivery.working_days_late if delivery else "",
                "läge": "klart" if delivery else StepState(step.state).value,
            }
        )
    late = [d for d in delivered if d.working_days_late > 0]
    late_by_process = Counter(d.step.process for d in late)
    lines = [
        f"# Uppföljning av årshjulet {year}",
        "",
        f"Läget {today.isoformat()}: {len(delivered)} av {len(steps)} steg klara, varav {len(late)} efter deadline; "
        f"{len(late_items)} försenade och ännu inte inlämnade.",
        "",
        "| Process | Klara | Sent klara |",
        "|---|---|---|",
    ]
    done_by_process = Counter(d.step.process for d in delivered)
    for process, count in sorted(done_by_process.items()):
        name = definition.processes[process].name if process in definition.processes else process
        lines.append(f"| {table_cell(name)} | {count} | {late_by_process.get(process, 0)} |")
    if late:
        lines += [
            "",
            "## Levererat efter deadline",
            "",
            "| Steg | Enhet | Deadline | Inlämnat | Arbetsdagar sent |",
            "|---|---|---|---|---|",
        ]
        for d in sorted(late, key=lambda d: -d.working_days_late)[:50]:
            lines.append(
                f"| {table_cell(d.step.name)} | {table_cell(d.step.unit_name)} | {d.step.due} | {d.submitted_on} "
                f"| {d.working_days_late} |"
            )
    return {
        "cycle": cycle,
        "rows": rows,
        "markdown": "\n".join(lines),
        "done": len(delivered),
        "late": len(late),
        "total": len(steps),
    }


def write_report_csv(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=REPORT_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path


@flow(name="arshjul-uppfoljning")
def follow_up(year: int, mode: Mode = Mode.live) -> dict:
    """Publish the follow-up of a cycle and write it as CSV under var/reports/."""
    logger = get_run_logger()
    report = follow_up_report(year, mode=mode)
    suffix = "" if mode is Mode.live else "-simulering"
    path = write_report_csv(report["rows"], get_settings().home / "reports" / f"uppfoljning-{year}{suffix}.csv")
    create_markdown_artifact(
        key=f"arshjul{suffix}-{year}-uppfoljning",
        markdown=report["markdown"],
        description=f"Uppföljning av årshjulet {year}",
    )
    logger.info(
        "Uppföljning %s: %s av %s klara, %s sent; rapport %s",
        year,
        report["done"],
        report["total"],
        report["late"],
        path,
    )
    return {"done": report["done"], "late": report["late"], "total": report["total"], "csv": str(path)}
