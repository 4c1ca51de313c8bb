"""The audit log against signed checkpoints kept outside the database: an attacker with
SQL access to a copy of the database tampers with it in every way the issue names, and
`verify` with the checkpoints catches each one and names the first bad entry."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

import pytest
from sqlalchemy import text
from sqlmodel import Session
from typer.testing import CliRunner

from arshjul.core.audit_parallel import verify_database
from arshjul.core.checkpoints import checkpoint_path, create_key, read_checkpoints, verifying_key, write_checkpoint
from arshjul.core.database import dispose_engines, session_scope
from arshjul.core.settings import Settings, get_settings
from models.audit import append_audit, entry_hash
from models.audit_integrity import trigger_problems, verify_log

NOW = dt.datetime(2027, 3, 1, 7, tzinfo=dt.UTC)
ENTRIES = 30


def _append(engine, first: int, last: int) -> None:
    for number in range(first, last + 1):
        with session_scope(engine) as session:
            append_audit(
                session=session,
                at=NOW + dt.timedelta(minutes=number),
                actor=f"person{number % 4}",
                action="step.submitted" if number % 3 else "step.approved",
                source="cli",
                instance_id=number,
                after={"state": "submitted", "n": number},
                comment=f"kommentar {number}",
                origin={"via": "cli", "os_user": "tester"},
            )


@pytest.fixture
def logged(engine, tmp_path):
    """30 entries with a checkpoint after the 10th, the 20th and the 30th."""
    settings = Settings(home=tmp_path / "home", checkpoint_dir=tmp_path / "utanför-databasen")
    create_key(settings)
    for first in (1, 11, 21):
        _append(engine, first, first + 9)
        with Session(engine) as session:
            write_checkpoint(
                session=session, settings=settings, now=NOW + dt.timedelta(days=first), reason="test", organisation="o"
            )
    return engine, settings


def _verify(engine, settings):
    checkpoints, problems = read_checkpoints(checkpoint_path(settings), verifying_key(settings))
    assert problems == []
    with Session(engine) as session:
        return verify_log(session=session, checkpoints=checkpoints), trigger_problems(session=session)


def _sql(engine, *statements: str, **params) -> None:
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement), params)


def _drop_triggers(engine) -> None:
    if engine.dialect.name == "postgresql":
        _sql(
            engine,
            "DROP TRIGGER audit_entry_no_change ON audit_entry",
            "DROP TRIGGER audit_entry_no_truncate ON audit_entry",
        )
    else:
        _sql(engine, "DROP TRIGGER audit_entry_no_update", "DROP TRIGGER audit_entry_no_delete")


def _rehash_from(engine, first_id: int) -> None:
    """What an attacker who can write the table does: recompute every hash after a change."""
    from sqlmodel import col, select

    from models.tables import AuditEntry

    with session_scope(engine) as session:
        previous = session.get(AuditEntry, first_id - 1)
        prev_hash = previous.hash if previous else "0" * 64
        rows = session.exec(select(AuditEntry).where(col(AuditEntry.id) >= first_id).order_by(AuditEntry.id)).all()
        for row in rows:  # a temporary value first: the hash column is unique
            row.hash = f"x{row.id}"
        session.flush()
        for row in rows:
            row.prev_hash = prev_hash
            row.hash = entry_hash(row, prev_hash)
            prev_hash = row.hash
        session.flush()


def modify_one(engine):
    _drop_triggers(engine)
    _sql(engine, "UPDATE audit_entry SET comment = 'ändrad i efterhand' WHERE id = 15")


def delete_one(engine):
    _drop_triggers(engine)
    _sql(engine, "DELETE FROM audit_entry WHERE id = 15")


def insert_one(engine):
    """A forged entry slipped in at 15, the later ones moved up, the chain recomputed."""
    _drop_triggers(engine)
    _sql(engine, "UPDATE audit_entry SET id = id + 1000 WHERE id >= 15")
    _sql(engine, "UPDATE audit_entry SET id = id - 999 WHERE id >= 1015")
    _sql(
        engine,
        "INSERT INTO audit_entry (id, at, actor, source, action, prev_hash, hash) "
        "VALUES (15, :at, 'förfalskare', 'cli', 'step.approved', '', 'tmp')",
        at=NOW,
    )
    _rehash_from(engine, 15)


def swap_two(engine):
    _drop_triggers(engine)
    _sql(
        engine,
        "UPDATE audit_entry SET id = -1 WHERE id = 15",
        "UPDATE audit_entry SET id = 15 WHERE id = 16",
        "UPDATE audit_entry SET id = 16 WHERE id = -1",
    )


def delete_last_five(engine):
    _drop_triggers(engine)
    _sql(engine, f"DELETE FROM audit_entry WHERE id > {ENTRIES - 5}")


def change_and_rehash(engine):
    _drop_triggers(engine)
    _sql(engine, "UPDATE audit_entry SET actor = 'någon annan' WHERE id = 15")
    _rehash_from(engine, 15)


TAMPERING = [
    pytest.param(modify_one, 15, id="modify-one"),
    pytest.param(delete_one, 15, id="delete-one"),
    pytest.param(insert_one, 15, id="insert-one"),
    pytest.param(swap_two, 15, id="swap-two"),
    pytest.param(delete_last_five, ENTRIES - 4, id="delete-last-5"),
    pytest.param(change_and_rehash, 15, id="change-and-rehash"),
]


def test_an_untouched_log_agrees_with_every_checkpoint(logged):
    engine, settings = logged
    result, triggers = _verify(engine, settings)
    assert result.intact and triggers == []
    assert result.checked == ENTRIES and result.checkpoints == 3 and result.vouched_until == ENTRIES


@pytest.mark.parametrize(("tamper", "first_bad"), TAMPERING)
def test_every_tampering_is_caught_and_the_first_bad_entry_named(logged, tamper, first_bad):
    engine, settings = logged
    tamper(engine)
    result, _triggers = _verify(engine, settings)
    assert not result.intact
    assert result.first_bad_entry == first_bad, result.problems


@pytest.mark.parametrize("tamper", [delete_last_five, change_and_rehash], ids=["delete-last-5", "change-and-rehash"])
def test_without_checkpoints_the_chain_alone_cannot_see_these(logged, tamper):
    engine, _settings = logged
    tamper(engine)
    with Session(engine) as session:
        assert verify_log(session=session).intact  # why checkpoints exist


def test_dropped_triggers_are_reported(logged):
    engine, settings = logged
    _drop_triggers(engine)
    result, triggers = _verify(engine, settings)
    assert result.intact  # nothing changed yet, but the door is open
    assert len(triggers) == 2 and all("saknas" in problem.message for problem in triggers)


def test_a_checkpoint_changed_or_removed_from_the_file_is_noticed(logged):
    engine, settings = logged
    path = checkpoint_path(settings)
    lines = path.read_text(encoding="utf-8").splitlines()
    forged = json.loads(lines[1])
    forged["count"] = 19
    path.write_text("\n".join([lines[0], json.dumps(forged), lines[2]]) + "\n", encoding="utf-8")
    _checkpoints, problems = read_checkpoints(path, verifying_key(settings))
    assert any("signatur" in problem for problem in problems)
    path.write_text("\n".join([lines[0], lines[2]]) + "\n", encoding="utf-8")
    _checkpoints, problems = read_checkpoints(path, verifying_key(settings))
    assert problems == ["rad 2: kontrollpunkten hänger inte ihop med den före (en kontrollpunkt har tagits bort)"]


def test_a_checkpoint_records_the_head_and_each_entry_since_the_last(logged):
    _engine, settings = logged
    records = [json.loads(line) for line in checkpoint_path(settings).read_text().splitlines()]
    assert [(r["version"], r["since"], r["last_id"], r["count"], r["ids"]) for r in records] == [
        (2, None, 10, 10, [[1, 10]]),
        (2, 10, 20, 20, [[11, 20]]),
        (2, 20, 30, 30, [[21, 30]]),
    ]
    assert all(len(r["hashes"]) == 10 * 16 for r in records)
    assert records[1]["previous"] and records[0]["previous"] is None


def _signed(settings, record: dict) -> str:
    from arshjul.core.checkpoints import _canonical, load_private_key

    record = {name: value for name, value in record.items() if name != "signature"}
    key = load_private_key(settings.resolved_checkpoint_key)
    record["signature"] = base64.b64encode(key.sign(_canonical(record))).decode("ascii")
    return json.dumps(record)


def test_a_version_1_checkpoint_file_is_read_as_it_was_written(logged):
    """Files written before version 2 (a pair per entry) still verify, and say the same."""
    engine, settings = logged
    path = checkpoint_path(settings)
    lines = path.read_text(encoding="utf-8").splitlines()
    current, _problems = read_checkpoints(path, verifying_key(settings))
    previous, old_lines = None, []
    for line in lines:
        record = json.loads(line)
        hashes, ranges = record.pop("hashes"), record.pop("ids")
        ids = [i for first, last in ranges for i in range(first, last + 1)]
        record |= {"version": 1, "entries": [[i, hashes[n * 16 : (n + 1) * 16]] for n, i in enumerate(ids)]}
        record["previous"] = hashlib.sha256(previous.encode("ascii")).hexdigest() if previous else None
        old_lines.append(_signed(settings, record))
        previous = json.loads(old_lines[-1])["signature"]
    path.write_text("\n".join(old_lines) + "\n", encoding="utf-8")
    old, problems = read_checkpoints(path, verifying_key(settings))
    assert problems == [] and [c.head for c in old] == [c.head for c in current]
    assert [(list(c.listed[0]), c.listed[1]) for c in old] == [(list(c.listed[0]), c.listed[1]) for c in current]
    with Session(engine) as session:
        assert verify_database(session=session, checkpoints=old).intact


@pytest.mark.parametrize(
    "change",
    [
        {"hashes": "ab"},  # fewer short hashes than ids
        {"ids": [[5, 1]]},  # a run that ends before it starts
        {"ids": [["1", 10]]},
        {"version": 3},
        {"ids": [[2**62, 2**63]], "hashes": "0" * 16},  # more ids than the hashes, and beyond 64 bits
    ],
    ids=["short-hashes", "backwards-run", "string-id", "unknown-version", "huge-id"],
)
def test_a_signed_checkpoint_of_the_wrong_form_is_a_problem_not_a_crash(logged, change):
    _engine, settings = logged
    path = checkpoint_path(settings)
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    path.write_text(_signed(settings, first | change) + "\n", encoding="utf-8")
    checkpoints, problems = read_checkpoints(path, verifying_key(settings))
    assert checkpoints == [] and problems and "kan inte läsas" in problems[0]


@pytest.fixture
def cli_on(logged, monkeypatch):
    engine, settings = logged
    monkeypatch.setenv("ARSHJUL_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("ARSHJUL_HOME", str(settings.home))
    monkeypatch.setenv("ARSHJUL_CHECKPOINT_DIR", str(settings.resolved_checkpoint_dir))
    get_settings.cache_clear()
    dispose_engines()
    yield engine, settings
    get_settings.cache_clear()
    dispose_engines()


def test_the_command_names_the_first_bad_entry(cli_on):
    from arshjul.cli import app

    engine, settings = cli_on
    runner = CliRunner()
    intact = runner.invoke(app, ["audit", "verify"])
    assert intact.exit_code == 0, intact.output
    assert "intakt: 30 poster" in intact.stdout and "Stämmer med 3 signerade kontrollpunkter" in intact.stdout
    change_and_rehash(engine)
    broken = runner.invoke(app, ["audit", "verify", "--checkpoints", str(checkpoint_path(settings))])
    assert broken.exit_code == 1
    assert "Första post som avviker: 15" in broken.stderr
    assert "spärren mot UPDATE" in broken.stderr


def test_without_checkpoints_the_command_says_what_it_cannot_prove(cli_on):
    from arshjul.cli import app

    _engine, settings = cli_on
    checkpoint_path(settings).unlink()
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "kan inte visa att inga poster har tagits bort i slutet" in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    "payload",
    [
        {"comment": 'åäö "citat" \\ \n\t\x01 \u2028 😀', "n": [1, None, True, {"b": 2, "a": 1}]},
        {"float": 1e16, "small": 0.1, "big": 12345678901234567890},  # where orjson's text may differ
    ],
    ids=["text", "numbers"],
)
def test_the_quick_hash_never_decides_alone_that_an_entry_changed(engine, payload):
    from models.audit import quick_entry_hash

    with session_scope(engine) as session:
        entry = append_audit(session=session, at=NOW, actor="a", action="x", source="cli", after=payload)
        stored = entry.hash
    with Session(engine) as session:
        result = verify_log(session=session)
    assert result.intact and result.checked == 1
    if payload.get("comment"):
        assert quick_entry_hash(entry, entry.prev_hash) == stored  # the fast path holds for the app's text
