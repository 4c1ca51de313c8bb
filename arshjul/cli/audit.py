"""`arshjul audit …`: the tamper-evident record auditors ask for — checked, and exported."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from arshjul.cli.common import console, database, errors, fail, output_file, parse_date
from models.audit import iter_entries, verify_chain

EXPORT_FIELDS = [
    "id", "at", "actor", "actor_role", "source", "action", "cycle_id", "instance_id",
    "before", "after", "comment", "flow_run_id", "prev_hash", "hash",
]  # fmt: skip


def audit_verify() -> None:
    """Kontrollera att granskningsloggens hashkedja är obruten."""
    engine = database()
    with Session(engine) as session:
        checked, problems = verify_chain(session=session)
    if problems:
        for problem in problems:
            errors.print(f"post {problem.entry_id}: {problem.message}", highlight=False)
        fail(f"granskningsloggen är inte intakt: {len(problems)} fel bland {checked} poster", code=1)
    console.print(f"Granskningsloggen är intakt: {checked} poster, obruten hashkedja.", highlight=False)


def audit_export(
    output: Annotated[Path, typer.Option("--output", "-o", help="Fil att skriva (.csv eller .jsonl).")],
    since: Annotated[str | None, typer.Option("--since", help="Från och med ÅÅÅÅ-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Till (inte med) ÅÅÅÅ-MM-DD.")] = None,
) -> None:
    """Exportera granskningsloggen (med hashar, så att kedjan kan kontrolleras utanför systemet)."""
    if output.suffix not in (".csv", ".jsonl"):
        fail("skriv till en .csv- eller .jsonl-fil")
    output_file(output, "-o")
    start = dt.datetime.combine(parse_date(since, "--since"), dt.time(), dt.UTC) if since else None
    stop = dt.datetime.combine(parse_date(until, "--until"), dt.time(), dt.UTC) if until else None
    engine = database()
    count = 0
    with Session(engine) as session, output.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=EXPORT_FIELDS) if output.suffix == ".csv" else None
        if writer:
            writer.writeheader()
        for entry in iter_entries(session=session, since=start, until=stop):
            row = {name: getattr(entry, name) for name in EXPORT_FIELDS}
            row["at"] = entry.at.isoformat()
            if writer:
                row["before"] = json.dumps(entry.before, ensure_ascii=False) if entry.before is not None else ""
                row["after"] = json.dumps(entry.after, ensure_ascii=False) if entry.after is not None else ""
                writer.writerow(row)
            else:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    console.print(f"Skrev {count} poster till {output}.", highlight=False)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Granskningsloggen: kontrollera och exportera.", no_args_is_help=True)
    group.command("verify")(audit_verify)
    group.command("export")(audit_export)
    app.add_typer(group, name="audit")
