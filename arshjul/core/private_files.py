"""Secrets the embedded default makes for itself (the link key, the Prefect sign-in, the
checkpoint key): written once, readable by their owner only from the first byte."""

from __future__ import annotations

import os
from pathlib import Path


def write_once_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` unless it exists. The file is created with mode 0600 (never
    readable by others, not even for a moment, whatever the umask), complete before it
    appears under its name; of two processes writing at once, the first one's wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # O_CREAT's mode only applies to a new file
        os.write(descriptor, data)
    finally:
        os.close(descriptor)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
