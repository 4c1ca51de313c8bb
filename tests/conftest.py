"""Shared fixtures: the organisations, and app databases on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# pytest-xdist's workers set COLUMNS=80, and rich pins a console's width to COLUMNS when the
# console is made (at import): the CLI tests give the width per invocation instead.
os.environ.pop("COLUMNS", None)
# The tests never touch the project's ./var: Prefect's home and the app's are temporary.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="arshjul-prefect-home-"))
os.environ.setdefault("ARSHJUL_HOME", tempfile.mkdtemp(prefix="arshjul-home-"))

import datetime as dt  # noqa: E402

from sqlmodel import Session, select  # noqa: E402

from arshjul.core.database import make_engine, migrate, session_scope  # noqa: E402
from arshjul.core.settings import DEFAULT_ORGANISATION  # noqa: E402
from models.cycles import store_cycle  # noqa: E402
from models.people import load_directory  # noqa: E402
from models.steps import Context  # noqa: E402
from models.tables import StepInstance  # noqa: E402
from models.validation import load_definition  # noqa: E402

SMALL_ORG = Path(__file__).parent / "fixtures" / "small"
REGION_ORG = DEFAULT_ORGANISATION
POSTGRES_ADMIN_URL = os.environ.get("ARSHJUL_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def run_concurrently(*targets) -> None:
    """Start every target in a thread of its own at once, then wait for all of them."""
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def small_definition():
    return load_definition(SMALL_ORG)


@pytest.fixture(scope="session")
def region_definition():
    return load_definition(REGION_ORG)


@pytest.fixture
def small_copy(tmp_path) -> Path:
    """A writable copy of the small organisation, for tests that damage it."""
    target = tmp_path / "org"
    shutil.copytree(SMALL_ORG, target)
    return target


def _postgres_database() -> tuple[str, callable]:
    """Create a throw-away database on the local server; return its URL and a dropper."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"arshjul_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        admin.dispose()
        pytest.fail(
            f"PostgreSQL at {POSTGRES_ADMIN_URL} is not usable ({exc.__class__.__name__}: {exc}). Start it with: "
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        )
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def _migrated(url: str) -> str:
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def bare_database_url(request, tmp_path):
    """An empty app database on each backend, without its schema."""
    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'app.db'}", (lambda: None)
    else:
        url, drop = _postgres_database()
    yield url
    drop()


@pytest.fixture
def database_url(bare_database_url):
    """An empty, migrated app database on each backend."""
    return _migrated(bare_database_url)


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url():
    url, drop = _postgres_database()
    yield _migrated(url)
    drop()


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect server (SQLite) for every test that runs real flow runs."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


# -- the small organisation's cycle in an app database --------------------------------------

CYCLE_STORED_AT = dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)  # before any step of cycle 2027 opens


@pytest.fixture
def cycle(engine, small_definition):
    """The small organisation's cycle 2027, stored in `engine` (on each backend)."""
    with session_scope(engine) as session:
        store_cycle(small_definition, 2027, session=session, now=CYCLE_STORED_AT)
    return engine


def step_context(session: Session, definition, **overrides) -> Context:
    """What step operations need: the organisation's calendar and its people."""
    directory = load_directory(session=session, organisation=definition.organisation.info.key)
    return Context(calendar=definition.organisation.calendar, directory=directory, **overrides)


def stored_step(engine, key: str) -> StepInstance:
    with Session(engine) as session:
        return session.exec(select(StepInstance).where(StepInstance.key == key)).one()


def step_id(engine, key: str) -> int:
    with Session(engine) as session:
        return session.exec(select(StepInstance.id).where(StepInstance.key == key)).one()


class OfficeHoursClock:
    """Real time, moved to 10:00 Stockholm on the next working day: for tests through the
    real Prefect server whose mail must go out at once (outside working hours it would
    wait for the next morning), whatever the hour or day the suite runs."""

    def __init__(self, calendar):
        day = dt.date.today()
        while not calendar.is_working_day(day):
            day += dt.timedelta(days=1)
        start = calendar.at_start_of_day(day).in_timezone("UTC").add(hours=2)
        self._offset = dt.datetime.fromtimestamp(start.timestamp(), dt.UTC) - dt.datetime.now(dt.UTC)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self._offset


@pytest.fixture
def office_hours(small_definition):
    from arshjul.core import clock

    previous = clock.use(OfficeHoursClock(small_definition.organisation.calendar))  # type: ignore[arg-type]
    try:
        yield
    finally:
        clock.use(previous)
