"""`audit verify` in parts (arshjul.core.audit_parallel): the log cut into three parts of
ten entries, two of them walked by worker processes. Every tampering of the checkpoint
tests is caught with exactly the problems one walk over the whole log finds, and the
first bad entry is named — also where the cut between two parts falls."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import Session

from arshjul.core.audit_parallel import verify_database
from arshjul.core.checkpoints import checkpoint_path, read_checkpoints, verifying_key
from models.audit_integrity import verify_log
from tests.core.test_audit_checkpoints import TAMPERING, _drop_triggers, _sql, logged  # noqa: F401


def _both(engine, settings):
    """(in three parts, in one walk) against the checkpoints."""
    checkpoints, problems = read_checkpoints(checkpoint_path(settings), verifying_key(settings))
    assert problems == []
    with Session(engine) as session:
        parts = verify_database(session=session, checkpoints=checkpoints, processes=3, part_min=1)
    with Session(engine) as session:
        whole = verify_log(session=session, checkpoints=checkpoints)
    return parts, whole


def test_an_untouched_log_walked_in_parts_is_intact(logged):  # noqa: F811
    engine, settings = logged
    parts, whole = _both(engine, settings)
    assert parts.intact and parts.checked == 30 and parts.head == whole.head and parts.vouched_until == 30


@pytest.mark.parametrize(("tamper", "first_bad"), TAMPERING)
def test_every_tampering_is_found_in_parts_as_in_one_walk(logged, tamper, first_bad):  # noqa: F811
    engine, settings = logged
    tamper(engine)
    parts, whole = _both(engine, settings)
    assert parts.first_bad_entry == first_bad
    assert parts.problems == whole.problems and parts.checked == whole.checked and parts.head == whole.head


def _delete_first_of_second_part(engine):
    _drop_triggers(engine)
    _sql(engine, "DELETE FROM audit_entry WHERE id = 11")


def _modify_first_of_third_part(engine):
    _drop_triggers(engine)
    _sql(engine, "UPDATE audit_entry SET comment = 'ändrad' WHERE id = 21")


def _modify_middle_of_second_part(engine):
    _drop_triggers(engine)
    _sql(engine, "UPDATE audit_entry SET actor = 'någon annan' WHERE id = 15")


@pytest.mark.parametrize(
    ("tamper", "first_bad", "messages"),
    [
        (_delete_first_of_second_part, 11, {11: ["posten saknas"], 12: ["länken till föregående post är bruten"],
                                            None: ["kontrollpunkt 2", "kontrollpunkt 3"]}),  # their counts
        (_modify_first_of_third_part, 21, {21: ["postens innehåll stämmer inte"]}),
        (_modify_middle_of_second_part, 15, {15: ["postens innehåll stämmer inte"]}),
    ],
    ids=["delete-at-a-cut", "modify-at-a-cut", "modify-in-the-second-part"],
)  # fmt: skip
def test_a_tampering_where_the_parts_meet_is_named_exactly(logged, tamper, first_bad, messages):  # noqa: F811
    engine, settings = logged
    tamper(engine)
    parts, whole = _both(engine, settings)
    assert parts.first_bad_entry == first_bad and parts.problems == whole.problems
    found: dict[int | None, list[str]] = {}
    for problem in parts.problems:
        found.setdefault(problem.entry_id, []).append(problem.message)
    assert set(found) == set(messages), parts.problems
    for entry_id, expected in messages.items():
        assert len(found[entry_id]) == len(expected)
        for message, start in zip(found[entry_id], expected, strict=True):
            assert start in message, (entry_id, found[entry_id])


def _payloads_as_stored_before_canonical_form(engine):
    """The JSON columns in the form the app stored them before it stored canonical JSON:
    the standard library's default (spaces, ASCII escapes), keys in another order."""
    _drop_triggers(engine)
    _sql(engine, f"UPDATE audit_entry SET origin = {_json(engine)}", v='{"via": "cli", "os_user": "tester"}')
    with engine.begin() as connection:
        for entry_id in range(1, 31):
            connection.execute(
                text(f"UPDATE audit_entry SET after = {_json(engine)} WHERE id = :id"),
                {"v": f'{{"state": "submitted", "n": {entry_id}}}', "id": entry_id},
            )


def _json(engine) -> str:
    """The parameter :v as a JSON value (SQLite stores JSON as text; a CAST would make it a number)."""
    return "CAST(:v AS JSON)" if engine.dialect.name == "postgresql" else ":v"


def test_payloads_stored_in_another_form_are_intact_and_a_changed_value_is_not(logged):  # noqa: F811
    """The walk hashes a payload as stored (canonical) and parses it only when that does
    not match: the older form verifies as intact, a changed value anywhere is caught."""
    engine, settings = logged
    _payloads_as_stored_before_canonical_form(engine)
    parts, whole = _both(engine, settings)
    assert parts.intact and whole.intact and parts.checked == 30
    _sql(engine, f"UPDATE audit_entry SET after = {_json(engine)} WHERE id = 17", v='{"n":99,"state":"submitted"}')
    _sql(
        engine, f"UPDATE audit_entry SET origin = {_json(engine)} WHERE id = 23", v='{"os_user":"mallory","via":"cli"}'
    )
    parts, whole = _both(engine, settings)
    assert parts.first_bad_entry == 17 and [p.entry_id for p in parts.problems] == [17, 23]
    assert parts.problems == whole.problems


HOSTILE_TEXTS = [
    'citat " och \\ omvänt snedstreck',
    "rad\nbrytning\tflik\r\x08\x0c",
    "styrtecken \x01\x1f\x7f",
    "åäö ÅÄÖ é ü – “typografiska” € 😀 \u2028\u2029",
    "/snedstreck/ <b>&amp;</b>",
    "",
]


def test_payloads_are_stored_as_the_text_their_hash_covers_for_any_text(engine):
    """On PostgreSQL the walk hashes the stored payloads as they are (JSON fragments):
    for every kind of text people type they must be the very text the app hashed, or
    every entry would take the slow way (a mismatch is only slower, never wrong)."""
    import datetime as dt

    import psycopg

    from arshjul.core.database import session_scope
    from models.audit import append_audit
    from models.audit_hash import quick_fields_hash
    from models.audit_walk import postgres_part

    if engine.dialect.name != "postgresql":
        pytest.skip("the walk reads payloads as fragments on PostgreSQL")
    at = dt.datetime(2027, 3, 1, 7, 0, 0, 123456, tzinfo=dt.UTC)
    for number, typed in enumerate(HOSTILE_TEXTS):
        with session_scope(engine) as session:
            append_audit(
                session=session, at=at, actor=typed or "tom", action="step.submitted", source="länk",
                actor_role=None if number % 2 else typed, cycle_id=None if number % 3 else -number,
                instance_id=number, comment=None if number == 5 else typed, flow_run_id=typed or None,
                before={"text": typed, "list": [1, None, True, {"ö": typed}], "n": -(2**40)},
                after=None if number == 1 else {"state": "submitted", "submitted_by": typed},
                origin=None if number == 2 else {"via": "länk", "client": typed},
            )  # fmt: skip
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as connection:
        rows = list(postgres_part(connection, None, None, batch=4))
    assert len(rows) == len(HOSTILE_TEXTS)
    assert all(quick_fields_hash(fields, prev) == stored for _id, prev, stored, fields, _texts in rows)
