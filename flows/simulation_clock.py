"""Where the simulated clock of `arshjul simulate` stood, kept between processes.

Every move of the clock is written to a small file under ARSHJUL_HOME, so that a
simulation restarted after a kill goes on from the moment the killed one had reached,
not from its last audit entry: days without one would be lived again, and an answer
Prefect had taken on one of them would be recorded (by the reconciler) on an earlier day
than the person gave it."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from arshjul.core.settings import get_settings
from models.tables import Cycle


def clock_file(cycle: Cycle) -> Path:
    """Named by the cycle's identity (random per database): a fresh database never takes
    up another's time."""
    return get_settings().home / f"simulering-{cycle.identity}.klocka"


def kept_time(path: Path) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return moment if moment.tzinfo else None


def keep_time(path: Path, moment: dt.datetime) -> None:
    """Replace the kept moment at once (a kill leaves the old one or the new one)."""
    partial = path.with_suffix(".tmp")
    partial.write_text(moment.isoformat())
    os.replace(partial, path)
