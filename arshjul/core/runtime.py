"""What flows and tasks share at run time: the app database, the organisation's
definition (reloaded when its files change) and the context for step operations."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from arshjul.core.calendar_feeds import feed_cache
from arshjul.core.database import get_engine
from arshjul.core.settings import get_settings
from models.definition import Definition
from models.people import load_directory
from models.steps import Context
from models.tables import Cycle, Mode, StepInstance
from models.validation import load_definition

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_cache: dict[Path, tuple[tuple, Definition]] = {}


def _fingerprint(folder: Path) -> tuple:
    return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.glob("*.y*ml")))


def definition(folder: Path | None = None) -> Definition:
    """The organisation's definition, validated; cached until a file in the folder changes."""
    folder = (folder or get_settings().org).resolve()
    fingerprint = _fingerprint(folder)
    with _lock:
        cached = _cache.get(folder)
        if cached and cached[0] == fingerprint:
            return cached[1]
    feeds = feed_cache()
    loaded = load_definition(folder, feeds=feeds)
    for warning in feeds.warnings:
        logger.warning("%s", warning)
    with _lock:
        _cache[folder] = (fingerprint, loaded)
    return loaded


def engine() -> Engine:
    return get_engine()


def mail_domain() -> str:
    sender = get_settings().mail_from
    address = sender.split("<")[-1].rstrip(">").strip()
    return address.split("@")[-1] or "arshjul.local"


def step_context(*, session: Session, organisation: str | None = None, mode: Mode = Mode.live) -> Context:
    loaded = definition()
    key = organisation or loaded.organisation.info.key
    if key != loaded.organisation.info.key:
        raise RuntimeError(
            f"the app database holds organisation '{key}', but ARSHJUL_ORG points to "
            f"'{loaded.organisation.info.key}' ({loaded.folder}); set ARSHJUL_ORG to that organisation's folder"
        )
    return Context(
        calendar=loaded.organisation.calendar,
        directory=load_directory(session=session, organisation=key),
        mail_domain=mail_domain(),
        mode=mode,
    )


def context_for_step(step: StepInstance, *, session: Session) -> Context:
    """The context for operations on `step`, in the mode of its cycle."""
    cycle = session.get(Cycle, step.cycle_id)
    if cycle is None:
        raise LookupError(f"step {step.id} belongs to cycle {step.cycle_id}, which is not in the app database")
    return step_context(session=session, organisation=cycle.organisation, mode=cycle.mode)
