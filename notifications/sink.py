"""The local SMTP sink of the embedded default: every message it receives is written to
a folder as one .eml file (nothing leaves the machine)."""

from __future__ import annotations

import datetime as dt
import itertools
import os
from pathlib import Path

from aiosmtpd.controller import Controller

_sequence = itertools.count(1)


class MaildirHandler:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{os.getpid()}-{next(_sequence):06d}.eml"
        temporary = self.folder / f".{name}.tmp"
        content = envelope.original_content or envelope.content
        temporary.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        temporary.replace(self.folder / name)  # a reader never sees half a message
        return "250 Message accepted for delivery"


class MailSink:
    """An SMTP server on 127.0.0.1 that stores what it receives under `folder`."""

    def __init__(self, folder: Path, port: int = 8025, host: str = "127.0.0.1"):
        self.folder = folder
        self.host = host
        self.port = port
        self._controller = Controller(MaildirHandler(folder), hostname=host, port=port)

    def start(self) -> MailSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def messages(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml"))
