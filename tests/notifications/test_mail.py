"""Sending the outbox over real SMTP (aiosmtpd on 127.0.0.1, started by the tests): the
message as a chef receives it, timing, failures and retries, dead letters, two senders
at once, and a sender killed at random points."""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import functools
import random
import time
from pathlib import Path

import emails
import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from sqlmodel import Session, func, select

from arshjul.core.database import make_engine, session_scope
from models import notices as n
from models.cycles import store_cycle
from models.people import load_directory
from models.plan_changes import move_deadline
from models.steps import open_step
from models.tables import Mode, OutboxMessage, OutboxState, StepInstance
from models.validation import load_definition
from notifications.sender import SmtpConfig, deliver_due
from notifications.sink import MailSink
from tests.conftest import SMALL_ORG, free_port, run_concurrently, step_context, stored_step

UTC = dt.UTC

OPENING = dt.datetime(2026, 1, 12, 9, 0, tzinfo=UTC)  # Monday 10:00 in Stockholm
ROOT = Path(__file__).resolve().parents[2]


class Refusing:
    """An SMTP handler that refuses recipients with a given code, then (when told) accepts."""

    def __init__(self, folder: Path, code: str):
        from notifications.sink import MaildirHandler

        self.store = MaildirHandler(folder)
        self.code = code

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.code:
            return self.code
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        return await self.store.handle_DATA(server, session, envelope)


@pytest.fixture
def sink(tmp_path):
    server = MailSink(tmp_path / "mail", port=free_port()).start()
    yield server
    server.stop()


def open_regionplan(engine, definition) -> StepInstance:
    with session_scope(engine) as session:
        open_step(
            stored_step(engine, "regionplan:region").id,
            session=session,
            ctx=step_context(session, definition, mail_domain="arshjul.test"),
            now=OPENING,
        )
    return stored_step(engine, "regionplan:region")


def deliver(engine, definition, port, now, **kwargs):
    return deliver_due(
        engine,
        definition,
        smtp=SmtpConfig(host="127.0.0.1", port=port),
        now=now,
        ui_url="http://127.0.0.1:4200",
        **kwargs,
    )


