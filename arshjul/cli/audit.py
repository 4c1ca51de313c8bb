"""`arshjul audit …`: the tamper-evident record auditors ask for — checked, and exported."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from arshjul.cli.common import (
    SimulationOption,
    check_year,
    console,
    cycle_or_fail,
    database,
    errors,
    fail,
    load,
    output_file,
    parse_date,
    today_in,
)
from arshjul.core.audit_parallel import WalkError, verify_database
from arshjul.core.checkpoints import (
    CheckpointError,
    checkpoint_path,
    create_key,
    public_key_path,
    read_checkpoints,
    verifying_key,
    write_checkpoint,
)
from arshjul.core.settings import get_settings
from models.audit import iter_entries
from models.audit_integrity import Verification, trigger_problems
from models.tables import AuditEntry, Mode

EXPORT_FIELDS = [
    "id", "at", "actor", "actor_role", "source", "action", "cycle_id", "instance_id",
    "before", "after", "comment", "flow_run_id", "origin", "prev_hash", "hash",
]  # fmt: skip


CheckpointsOption = Annotated[
    Path | None,
    typer.Option("--checkpoints", help="Kontrollpunktsfilen (standard: den i ARSHJUL_CHECKPOINT_DIR, om den finns)."),
]
PublicKeyOption = Annotated[
    Path | None, typer.Option("--public-key", help="Den publika nyckeln (standard: den bredvid signeringsnyckeln).")
]


def audit_verify(checkpoints: CheckpointsOption = None, public_key: PublicKeyOption = None) -> None:
    """Kontrollera granskningsloggen: hashkedjan, spärrarna mot ändring och varje kontrollpunkt."""
    settings = get_settings()
    path = checkpoints or checkpoint_path(settings)
    loaded: list = []
    file_problems: list[str] = []
    if checkpoints is not None or path.exists():
        try:
            loaded, file_problems = read_checkpoints(path, verifying_key(settings, public_key))
        except CheckpointError as exc:
            fail(str(exc))
    engine = database()  # after the checkpoints: a refused file leaves a new home as it was
    with Session(engine) as session:
        try:
            result = verify_database(session=session, checkpoints=loaded)
        except WalkError as exc:
            fail(str(exc))
        problems = trigger_problems(session=session) + result.problems
        first = session.get(AuditEntry, result.first_bad_entry) if result.first_bad_entry else None
    for message in file_problems:
        errors.print(f"kontrollpunkter: {message}", highlight=False, soft_wrap=True)
    for problem in problems[:50]:
        where = f"post {problem.entry_id}" if problem.entry_id is not None else "loggen"
        errors.print(f"{where}: {problem.message}", highlight=False, soft_wrap=True)
    if len(problems) > 50:
        errors.print(f"… och {len(problems) - 50} fel till", highlight=False)
    if result.first_bad_entry is not None:
        detail = f" ({first.at:%Y-%m-%d %H:%M} UTC, {first.action}, {first.actor})" if first else " (finns inte längre)"
        errors.print(f"Första post som avviker: {result.first_bad_entry}{detail}", highlight=False, soft_wrap=True)
    if problems or file_problems:
        fail(
            f"granskningsloggen är inte intakt: {len(problems) + len(file_problems)} fel bland {result.checked} poster",
            code=1,
        )
    console.print(
        f"Granskningsloggen är intakt: {result.checked} poster, obruten hashkedja, spärrarna mot ändring finns.",
        highlight=False,
    )
    for line in unproven(result, path, loaded):
        console.print(line, highlight=False, soft_wrap=True)


def unproven(result: Verification, path: Path, loaded: list) -> list[str]:
    """What this verification could not prove (the README's "what a checkpoint proves")."""
    if not loaded:
        return [
            f"Inga kontrollpunkter ({path} finns inte): kontrollen visar bara att loggen hänger ihop med sig själv. "
            "Den kan inte visa att inga poster har tagits bort i slutet, eller att ingen har ändrat en post och "
            "räknat om alla hashar efter den. Ange kontrollpunkterna med --checkpoints."
        ]
    last = max(loaded, key=lambda c: c.head.count)
    lines = [f"Stämmer med {len(loaded)} signerade kontrollpunkter; den senaste ({last.at:%Y-%m-%d %H:%M} UTC) "
             f"omfattar post {last.head.last_id} ({last.head.count} poster)."]  # fmt: skip
    after = result.checked - last.head.count
    if after > 0:
        lines.append(
            f"{after} poster efter den senaste kontrollpunkten är ännu inte bestyrkta av någon kontrollpunkt: "
            "att de inte har ändrats kan visas först av nästa."
        )
    return lines


def unwritable(exc: OSError, setting: str) -> str:
    """A checkpoint file or key that cannot be written, with the setting that places it."""
    where = exc.filename or "filen"
    return f"{where} går inte att skriva ({exc.strerror or exc.__class__.__name__}): kontrollera {setting}"


def audit_keygen() -> None:
    """Skapa nyckeln som signerar granskningsloggens kontrollpunkter (en gång, i produktion)."""
    settings = get_settings()
    try:
        path = create_key(settings)
    except CheckpointError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(unwritable(exc, "ARSHJUL_CHECKPOINT_KEY"))
    console.print(
        f"Skapade {path} (privat, läsbar bara för ägaren) och {public_key_path(settings)} "
        "(publik: ge den till revisorerna).",
        highlight=False,
    )


def audit_checkpoint() -> None:
    """Signera loggens topp nu och lägg kontrollpunkten i kontrollpunktsfilen."""
    settings = get_settings()
    definition = load(None)
    engine = database()
    try:
        with Session(engine) as session:
            written = write_checkpoint(
                session=session,
                settings=settings,
                now=dt.datetime.now(dt.UTC),
                reason="manuell",
                organisation=definition.organisation.info.key,
            )
    except CheckpointError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(unwritable(exc, "ARSHJUL_CHECKPOINT_DIR"))
    record = written.record
    console.print(
        f"Kontrollpunkt skriven till {written.path}: post {record['last_id']}, {record['count']} poster.",
        highlight=False,
    )


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
        for row in export_rows(session=session, since=start, until=stop):
            if writer:
                for name in ("before", "after", "origin"):
                    row[name] = json.dumps(row[name], ensure_ascii=False) if row[name] is not None else ""
                writer.writerow(row)
            else:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    console.print(f"Skrev {count} poster till {output}.", highlight=False)


def export_rows(*, session: Session, since: dt.datetime | None = None, until: dt.datetime | None = None):
    """The exported entries as plain rows: every hashed field, so the chain can be
    recomputed outside the system (`cycle verify-archive` does)."""
    for entry in iter_entries(session=session, since=since, until=until):
        row = {name: getattr(entry, name) for name in EXPORT_FIELDS}
        row["at"] = entry.at.isoformat()
        yield row


HISTORY_FORMATS = ("html", "pdf", "csv", "json")


def build_cycle_history(year: int, *, unit: str | None, simulation: bool):
    """The cycle's history and what the log was verified against (shared with `cycle archive`)."""
    from arshjul.core.checkpoints import attest
    from models.history import build_history
    from models.people import load_directory
    from models.queries import last_activity

    check_year(year)
    definition = load(None)
    org = definition.organisation
    if unit is not None and unit not in org.units and unit not in org.bodies:
        fail(f"okänd enhet '{unit}'. Se organisation.yaml för giltiga nycklar.")
    engine = database()
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as session:
        cycle = cycle_or_fail(session, org.info.key, year, Mode.of(simulation))
        directory = load_directory(session=session, organisation=org.info.key)
        # A simulation's "today" is its simulated clock: where its newest entry stands.
        simulated = last_activity(session=session, cycle_id=cycle.id) if simulation else None
        today = org.calendar.local_date(simulated) if simulated else today_in(definition)
        history = build_history(definition, cycle, session=session, directory=directory, today=today, unit=unit)
        try:
            attestation = attest(session=session, settings=get_settings(), now=now)
        except CheckpointError as exc:
            fail(str(exc))
    return history, attestation, org.info.timezone, now


def audit_history(
    year: Annotated[int, typer.Argument(help="Planåret, t.ex. 2027.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Filen att skriva.")],
    output_format: Annotated[str, typer.Option("--format", help="html, pdf, csv eller json.")] = "html",
    unit: Annotated[str | None, typer.Option("--unit", help="Bara denna enhet och enheterna under den.")] = None,
    simulation: SimulationOption = False,
) -> None:
    """Cykelns historik för revisorerna: varje steg med allt som hände, och en sammanfattning."""
    from arshjul.views.history import history_csv, history_html, history_json, history_pdf

    if output_format not in HISTORY_FORMATS:
        fail(f"okänt format '{output_format}': välj {', '.join(HISTORY_FORMATS)}")
    output_file(output, "-o")
    history, attestation, timezone, now = build_cycle_history(year, unit=unit, simulation=simulation)
    if output_format == "pdf":
        output.write_bytes(history_pdf(history, attestation, timezone, now))
    else:
        text = {
            "html": lambda: history_html(history, attestation, timezone, now),
            "csv": lambda: history_csv(history, timezone),
            "json": lambda: history_json(history, attestation, timezone),
        }[output_format]()
        output.write_text(text, encoding="utf-8")
    verdict = "intakt" if attestation.intact else "INTE intakt"
    console.print(
        f"Skrev historiken för {year} ({len(history.stories)} steg, {len(history.entry_ids)} poster) till {output}; "
        f"granskningsloggen {verdict}.",
        highlight=False,
    )
    if not attestation.intact:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Granskningsloggen: kontrollera och exportera.", no_args_is_help=True)
    group.command("verify")(audit_verify)
    group.command("export")(audit_export)
    group.command("keygen")(audit_keygen)
    group.command("checkpoint")(audit_checkpoint)
    group.command("history")(audit_history)
    app.add_typer(group, name="audit")
