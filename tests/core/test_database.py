"""The app database on SQLite and PostgreSQL: migrations, cycles, the audit chain."""

import datetime as dt
import functools

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session, func, select

from arshjul.core.database import make_engine, migrate, session_scope
from models.audit import append_audit, verify_chain
from models.cycles import store_cycle
from models.tables import (
    AuditEntry,
    Cycle,
    Person,
    StepDependency,
    StepInstance,
    StepState,
    Unit,
)
from tests.conftest import run_concurrently

NOW = dt.datetime(2026, 1, 5, 7, 0, tzinfo=dt.UTC)


def test_migrations_create_the_schema_and_are_repeatable(engine):
    tables = set(inspect(engine).get_table_names())
    assert {
        "cycle",
        "step_instance",
        "step_dependency",
        "audit_entry",
        "unit",
        "person",
        "absence",
        "alembic_version",
    } <= tables
    migrate(engine)  # a second run is a no-op
    from alembic.script import ScriptDirectory

    from arshjul.core.database import alembic_config

    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    assert len(heads) == 1, f"the migrations must form one chain, not several heads: {heads}"
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == heads[0]


def test_migration_0002_gives_existing_cycles_an_identity_of_their_own(bare_database_url):
    from alembic import command

    from arshjul.core.database import alembic_config

    engine = make_engine(bare_database_url)
    command.upgrade(alembic_config(engine), "0001")
    with engine.begin() as connection:
        for year in (2027, 2028):
            connection.execute(
                text(
                    "INSERT INTO cycle (organisation, year, mode, definition_digest, created_at) "
                    "VALUES ('org', :year, 'live', 'x', :at)"
                ),
                {"year": year, "at": NOW},
            )
    migrate(engine)
    with Session(engine) as session:
        identities = [cycle.identity for cycle in session.exec(select(Cycle))]
    engine.dispose()
    assert len(identities) == 2 and len(set(identities)) == 2
    assert all(len(identity) == 32 and int(identity, 16) >= 0 for identity in identities)


def test_store_cycle_is_idempotent(engine, small_definition):
    with session_scope(engine) as session:
        first = store_cycle(small_definition, 2027, session=session, now=NOW)
    assert len(first.created) == 15 and first.existing == 0
    with session_scope(engine) as session:
        second = store_cycle(small_definition, 2027, session=session, now=NOW)
    assert second.created == [] and second.existing == 15
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Cycle)).one() == 1
        assert session.exec(select(func.count()).select_from(StepInstance)).one() == 15
        assert session.exec(select(func.count()).select_from(Unit)).one() == 8  # 6 units + 2 bodies
        assert session.exec(select(func.count()).select_from(Person)).one() == 8
        unit_plan = session.exec(select(StepInstance).where(StepInstance.key == "enhet_verksamhetsplan:enh_a1")).one()
        assert unit_plan.state == StepState.planned
        assert unit_plan.due == dt.date(2026, 12, 23) and unit_plan.nominal_due == dt.date(2026, 12, 24)
        assert unit_plan.opens_at == dt.datetime(2026, 10, 1, 6, 0, tzinfo=dt.UTC)  # 08:00 CEST
        dependencies = session.exec(select(StepDependency).where(StepDependency.instance_id == unit_plan.id)).all()
        area = session.get(StepInstance, dependencies[0].depends_on_id)
        assert [area.key] == ["omrade_verksamhetsplan:omr_a"]
        # One audit entry for the start; none for the repeat that created nothing.
        assert [e.action for e in session.exec(select(AuditEntry))] == ["cycle.started"]


def _append(engine, actor: str, count: int) -> None:
    for index in range(count):
        with session_scope(engine) as session:
            append_audit(
                session=session, at=NOW, actor=actor, action="step.opened", source="system", after={"n": index}
            )


def test_audit_chain_verifies(engine):
    _append(engine, "a", 5)
    with Session(engine) as session:
        checked, problems = verify_chain(session=session)
    assert (checked, problems) == (5, [])


def test_audit_log_refuses_update_and_delete(engine):
    _append(engine, "a", 2)
    for statement in ("UPDATE audit_entry SET actor = 'mallory'", "DELETE FROM audit_entry"):
        with pytest.raises(DatabaseError, match="append-only"):
            with engine.begin() as connection:
                connection.execute(text(statement))
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(AuditEntry)).one() == 2


def test_tampering_is_detected(engine):
    _append(engine, "a", 4)
    # An attacker with DDL rights removes the guard and edits history.
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_change"))
        else:
            connection.execute(text("DROP TRIGGER audit_entry_no_update"))
            connection.execute(text("DROP TRIGGER audit_entry_no_delete"))
        connection.execute(text("UPDATE audit_entry SET actor = 'mallory' WHERE id = 2"))
        connection.execute(text("DELETE FROM audit_entry WHERE id = 3"))
    with Session(engine) as session:
        checked, problems = verify_chain(session=session)
    assert checked == 3
    assert [(p.entry_id, "ändrats" in p.message) for p in problems] == [(2, True), (4, True)]


def test_concurrent_appends_keep_one_chain(engine):
    run_concurrently(*(functools.partial(_append, engine, f"writer-{n}", 15) for n in range(6)))
    with Session(engine) as session:
        checked, problems = verify_chain(session=session)
        prev_hashes = session.exec(select(AuditEntry.prev_hash)).all()
    assert checked == 90 and problems == []
    assert len(set(prev_hashes)) == 90  # no two entries claim the same predecessor: no fork


def test_concurrent_cycle_starts_create_one_cycle(database_url, small_definition):
    errors = []

    def start() -> None:
        engine = make_engine(database_url)
        try:
            with session_scope(engine) as session:
                store_cycle(small_definition, 2027, session=session, now=NOW)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            engine.dispose()

    run_concurrently(start, start, start)
    engine = make_engine(database_url)
    with Session(engine) as session:
        cycles = session.exec(select(func.count()).select_from(Cycle)).one()
        instances = session.exec(select(func.count()).select_from(StepInstance)).one()
    engine.dispose()
    assert errors == []
    assert cycles == 1 and instances == 15


def test_an_entrys_origin_is_covered_by_its_hash_and_older_entries_hash_as_before(engine):
    from models.audit import append_audit, entry_hash

    with session_scope(engine) as session:
        plain = append_audit(session=session, at=NOW, actor="system", action="cycle.started", source="system")
        with_origin = append_audit(
            session=session, at=NOW, actor="eva.a1", action="step.submitted", source="cli", origin={"os_user": "eva"}
        )
    with Session(engine) as session:
        assert verify_chain(session=session) == (2, [])
        stored = session.get(AuditEntry, with_origin.id)
        assert stored.origin == {"os_user": "eva"}
        assert entry_hash(stored, stored.prev_hash) == stored.hash
        assert session.get(AuditEntry, plain.id).origin is None
        session.expunge(stored)
        stored.origin = {"os_user": "mallory"}  # in memory only: the hash no longer fits
        assert entry_hash(stored, stored.prev_hash) != stored.hash