def read(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def rows(engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_the_message_a_chef_receives(cycle, small_definition, sink):
    regionplan = open_regionplan(cycle, small_definition)
    report = deliver(cycle, small_definition, sink.port, OPENING)
    assert report.sent == 1 and not report.server_unreachable
    [path] = sink.messages()
    message = read(path)
    [row] = rows(cycle)
    assert message["Message-ID"] == row.message_id
    assert row.message_id.endswith("@arshjul.test>")
    assert message["To"] == "Erik Ekonom <erik.ekonom@example.se>"
    assert message["Subject"].startswith("Lämna in Regionplan – Lilla regionen senast ")
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Regionplan" in text and "Regionfullmäktige" in text and "tisdag 2 juni 2026" in text
    assert "http://127.0.0.1:4200/runs/flow-run/" not in text  # no run created in this test: no link
    assert "<html" in html.lower()
    [attachment] = [part for part in message.iter_attachments()]
    assert attachment.get_filename() == "deadline.ics" and attachment.get_content_type() == "text/calendar"
    calendar = icalendar.Calendar.from_ical(
        attachment.get_content() if isinstance(attachment.get_content(), bytes) else attachment.get_content().encode()
    )
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"deadline.{regionplan.owner}.{regionplan.uid}"
    assert int(event["SEQUENCE"]) == regionplan.state_version + regionplan.sequence
    assert event.decoded("DTSTART") == dt.date(2026, 6, 2)
    assert row.state == OutboxState.sent and row.sent_at == OPENING and row.attempts == 1


def test_the_mime_tree_is_lean_and_resends_are_byte_for_byte_the_same(cycle, small_definition, sink):
    open_regionplan(cycle, small_definition)
    deliver(cycle, small_definition, sink.port, OPENING)
    [path] = sink.messages()
    raw = path.read_bytes()
    message = read(path)
    assert [part.get_content_type() for part in message.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    assert raw.count(b"MIME-Version:") == 1  # once, at the top (RFC 2045)
    assert message.get_boundary().startswith("=_arshjul_")
    assert b'Content-Type: multipart/alternative; boundary="=_arshjul_' in raw  # short enough not to be folded
    assert b"BEGIN:VTIMEZONE" not in base64.b64decode(
        next(message.iter_attachments()).get_payload()
    )  # dates only: no zone needed
    [row] = rows(cycle)
    with session_scope(cycle) as session:  # as `arshjul mail resend` does
        session.exec(update(OutboxMessage).values(state=OutboxState.pending.value, attempts=0))
    deliver(cycle, small_definition, sink.port, OPENING)
    again = [p for p in sink.messages() if p != path]
    assert len(again) == 1 and again[0].read_bytes() == raw  # same Message-ID, same boundaries, same bytes


def test_headers_read_as_the_standard_library_writes_them():
    """Our short cuts (`_QuickHeaders`, `_utf8_base64_text`, `OutboxMail`'s addresses)
    against compat32 and `emails` themselves: ASCII headers byte for byte the same, Swedish ones the same text
    once decoded, lines no longer, bodies the same bytes."""
    from email.header import decode_header, make_header

    from notifications.mime import OutboxMail

    subject = (
        "Påminnelse: Detaljerade tidsplaner för planering och uppföljning – Region Jämtland Härjedalen "
        "(3 arbetsdagar kvar)"
    )

    def mail(to_name="Åsa Öberg", **headers):
        message = OutboxMail(
            key="7:reminder:d-5:eva",
            message_id="<abc@arshjul.test>",
            date=OPENING,
            mail_from=("Årshjulet", "arshjul@example.se"),
            mail_to=(to_name, "asa@example.se"),
            text="Hej Åsa!\n" * 30,
            html="<p>Hej Åsa!</p>\n" * 40,
            headers=headers,
            subject=subject,
        )
        message.attach(data=b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", filename="deadline.ics", mime_type="text/calendar")
        return message

    def decoded(value):
        return str(make_header(decode_header(value)))

    cases = [
        ({"X-Kort": "kort"}, "Åsa Öberg"),
        ({"X-Lang": "ord " * 40}, "Ek, Eva"),
        ({"X-Precis": "x" * 68}, ""),
        ({"X-Over": "x" * 71}, 'Bo "Chefen" Ek'),
    ]
    cases += [
        ({"X-Lang-Utan-Mellanslag": "y" * 120}, "Åsa-Kristina Östergren-Lindqvist Hällström af Ödmark"),
        ({"X-Svensk": "Överförd till ÅÄÖ"}, "Åsa Öberg"),
    ]
    for headers, to_name in cases:
        quick_bytes = mail(to_name, **headers).as_bytes()
        standard = mail(to_name, **headers)
        standard.policy = None  # the standard library's compat32 …
        for method in (
            "_build_text_part",
            "_build_html_part",
            "encode_address_header",
            "set_header",
        ):  # … and `emails`' own ways
            setattr(standard, method, functools.partial(getattr(emails.Message, method), standard))
        standard_bytes = standard.as_bytes()
        quick, plain = email.message_from_bytes(quick_bytes), email.message_from_bytes(standard_bytes)
        assert quick.keys() == plain.keys()
        for name in quick.keys():
            if quick[name].isascii() and not quick[name].startswith("=?"):
                assert quick[name] == plain[name], name
            else:
                assert decoded(quick[name]) == decoded(plain[name]), name
        assert decoded(quick["Subject"]) == subject and email.utils.parseaddr(decoded(quick["To"])) == (
            to_name,
            "asa@example.se",
        )
        assert decoded(quick["From"]) == "Årshjulet <arshjul@example.se>"
        too_long = lambda raw: [line for line in raw.splitlines() if len(line) > 78]  # noqa: E731
        assert too_long(quick_bytes) == too_long(standard_bytes)  # only what compat32 cannot fold either (no spaces)
        assert quick_bytes.split(b"\r\n\r\n", 1)[1] == standard_bytes.split(b"\r\n\r\n", 1)[1]  # bodies untouched


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 6, 30, 22, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 6, 30, 22, 30),
    ],
)
def test_the_date_header_is_the_moment_on_a_machine_in_stockholm(monkeypatch, moment):
    """`emails` formats a datetime through `time.mktime`, i.e. as the machine's local time:
    on a server in Stockholm every Date header came out one or two hours early."""
    from notifications.mime import OutboxMail

    monkeypatch.setenv("TZ", "Europe/Stockholm")
    time.tzset()
    try:
        mail = OutboxMail(
            key="k",
            message_id="<a@arshjul.test>",
            date=moment,
            mail_from=("Årshjulet", "arshjul@example.se"),
            mail_to=("Eva", "eva@example.se"),
            subject="Hej",
            text="Hej",
            html="<p>Hej</p>",
        )
        header = email.message_from_bytes(mail.as_bytes())["Date"]
    finally:
        monkeypatch.undo()
        time.tzset()
    assert email.utils.parsedate_to_datetime(header) == moment.replace(tzinfo=moment.tzinfo or dt.UTC)


def test_a_mail_names_the_steps_it_waits_for_and_the_unfinished_steps_waiting_for_it(cycle, small_definition):
    """The page's neighbour reads (`Neighbours`, a few columns of each step) against what
    the escalation says: what must be done first, and which steps wait, done ones left out."""
    from notifications.facts import MessageBuilder

    rs_plan, region_plan = stored_step(cycle, "rs_verksamhetsplan:rs"), stored_step(cycle, "regionplan:region")
    waiting, done = (
        stored_step(cycle, "omrade_verksamhetsplan:omr_a"),
        stored_step(cycle, "omrade_verksamhetsplan:omr_b"),
    )
    with session_scope(cycle) as session:
        session.exec(update(StepInstance).where(StepInstance.id == done.id).values(state="approved"))
        directory = load_directory(session=session, organisation="liten-region")
        notice = n.Notice(
            kind=n.ESCALATION,
            stage="e-1",
            recipient_key=rs_plan.owner,
            send_at=OPENING,
            instance_id=rs_plan.id,
            cycle_id=rs_plan.cycle_id,
            context={"working_days_late": 3, "owner": rs_plan.owner},
        )
        n.enqueue([notice], session=session, directory=directory, now=OPENING, mail_domain="arshjul.test")
    builder = MessageBuilder(
        small_definition, directory, ui_url="http://127.0.0.1:4200", sender="Årshjulet <arshjul@example.se>"
    )
    with Session(cycle) as session:
        [prepared] = builder.prepare([row.id for row in rows(cycle)], session, OPENING)
    text = base64.b64decode(prepared.message.as_message().get_payload()[0].get_payload()[0].get_payload()).decode()
    first, _, after = text.partition("Måste vara klart först:")[2].partition("Väntar på det här steget:")
    assert f"{region_plan.name} · {region_plan.unit_name}" in first
    assert f"{waiting.name} · {waiting.unit_name}" in after and done.unit_name not in after
    assert "1 annat steg väntar på det" in text


@given(
    value=st.text(alphabet="abcdefghijklmnopqrstuvwxyz ÅÄÖåäöé–·€😀()\t", max_size=250),
    name=st.sampled_from(["Subject", "To", "X-Ett-Mycket-Langt-Rubriknamn-For-Provning"]),
    width=st.sampled_from([78, 998, 40, 20, 0]),
)
@settings(max_examples=400, deadline=None)
def test_header_words_are_split_as_the_standard_library_splits_them(value, name, width):
    """`UTF8_BASE64` counts bytes instead of re-encoding the line per character; the
    words and lines must be exactly the standard library's."""
    from email.charset import BASE64, Charset
    from email.header import Header

    from notifications.mime import UTF8_BASE64

    standard = Charset("utf-8")
    standard.header_encoding = BASE64
    ours = Header(value, charset=UTF8_BASE64, header_name=name).encode(linesep="\r\n", maxlinelen=width)
    assert ours == Header(value, charset=standard, header_name=name).encode(linesep="\r\n", maxlinelen=width)


def test_a_moved_deadline_updates_the_calendar_entry(cycle, small_definition, sink):
    regionplan = open_regionplan(cycle, small_definition)
    with session_scope(cycle) as session:
        move_deadline(
            [regionplan.id],
            new_due=dt.date(2026, 6, 9),
            reason="Underlaget från SKR kommer sent",
            actor_email="rut.direktor@example.se",
            org=small_definition.organisation,
            session=session,
            ctx=step_context(session, small_definition, mail_domain="arshjul.test"),
            now=OPENING,
        )
    deliver(cycle, small_definition, sink.port, OPENING)
    moved = [read(p) for p in sink.messages() if "Ny deadline" in read(p)["Subject"]]
    assert len(moved) == 1
    [attachment] = list(moved[0].iter_attachments())
    [event] = icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    assert str(event["UID"]) == f"deadline.{regionplan.owner}.{regionplan.uid}"
    assert int(event["SEQUENCE"]) == regionplan.state_version + 1  # the opened mail's, raised
    assert event.decoded("DTSTART") == dt.date(2026, 6, 9)
    text = moved[0].get_body(preferencelist=("plain",)).get_content()
    assert "Underlaget från SKR kommer sent" in text and "Rut Direktör" in text


def test_nothing_goes_out_before_its_time(cycle, small_definition, sink):
    evening = dt.datetime(2026, 1, 16, 18, 0, tzinfo=UTC)  # Friday 19:00: delivered Monday 08:00
    with session_scope(cycle) as session:
        open_step(
            stored_step(cycle, "regionplan:region").id,
            session=session,
            ctx=step_context(session, small_definition, mail_domain="arshjul.test"),
            now=evening,
        )
    monday_eight = dt.datetime(2026, 1, 19, 7, 0, tzinfo=UTC)
    assert deliver(cycle, small_definition, sink.port, evening).sent == 0
    assert deliver(cycle, small_definition, sink.port, monday_eight - dt.timedelta(minutes=1)).sent == 0
    assert deliver(cycle, small_definition, sink.port, monday_eight).sent == 1


def test_smtp_down_then_back(cycle, small_definition, tmp_path):
    open_regionplan(cycle, small_definition)
    port = free_port()  # nothing listens here yet
    report = deliver(cycle, small_definition, port, OPENING)
    assert report.server_unreachable and report.sent == 0
    [row] = rows(cycle)
    assert row.state == OutboxState.pending and row.attempts == 0  # waiting, not held against it
    assert row.claimed_by is None and row.claimed_until is None  # given back, not left to lapse
    later = OPENING + dt.timedelta(hours=3)
    server = MailSink(tmp_path / "mail", port=port).start()
    try:
        assert deliver(cycle, small_definition, port, later).sent == 1
        assert len(server.messages()) == 1
    finally:
        server.stop()


def test_temporary_refusals_back_off_then_dead_letter_then_resend(cycle, small_definition, tmp_path):
    from aiosmtpd.controller import Controller

    open_regionplan(cycle, small_definition)
    handler = Refusing(tmp_path / "mail", "451 4.3.0 Försök igen senare")
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        now = OPENING
        for attempt in (1, 2):
            report = deliver(cycle, small_definition, port, now, max_attempts=3, retry_base_seconds=60)
            assert report.retried == 1
            [row] = rows(cycle)
            assert row.attempts == attempt and row.state == OutboxState.pending and "451" in row.last_error
            assert row.next_attempt_at == now + dt.timedelta(seconds=60 * 2 ** (attempt - 1))
            assert deliver(cycle, small_definition, port, now, max_attempts=3).sent == 0  # not before its backoff
            now = row.next_attempt_at
        report = deliver(cycle, small_definition, port, now, max_attempts=3)
        assert report.dead_lettered == 1
        [row] = rows(cycle)
        assert row.state == OutboxState.failed and row.attempts == 3

        # The regionstab sees it and sends it again once the relay accepts mail.
        from typer.testing import CliRunner

        from arshjul.cli import app
        from tests.prefect_support import app_environment

        with app_environment(
            tmp_path / "app", SMALL_ORG, database_url=str(cycle.url.render_as_string(hide_password=False))
        ):
            failed = CliRunner().invoke(app, ["mail", "failed"], env={"COLUMNS": "200"})
            assert failed.exit_code == 0 and "erik.ekonom@example.se" in failed.output and "451" in failed.output
            resent = CliRunner().invoke(app, ["mail", "resend", "--all"])
            assert resent.exit_code == 0 and "1 meddelanden" in resent.output
        handler.code = ""
        report = deliver(cycle, small_definition, port, dt.datetime.now(UTC))
        assert report.sent == 1
        [path] = sorted((tmp_path / "mail").glob("*.eml"))
        assert read(path)["Message-ID"] == rows(cycle)[0].message_id
    finally:
        controller.stop()


def test_a_permanent_refusal_dead_letters_at_once(cycle, small_definition, tmp_path):
    from aiosmtpd.controller import Controller

    open_regionplan(cycle, small_definition)
    port = free_port()
    controller = Controller(Refusing(tmp_path / "mail", "550 5.1.1 Okänd mottagare"), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        report = deliver(cycle, small_definition, port, OPENING)
    finally:
        controller.stop()
    assert report.dead_lettered == 1
    [row] = rows(cycle)
    assert row.state == OutboxState.failed and row.attempts == 1 and "550" in row.last_error


def test_a_claimed_message_waits_until_the_claim_lapses(cycle, small_definition, sink):
    """A sender that died holding a message: nobody else sends it until the claim
    lapses, then the next sender does, and the dead one can no longer mark it."""
    from notifications.outbox import claim_page

    open_regionplan(cycle, small_definition)
    with cycle.connect() as connection:
        claimed = claim_page(connection, now=OPENING, mode="live", sender="död-avsändare", size=10, claim_seconds=600)
    [row] = rows(cycle)
    assert claimed == [row.id] and row.claimed_by == "död-avsändare"
    assert deliver(cycle, small_definition, sink.port, OPENING).sent == 0
    assert sink.messages() == []
    with session_scope(cycle) as session:
        session.exec(update(OutboxMessage).values(claimed_until=dt.datetime.now(UTC) - dt.timedelta(seconds=1)))
    assert deliver(cycle, small_definition, sink.port, OPENING).sent == 1
    [row] = rows(cycle)
    assert row.state == OutboxState.sent and row.claimed_by is None and len(sink.messages()) == 1


def test_a_combined_mail_sent_again_after_a_crash_is_the_same_mail(cycle, small_definition, sink):
    """A sender dies after the relay took a person's combined reminders, before it marked
    them; meanwhile the person's next reminder arrives. The next sender sends the first
    mail again as it was (the same Message-ID: the mail client shows it once) and the new
    reminder in a mail of its own — never the first reminders again under a new Message-ID."""
    from notifications.outbox import claim_page

    many_reminders(cycle, small_definition, 2, batch="först", kinds=(n.REMINDER,))
    first = rows(cycle)
    assert len({row.recipient_key for row in first}) == 2  # two owners: one reminder each
    many_reminders(cycle, small_definition, 2, batch="också", kinds=(n.REMINDER,))
    with cycle.connect() as connection:
        claimed = claim_page(connection, now=OPENING, mode="live", sender="död-avsändare", size=10, claim_seconds=600)
    composed = {row.recipient_key: row.message_id for row in rows(cycle)}
    assert len(claimed) == 4 and len(set(composed.values())) == 2  # one mail per owner, fixed at the claim
    many_reminders(cycle, small_definition, 2, batch="sedan", kinds=(n.REMINDER,))  # the next ones arrive
    with session_scope(cycle) as session:  # the dead sender's claim lapses
        session.exec(update(OutboxMessage).values(claimed_until=dt.datetime.now(UTC) - dt.timedelta(seconds=1)))
    assert deliver(cycle, small_definition, sink.port, OPENING).sent == 4  # mails
    ids = delivered_ids(sink.folder)
    assert set(composed.values()) <= set(ids) and len(ids) == 4  # the composed two, and one new mail each
    by_id = {}
    for row in rows(cycle):
        by_id.setdefault(row.message_id, set()).add(row.stage.split("-")[0])
    assert sorted(map(sorted, by_id.values())) == [["först", "också"]] * 2 + [["sedan"]] * 2


def test_the_sole_sender_at_its_start_gives_back_a_killed_senders_claims(cycle, small_definition, sink):
    """A restarted simulation is its mode's only sender: the claims a killed one left are
    given back at once instead of holding their messages for the claim's real-time
    span (longer than the rest of a simulated year takes); another mode's stay."""
    from notifications.outbox import claim_page, release_all

    open_regionplan(cycle, small_definition)
    with cycle.connect() as connection:
        claim_page(connection, now=OPENING, mode="live", sender="död-avsändare", size=10, claim_seconds=600)
        assert release_all(connection, mode=Mode.simulation) == 0
        assert rows(cycle)[0].claimed_by == "död-avsändare"
        assert release_all(connection, mode=Mode.live) == 1
    [row] = rows(cycle)
    assert row.claimed_by is None and row.claimed_until is None
    assert deliver(cycle, small_definition, sink.port, OPENING).sent == 1
    assert len(sink.messages()) == 1


def test_a_message_that_cannot_be_built_is_dead_lettered_and_the_rest_go_out(cycle, small_definition, sink):
    regionplan = open_regionplan(cycle, small_definition)
    broken = n.Notice(
        kind=n.REMINDER,
        stage="trasig",
        recipient_key=regionplan.owner,
        send_at=OPENING,
        instance_id=regionplan.id,
        cycle_id=regionplan.cycle_id,
        context={},
    )
    with session_scope(cycle) as session:
        n.enqueue(
            [broken],
            session=session,
            directory=load_directory(session=session, organisation="liten-region"),
            now=OPENING,
            mail_domain="arshjul.test",
        )
    report = deliver(cycle, small_definition, sink.port, OPENING)
    assert (report.sent, report.dead_lettered) == (1, 1)
    failed = [row for row in rows(cycle) if row.state == OutboxState.failed]
    assert [row.stage for row in failed] == ["trasig"]
    assert "kunde inte skapas" in failed[0].last_error and "working_days_left" in failed[0].last_error
    assert failed[0].claimed_by is None


def test_claims_must_outlast_the_smtp_timeout(cycle, small_definition, sink, monkeypatch):
    from pydantic import ValidationError

    from arshjul.core.settings import Settings

    with pytest.raises(ValueError, match="four SMTP timeouts"):
        deliver(cycle, small_definition, sink.port, OPENING, claim_seconds=60)  # timeout 30 s
    monkeypatch.setenv("ARSHJUL_SMTP_TIMEOUT", "200")
    with pytest.raises(
        ValidationError, match="ARSHJUL_MAIL_CLAIM_SECONDS .* måste vara minst fyra gånger ARSHJUL_SMTP_TIMEOUT"
    ):
        Settings()
    monkeypatch.setenv("ARSHJUL_MAIL_CLAIM_SECONDS", "800")
    assert Settings().mail_claim_seconds == 800


def test_the_cli_names_a_bad_setting_in_swedish_without_a_traceback(tmp_path):
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "ARSHJUL_HOME": str(tmp_path / "var"),
        "ARSHJUL_SMTP_TIMEOUT": "200",
        "ARSHJUL_SINK_PORT": "abc",
        "ARSHJUL_MAIL_CONNECTIONS": "0",
    }
    result = subprocess.run(
        [sys.executable, "-c", "from arshjul.cli import app; app()", "mail", "failed"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 2
    assert (
        "felaktiga inställningar" in result.stderr
        and "ARSHJUL_SINK_PORT = 'abc': måste vara ett heltal" in result.stderr
    )
    assert "ARSHJUL_MAIL_CONNECTIONS = '0': måste vara minst 1" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "var").exists()  # nothing written


def many_reminders(engine, definition, count: int, batch: str = "last", kinds=(n.OPENED,)) -> None:
    """`count` due notices for the owners of the small cycle's steps, each a mail of its
    own by default (`kinds`: scheduled kinds are combined per owner)."""
    with Session(engine) as session:
        steps = list(session.exec(select(StepInstance)))
        directory = load_directory(session=session, organisation="liten-region")
    notices = [
        n.Notice(
            kind=kinds[i % len(kinds)],
            stage=f"{batch}-{i}",
            recipient_key=steps[i % len(steps)].owner,
            send_at=OPENING,
            instance_id=steps[i % len(steps)].id,
            cycle_id=steps[0].cycle_id,
            context={"working_days_left": 1 + i % 5},
        )
        for i in range(count)
    ]
    with session_scope(engine) as session:
        n.enqueue(notices, session=session, directory=directory, now=OPENING, mail_domain="arshjul.test")


def delivered_ids(folder: Path) -> list[str]:
    ids = []
    for path in sorted(folder.glob("*.eml")):
        with path.open("rb") as handle:
            headers = email.parser.BytesHeaderParser(policy=email.policy.default).parse(handle)
        ids.append(headers["Message-ID"])
    return ids


@pytest.mark.postgres
def test_two_senders_at_once_send_each_message_once(postgres_url, small_definition, sink):
    engine = make_engine(postgres_url)
    with session_scope(engine) as session:
        store_cycle(small_definition, 2027, session=session, now=OPENING)
    many_reminders(engine, small_definition, 300)
    reports = []

    def sender():
        own = make_engine(postgres_url)
        reports.append(deliver(own, small_definition, sink.port, OPENING, connections=2))  # two senders in threads each
        own.dispose()

    run_concurrently(sender, sender)
    ids = delivered_ids(sink.folder)
    assert len(ids) == 300 and len(set(ids)) == 300
    assert sorted(r.sent for r in reports)[0] > 0  # both senders took part
    assert sum(r.sent for r in reports) == 300
    with Session(engine) as session:
        assert (
            session.exec(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state == OutboxState.sent.value)
            ).one()
            == 300
        )
    engine.dispose()


def test_senders_in_threads_share_the_batch_and_keep_the_limit(cycle, small_definition, sink):
    many_reminders(cycle, small_definition, 120)
    first = deliver(cycle, small_definition, sink.port, OPENING, connections=3, limit=50, page_size=7)
    assert first.sent == 50
    rest = deliver(cycle, small_definition, sink.port, OPENING, connections=3, page_size=7)
    assert rest.sent == 70
    ids = delivered_ids(sink.folder)
    assert len(ids) == 120 and len(set(ids)) == 120
    assert all(row.state == OutboxState.sent and row.claimed_by is None for row in rows(cycle))


def test_mail_send_with_worker_processes_shares_the_batch(tmp_path, small_definition, sink, monkeypatch):
    """`arshjul mail send --workers 2`: two processes, each its own share, every message
    once; the batch is due at the parent's `now` (a child has only the real clock)."""
    from arshjul.core.settings import get_settings
    from tasks.mail import deliver as send_due

    url = f"sqlite:///{tmp_path / 'workers.db'}"
    engine = make_engine(url)
    from arshjul.core.database import migrate

    migrate(engine)
    with session_scope(engine) as session:
        store_cycle(small_definition, 2027, session=session, now=OPENING)
    many_reminders(engine, small_definition, 120)
    future = OPENING.replace(year=2040)  # not yet due for the real clock: only `now` makes it due
    with session_scope(engine) as session:
        for row in session.exec(select(OutboxMessage)):
            row.next_attempt_at = future
            session.add(row)
    for key, value in {
        "ARSHJUL_DATABASE_URL": url,
        "ARSHJUL_ORG": str(SMALL_ORG),
        "ARSHJUL_SMTP_HOST": "127.0.0.1",
        "ARSHJUL_SMTP_PORT": str(sink.port),
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    report = send_due("live", workers=2, now=future)
    get_settings.cache_clear()
    ids = delivered_ids(sink.folder)
    assert report.sent == 120 and len(ids) == 120 and len(set(ids)) == 120
    with Session(engine) as session:
        assert (
            session.exec(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state == OutboxState.sent.value)
            ).one()
            == 120
        )
    engine.dispose()


def send_until_killed(url: str, folder: str, port: int, claim_seconds: float, ready) -> None:
    """A sender process with a short claim and an SMTP timeout of a quarter of it; it
    says when it is about to start sending."""
    definition = load_definition(Path(folder), check_cycles=False)
    engine = make_engine(url)
    ready.set()
    deliver_due(
        engine,
        definition,
        smtp=SmtpConfig(host="127.0.0.1", port=port, timeout=claim_seconds / 4),
        now=OPENING,
        ui_url="http://127.0.0.1:4200",
        claim_seconds=claim_seconds,
    )


@pytest.mark.slow
def test_a_sender_killed_at_random_points_loses_nothing(tmp_path, small_definition, sink):
    import multiprocessing

    url = f"sqlite:///{tmp_path / 'crash.db'}"
    engine = make_engine(url)
    from arshjul.core.database import migrate

    migrate(engine)
    with session_scope(engine) as session:
        store_cycle(small_definition, 2027, session=session, now=OPENING)
    batches = 0

    def add_batch() -> None:
        nonlocal batches
        # One in four is a reminder: combined per owner, the rest single mails.
        many_reminders(
            engine, small_definition, 1000, batch=f"omgång-{batches}", kinds=(n.OPENED, n.OPENED, n.OPENED, n.REMINDER)
        )
        batches += 1

    add_batch()
    # A fork server that has imported the sender starts each sender in milliseconds,
    # from a clean process (no threads or connections of this one).
    senders = multiprocessing.get_context("forkserver")
    senders.set_forkserver_preload(["notifications.sender", "models.validation", "tests.notifications.test_mail"])
    claim_seconds = 4.0  # a killed sender's claim lapses this soon
    rng = random.Random(20261124)
    kills = sent_before_kill = 0
    while kills < 50:
        ready = senders.Event()
        child = senders.Process(target=send_until_killed, args=(url, str(SMALL_ORG), sink.port, claim_seconds, ready))
        delivered_before = len(sink.messages())
        child.start()
        assert ready.wait(60)
        if kills % 2 == 0:
            # Once it has delivered a few, whatever the machine's load: the kill lands
            # while it sends or marks the next one.
            wanted = delivered_before + rng.randint(1, 5)
            deadline = time.monotonic() + 60
            while len(sink.messages()) < wanted and child.is_alive() and time.monotonic() < deadline:
                time.sleep(0.005)
            child.join(rng.uniform(0.0, 0.01))
        else:
            child.join(rng.uniform(0.0, 0.6))  # claiming, reading, building, sending or marking
        if not child.is_alive():  # it finished the batch before we struck
            assert child.exitcode == 0
            add_batch()
            continue
        child.kill()  # SIGKILL
        child.join()
        kills += 1
        sent_before_kill += len(sink.messages()) > delivered_before
    assert sent_before_kill >= 25  # most died while sending; the rest while claiming or building
    with Session(engine) as session:
        still_claimed = session.exec(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.claimed_by.is_not(None))
        ).one()
    assert still_claimed > 0  # the killed senders left claims behind …
    time.sleep(claim_seconds + 0.5)  # … which lapse
    report = deliver(engine, small_definition, sink.port, OPENING)
    assert not report.server_unreachable and report.sent > 0  # the last one finishes
    time.sleep(0.5)  # the sink writes its last files
    ids = delivered_ids(sink.folder)
    with Session(engine) as session:
        # A combined mail's Message-ID is written on each of its rows when they are marked.
        expected = set(session.exec(select(OutboxMessage.message_id)))
        combined = session.exec(select(func.count(func.distinct(OutboxMessage.message_id)))).one()
    assert combined < len(rows(engine))  # some mails carried several rows
    assert set(ids) == expected  # every message delivered, none lost
    repeats = len(ids) - len(set(ids))
    assert repeats <= kills  # a repeat only after a kill, with the same Message-ID
    with Session(engine) as session:
        pending = session.exec(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state != OutboxState.sent.value)
        ).one()
    assert pending == 0
    engine.dispose()


