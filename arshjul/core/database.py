"""The app database: engine, sessions and migrations.

SQLite (the embedded default) runs in WAL mode and opens every transaction with
BEGIN IMMEDIATE, so two writers queue for the lock instead of one failing halfway
(the audit chain needs writers in a strict order). PostgreSQL serialises the audit chain
with an advisory lock and step changes with row locks (see models.audit, models.steps).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from models.audit_hash import canonical_json

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": 60, "check_same_thread": False}, json_serializer=canonical_json
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL survives any crash of the application; only a power cut
            # can take back the last commits. FULL would sync the disk on every commit,
            # which the outbox's sending rate cannot afford (see the README's benchmarks).
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            # Readers marked read_only() do not take the write lock (WAL lets them read
            # beside a writer); everything else queues for it at once.
            read_only = connection.get_execution_options().get("arshjul_read_only", False)
            # Straight to the driver: this runs for every transaction, and SQLAlchemy's
            # statement machinery around one BEGIN costs more than the BEGIN itself.
            connection.connection.driver_connection.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, json_serializer=canonical_json)


_read_only_engines: dict[Engine, Engine] = {}


def read_only(engine: Engine) -> Engine:
    """The same database for transactions that only read: on SQLite they run beside a
    writer instead of waiting for the write lock."""
    # Kept per engine: making the option engine sets up its event dispatch each time,
    # which a web page asking for it twice per request noticed.
    with _engines_lock:
        if engine not in _read_only_engines:
            _read_only_engines[engine] = engine.execution_options(arshjul_read_only=True)
        return _read_only_engines[engine]


def get_engine(url: str | None = None) -> Engine:
    """One engine per URL for the process; the URL defaults to the settings'."""
    if url is None:
        from arshjul.core.settings import get_settings

        url = get_settings().resolved_database_url
    with _engines_lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


def dispose_engines() -> None:
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _read_only_engines.clear()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (runs on every start; cheap when current)."""
    command.upgrade(alembic_config(engine), "head")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
