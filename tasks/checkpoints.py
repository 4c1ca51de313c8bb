"""Checkpoints of the audit log taken by the app: daily (the sweep) and when a cycle
closes. Each is signed and appended to the checkpoint file (arshjul.core.checkpoints),
published as a Prefect artifact, and mailed to the auditors' address in the
organisation — three copies a database writer cannot reach."""

from __future__ import annotations

import logging

from prefect.artifacts import create_markdown_artifact
from prefect.context import FlowRunContext
from sqlmodel import Session

from arshjul.core import clock, runtime
from arshjul.core.checkpoints import Written, write_checkpoint
from arshjul.core.database import session_scope
from arshjul.core.settings import get_settings
from arshjul.views.markdown import inert
from models.checkpoint_mail import enqueue_checkpoint_mail
from models.cycles import close_cycle_if_done
from models.tables import Cycle, Mode, StepInstance

log = logging.getLogger(__name__)
ARTIFACT_KEY = "arshjul-granskningslogg-kontrollpunkt"


def take_checkpoint(reason: str, *, mode: Mode = Mode.live) -> Written:
    """Sign the log's head now; publish it and mail it to the auditors (once per head and
    reason: the sweep run again the same day adds nothing)."""
    now = clock.now()
    definition = runtime.definition()
    organisation = definition.organisation.info
    with Session(runtime.engine()) as session:
        written = write_checkpoint(
            session=session,
            settings=get_settings(),
            now=now,
            reason=reason,
            organisation=organisation.key,
            once=True,
        )
    if not written.new:
        return written
    record = written.record
    if FlowRunContext.get() is not None:  # an artifact belongs to a flow run
        create_markdown_artifact(
            key=ARTIFACT_KEY if mode is Mode.live else f"arshjul-simulering-{ARTIFACT_KEY.removeprefix('arshjul-')}",
            markdown="\n".join(
                [
                    "# Granskningsloggens kontrollpunkt",
                    "",
                    f"**Skäl:** {inert(reason)}  ",
                    f"**Tid:** {record['at']}  ",
                    f"**Senaste post:** {record['last_id']} · **antal poster:** {record['count']}  ",
                    f"**Hash:** `{record['last_hash']}`  ",
                    f"**Nyckel:** `{record['key_id']}` · **signatur:** `{record['signature']}`",
                    "",
                    "Hela raden (för `arshjul audit verify --checkpoints`):",
                    "",
                    f"```\n{written.line[:2000]}{' …' if len(written.line) > 2000 else ''}\n```",
                ]
            ),
            description=f"Signerad kontrollpunkt av granskningsloggen ({reason})",
        )
    if organisation.auditors_email:
        with session_scope(runtime.engine()) as session:
            enqueue_checkpoint_mail(
                written.record,
                written.line,
                to=organisation.auditors_email,
                session=session,
                now=now,
                mail_domain=runtime.mail_domain(),
                mode=mode,
            )
    else:
        log.warning("organisationen har ingen adress till revisorerna (auditors_email): kontrollpunkten mejlas inte")
    return written


def checkpoint_if_cycle_closed(step: StepInstance) -> bool:
    """When the step just finished was the cycle's last, close the cycle and checkpoint."""
    with session_scope(runtime.engine()) as session:
        closed = close_cycle_if_done(step.cycle_id, session=session, now=clock.now())
        cycle = session.get(Cycle, step.cycle_id)
        year, mode = (cycle.year, Mode(cycle.mode)) if cycle else (None, Mode.live)
    if closed:
        take_checkpoint(f"cykel {year} avslutad", mode=mode)
    return closed