def self_signed_context(tmp_path: Path):
    """A TLS context with a throw-away certificate for 127.0.0.1."""
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


def test_starttls_and_login(cycle, small_definition, tmp_path):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from notifications.sink import MaildirHandler

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"arshjul", b"hemligt")
        return AuthResult(success=ok, handled=False)  # a refusal replies 535, as a relay does

    port = free_port()
    controller = Controller(
        MaildirHandler(tmp_path / "mail"),
        hostname="127.0.0.1",
        port=port,
        tls_context=self_signed_context(tmp_path),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        open_regionplan(cycle, small_definition)
        wrong = deliver_due(
            cycle,
            small_definition,
            smtp=SmtpConfig(host="127.0.0.1", port=port, tls=True, user="arshjul", password="fel", timeout=5),
            now=OPENING,
            ui_url="http://127.0.0.1:4200",
        )
        assert wrong.sent == 0 and "nekar inloggningen" in wrong.configuration_error  # the messages wait
        assert [(row.state, row.attempts) for row in rows(cycle)] == [(OutboxState.pending, 0)]
        right = deliver_due(
            cycle,
            small_definition,
            smtp=SmtpConfig(host="127.0.0.1", port=port, tls=True, user="arshjul", password="hemligt"),
            now=OPENING,
            ui_url="http://127.0.0.1:4200",
        )
        assert right.sent == 1 and len(list((tmp_path / "mail").glob("*.eml"))) == 1
    finally:
        controller.stop()
