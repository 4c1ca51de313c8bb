"""The web app on the small organisation's cycle 2027 in a temporary app database, on a
simulated clock, with a real SMTP sink for the mail whose links it opens."""

from __future__ import annotations

import datetime as dt
import email
import re
from email import policy

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from arshjul.core import clock, runtime
from arshjul.core.clock import SimulatedClock
from arshjul.core.database import session_scope
from arshjul.core.settings import get_settings
from models.cycles import store_cycle
from models.steps import open_step
from models.tables import StepInstance
from notifications.sink import MailSink
from tests.conftest import CYCLE_STORED_AT, SMALL_ORG, free_port
from tests.prefect_support import app_environment

PUBLIC_URL = "https://arshjul.example.se"
LINK = re.compile(r"https://arshjul\.example\.se/(steg|mina-steg)/[A-Za-z0-9_.\-]+")


class Desk:
    """The app, its clock, its mail: what a test of the web app needs."""

    def __init__(self, client: TestClient, clock_: SimulatedClock, sink: MailSink):
        self.client = client
        self.clock = clock_
        self.sink = sink
        self.seen: set = set()

    def step(self, key: str) -> StepInstance:
        with Session(runtime.engine()) as session:
            return session.exec(select(StepInstance).where(StepInstance.key == key)).one()

    def open(self, key: str) -> None:
        with session_scope(runtime.engine()) as session:
            step = session.exec(select(StepInstance).where(StepInstance.key == key)).one()
            open_step(step.id, session=session, ctx=runtime.context_for_step(step, session=session), now=clock.now())

    def deliver(self):
        from tasks.mail import deliver

        return deliver()

    def new_mail(self) -> list[email.message.EmailMessage]:
        """Mail the sink received since the last call."""
        fresh = [path for path in self.sink.messages() if path not in self.seen]
        self.seen.update(fresh)
        return [email.message_from_bytes(path.read_bytes(), policy=policy.default) for path in fresh]

    def links_in(self, message, kind: str = "steg") -> list[str]:
        text = message.get_body(("plain",)).get_content()
        return [m.group(0) for m in LINK.finditer(text) if m.group(1) == kind]

    def path(self, url: str) -> str:
        return url.removeprefix(PUBLIC_URL)


@pytest.fixture
def desk(prefect_server, tmp_path, monkeypatch):
    port = free_port()
    monkeypatch.setenv("ARSHJUL_SINK_PORT", str(port))
    monkeypatch.setenv("ARSHJUL_PUBLIC_URL", PUBLIC_URL)
    monkeypatch.setenv("ARSHJUL_PREFECT_AUTH_STRING", "regionstab:hemligt")
    with app_environment(tmp_path, SMALL_ORG):
        from arshjul.web.app import create_app

        with session_scope(runtime.engine()) as session:
            store_cycle(runtime.definition(), 2027, session=session, now=CYCLE_STORED_AT)
        simulated = SimulatedClock(dt.datetime(2026, 1, 12, 9, 0, tzinfo=dt.UTC))
        previous = clock.use(simulated)
        sink = MailSink(get_settings().mail_dir, port).start()
        try:
            with TestClient(create_app(get_settings()), client=("198.51.100.7", 50000)) as client:
                yield Desk(client, simulated, sink)
        finally:
            sink.stop()
            clock.use(previous)
