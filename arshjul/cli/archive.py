"""`arshjul cycle archive` and `arshjul cycle verify-archive`: a completed cycle in one
verifiable bundle (arshjul.core.archive) — history, mail log, follow-up, the audit log
and its checkpoints — and checking such a bundle without the app's database."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from arshjul.cli.audit import PublicKeyOption, build_cycle_history, export_rows, unwritable
from arshjul.cli.common import SimulationOption, console, database, errors, fail
from arshjul.core.archive import AUDIT_LOG, CHECKPOINTS, ArchiveError, read_bundle, verify_bundle, write_bundle
from arshjul.core.checkpoints import CheckpointError, checkpoint_path, signing_key, verifying_key, write_checkpoint
from arshjul.core.settings import get_settings
from models.queries import outbox_log
from models.tables import Mode, OutboxState

MAIL_FIELDS = ["id", "skapat", "typ", "till", "för", "steg", "läge", "försök", "ämne", "skickat", "message_id", "fel"]


def _mail_log_csv(year: int, mode: Mode) -> bytes:
    with Session(database()) as session:
        rows = outbox_log(session=session, mode=mode, year=year)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MAIL_FIELDS)
    writer.writeheader()
    for message, step, _cycle in rows:
        writer.writerow(
            {
                "id": message.id,
                "skapat": message.created_at.isoformat(),
                "typ": message.kind,
                "till": message.recipient,
                "för": message.on_behalf_of or "",
                "steg": step.key if step else "",
                "läge": OutboxState(message.state).value,
                "försök": message.attempts,
                "ämne": message.subject or "",
                "skickat": message.sent_at.isoformat() if message.sent_at else "",
                "message_id": message.message_id,
                "fel": message.last_error or "",
            }
        )
    return buffer.getvalue().encode("utf-8")


def _follow_up(year: int, mode: Mode) -> dict[str, bytes]:
    from flows.follow_up import REPORT_FIELDS, follow_up_report

    report = follow_up_report(year, mode=mode)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=REPORT_FIELDS)
    writer.writeheader()
    writer.writerows(report["rows"])
    return {
        f"uppfoljning-{year}.csv": buffer.getvalue().encode("utf-8"),
        f"uppfoljning-{year}.md": (report["markdown"] + "\n").encode("utf-8"),
    }


def _writable_or_fail(target: Path) -> None:
    """The archive can be written at `target`: checked before its checkpoint is taken, so
    a refused target leaves nothing behind."""
    if target.exists():
        fail(f"{target} finns redan; ett arkiv skrivs aldrig över")
    existing = target.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:  # a probe file (gone when closed), not os.access, which says yes to root everywhere
        if not existing.is_dir():
            raise NotADirectoryError
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError:
        fail(f"{target} går inte att skriva ({existing} är ingen skrivbar mapp); ange en annan fil eller mapp för -o")


def cycle_archive(
    year: Annotated[int, typer.Argument(help="Planåret, t.ex. 2027.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="En ny mapp, eller en .zip-fil (standard: var/arkiv/…).")
    ] = None,
    simulation: SimulationOption = False,
) -> None:
    """Arkivera en avslutad cykel: historik, e-postlogg, uppföljning, granskningslogg och kontrollpunkter."""
    from arshjul.views.history import history_csv, history_html, history_json, history_pdf

    mode = Mode.of(simulation)
    settings = get_settings()
    history, _attestation, timezone, now = build_cycle_history(year, unit=None, simulation=simulation)
    if not history.cycle_events or not any(e.action == "cycle.closed" for e in history.cycle_events):
        fail(f"cykel {year} är inte avslutad: alla steg är inte klara, så den kan inte arkiveras ännu")
    target = (
        output or settings.home / "arkiv" / f"arshjul-{year}{'-simulering' if simulation else ''}-{now:%Y%m%d%H%M%S}"
    )
    _writable_or_fail(target)
    engine = database()
    try:
        with Session(engine) as session:  # the archive's own checkpoint: the log as archived
            write_checkpoint(
                session=session,
                settings=settings,
                now=now,
                reason=f"arkiv av cykel {year}",
                organisation=history.organisation,
            )
        history, attestation, timezone, now = build_cycle_history(year, unit=None, simulation=simulation)
        key = signing_key(settings)
        checkpoints = checkpoint_path(settings).read_bytes()
    except CheckpointError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(unwritable(exc, "ARSHJUL_CHECKPOINT_DIR"))
    with Session(engine) as session:
        audit_log = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in export_rows(session=session))
    files = {
        f"historik-{year}.html": history_html(history, attestation, timezone, now).encode("utf-8"),
        f"historik-{year}.pdf": history_pdf(history, attestation, timezone, now),
        f"historik-{year}.csv": history_csv(history, timezone).encode("utf-8"),
        f"historik-{year}.json": history_json(history, attestation, timezone).encode("utf-8"),
        f"epostlogg-{year}.csv": _mail_log_csv(year, mode),
        AUDIT_LOG: audit_log.encode("utf-8"),
        CHECKPOINTS: checkpoints,
    } | _follow_up(year, mode)
    about = {
        "organisation": history.organisation,
        "år": year,
        "simulering": simulation,
        "skapat": now.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "granskningslogg_intakt": attestation.intact,
    }
    try:
        write_bundle(files, target, key=key, about=about)
    except ArchiveError as exc:
        fail(str(exc))
    console.print(f"Arkiverade cykel {year} i {target} ({len(files) + 3} filer, signerat manifest).", highlight=False)


def cycle_verify_archive(
    source: Annotated[Path, typer.Argument(help="Arkivets mapp eller .zip-fil.")], public_key: PublicKeyOption = None
) -> None:
    """Kontrollera ett arkiv utan databasen: manifestets signatur och hashar, kontrollpunkterna och loggen."""
    try:
        files = read_bundle(source)
        key = verifying_key(get_settings(), public_key)
    except (ArchiveError, CheckpointError) as exc:
        fail(str(exc))
    problems, listing = verify_bundle(files, key)
    for problem in problems[:50]:
        errors.print(problem, highlight=False, soft_wrap=True)
    if problems:
        fail(f"arkivet {source} är inte intakt: {len(problems)} fel", code=1)
    console.print(
        f"Arkivet är intakt: {len(listing['filer'])} filer stämmer med det signerade manifestet, och "
        f"granskningsloggen i det stämmer med varje kontrollpunkt.",
        highlight=False,
    )


def register(group: typer.Typer) -> None:
    group.command("archive")(cycle_archive)
    group.command("verify-archive")(cycle_verify_archive)
