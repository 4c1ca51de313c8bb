"""A chef's inbox that respects their time, against the real SMTP sink: digests only with
news, one combined scheduled mail per person and day, and a calendar that stays true
(each step one event per person, updated with the same UID and a higher SEQUENCE),
checked with `icalendar` and with `vobject`, an independent parser."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
import vobject
from sqlmodel import Session, select

from arshjul.core.database import session_scope
from models import notices as n
from models.people import load_directory
from models.plan_changes import move_deadline
from models.states import Action
from models.steps import open_step, perform
from models.sweep import digest_notices, select_due_work
from models.tables import OutboxMessage, OutboxState, StepInstance
from notifications.sink import MailSink
from tests.conftest import free_port, step_context, stored_step
from tests.notifications.test_mail import deliver, read, rows

UTC = dt.UTC
D = dt.date


@pytest.fixture
def sink(tmp_path):
    server = MailSink(tmp_path / "mail", port=free_port()).start()
    yield server
    server.stop()


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def open_(engine, definition, key: str, now: dt.datetime) -> StepInstance:
    with session_scope(engine) as session:
        open_step(stored_step(engine, key).id, session=session, ctx=step_context(session, definition), now=now)
    return stored_step(engine, key)


def act(engine, definition, key: str, action: Action, email: str, now: dt.datetime, **kwargs) -> StepInstance:
    with session_scope(engine) as session:
        perform(
            stored_step(engine, key).id,
            action,
            actor_email=email,
            session=session,
            ctx=step_context(session, definition),
            now=now,
            source="cli",
            **kwargs,
        )
    return stored_step(engine, key)


def sweep(engine, definition, day: dt.date) -> set[str]:
    """The daily sweep's notices and digests of `day`, written as the flow writes them."""
    with session_scope(engine) as session:
        ctx = step_context(session, definition)
        steps = list(session.exec(select(StepInstance)))
        selection = select_due_work(steps, day, ctx)
        digests = digest_notices(session=session, today=day, ctx=ctx, today_notices=selection.notices)
        return n.enqueue(
            selection.notices + digests, session=session, directory=ctx.directory, now=at(day, 6), mail_domain="test"
        )


def mails_to(server: MailSink, address: str):
    return [read(path) for path in server.messages() if address in read(path)["To"]]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def calendars_of(message) -> list[bytes]:
    found = []
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            content = part.get_content()
            found.append(content if isinstance(content, bytes) else content.encode())
    return found


# -- 1. nothing without news ------------------------------------------------------------------


def test_a_daily_digest_goes_out_only_with_news_and_carries_what_happened(cycle, small_definition, sink):
    key = "enhet_verksamhetsplan:enh_b1"  # Emil Björk's, who reads a daily digest
    # Opened on Friday afternoon: folded for the digest, not a mail of its own.
    open_(cycle, small_definition, key, at(D(2026, 10, 2), 13))
    assert [row.state for row in rows(cycle) if row.kind == n.OPENED] == [OutboxState.folded]
    monday, tuesday, wednesday = D(2026, 10, 5), D(2026, 10, 6), D(2026, 10, 7)
    assert any(":digest:daily-2026-10-05:emil.b1" in k for k in sweep(cycle, small_definition, monday))
    deliver(cycle, small_definition, sink.port, at(monday, 7))
    [digest] = mails_to(sink, "emil.b1@")
    assert "Nytt sedan förra sammanfattningen" in text_of(digest)
    assert "Har öppnat: Enhetens verksamhetsplan – Enhet B1" in text_of(digest)
    # Tuesday: nothing new, so no digest (he still has the step open).
    assert not any(":digest:" in k for k in sweep(cycle, small_definition, tuesday))
    # During Tuesday the regionstab moves its deadline; Wednesday's digest says so.
    with session_scope(cycle) as session:
        move_deadline(
            [stored_step(cycle, key).id],
            new_due=D(2026, 12, 30),
            reason="Nya direktiv",
            actor_email="rut.direktor@example.se",
            org=small_definition.organisation,
            session=session,
            ctx=step_context(session, small_definition),
            now=at(tuesday, 10),
        )
    assert any(":digest:daily-2026-10-07:emil.b1" in k for k in sweep(cycle, small_definition, wednesday))
    deliver(cycle, small_definition, sink.port, at(wednesday, 7))
    digests = [m for m in mails_to(sink, "emil.b1@") if "Dagens sammanfattning" in m["Subject"]]
    assert len(digests) == 2
    latest = text_of(digests[-1])
    assert "Ny deadline: Enhetens verksamhetsplan – Enhet B1" in latest and "Har öppnat" not in latest


def test_a_weekly_digest_with_nothing_to_act_on_and_nothing_new_is_skipped(cycle, small_definition):
    monday = D(2026, 12, 14)
    assert not any(":digest:" in k for k in sweep(cycle, small_definition, monday))  # only coming steps
    open_(cycle, small_definition, "enhet_verksamhetsplan:enh_a1", at(D(2026, 10, 1)))
    following = D(2026, 12, 21)
    assert any(":digest:weekly-2026-W52:eva.a1" in k for k in sweep(cycle, small_definition, following))


# -- 2. one scheduled mail per person and working day ---------------------------------------


def test_a_persons_scheduled_notices_go_out_as_one_mail_most_urgent_first(cycle, small_definition, sink):
    with Session(cycle) as session:
        steps = {s.key: s for s in session.exec(select(StepInstance).where(StepInstance.owner == "erik.ekonom"))}
        directory = load_directory(session=session, organisation="liten-region")
    regionplan, arsredovisning = steps["regionplan:region"], steps["arsredovisning:region"]
    monthly = sorted((s for s in steps.values() if s.step == "manadsrapport"), key=lambda s: s.due)[0]
    morning = at(D(2026, 11, 2), 7)

    def notice(kind, step, context=None, recipient="erik.ekonom"):
        return n.Notice(kind, "x", recipient, morning, step.id, step.cycle_id, context=context or {})

    notices = [
        notice(n.REMINDER, arsredovisning, {"working_days_left": 5}),
        notice(n.OVERDUE, monthly, {"working_days_late": 2}),
        notice(n.DUE_TODAY, regionplan),
        n.Notice(n.DIGEST, "weekly-2026-W45", "erik.ekonom", morning, context={"daily": False}),
        notice(n.ESCALATION, monthly, {"working_days_late": 2, "after": 2, "owner": "erik.ekonom"}, "rut.direktor"),
        notice(n.OPENED, arsredovisning),
    ]
    with session_scope(cycle) as session:
        n.enqueue(notices, session=session, directory=directory, now=morning, mail_domain="test")
    report = deliver(cycle, small_definition, sink.port, morning)
    assert report.sent == 3  # Erik's combined mail, his opened notice, Rut's escalation
    erik = mails_to(sink, "erik.ekonom@")
    [combined] = [m for m in erik if m["Subject"].startswith("Lämna in: ")]
    assert len(combined["Subject"]) <= 70 and "+ 2 steg till" in combined["Subject"]
    text = text_of(combined)
    assert text.startswith("Hej Erik!")
    order = [text.index(s.name + " – ") for s in (monthly, regionplan, arsredovisning)]
    assert order == sorted(order)  # overdue, due today, reminder
    assert "Kommande steg" in text  # the week's digest rides along
    scheduled = [r for r in rows(cycle) if r.kind in n.COMBINED_KINDS]
    assert {r.state for r in scheduled} == {OutboxState.sent}
    assert {r.message_id for r in scheduled} == {combined["Message-ID"]}
    assert combined["Message-ID"] == n.combined_message_id([r.key for r in scheduled], "test")
    assert set(combined["X-Arshjul-Key"].split()) == {r.key for r in scheduled}
    [attachment] = calendars_of(combined)
    uids = {str(e["UID"]) for e in icalendar.Calendar.from_ical(attachment).walk("VEVENT")}
    assert uids == {f"deadline.erik.ekonom.{s.uid}" for s in (monthly, regionplan, arsredovisning)}
    # Escalations and action notices stay single.
    assert len(erik) == 2 and len(mails_to(sink, "rut.direktor@")) == 1
    # A second run sends nothing again.
    assert deliver(cycle, small_definition, sink.port, morning).sent == 0


def test_every_due_reminder_is_in_a_mail_on_its_day(cycle, small_definition, sink):
    """Against the outbox: every reminder, deadline-today and overdue row is sent on the
    day it was due, in a mail that names its step."""
    open_(cycle, small_definition, "enhet_verksamhetsplan:enh_a1", at(D(2026, 10, 1)))
    open_(cycle, small_definition, "regionplan:region", at(D(2026, 1, 12)))
    calendar = small_definition.organisation.calendar
    day = D(2026, 5, 18)
    while day <= D(2026, 12, 31):
        if calendar.is_working_day(day):
            sweep(cycle, small_definition, day)
            deliver(cycle, small_definition, sink.port, calendar.at_start_of_day(day).in_timezone("UTC"))
        day += dt.timedelta(days=1)
    delivered = {m["Message-ID"]: m for m in (read(path) for path in sink.messages())}
    with Session(cycle) as session:
        due = session.exec(
            select(OutboxMessage, StepInstance)
            .join(StepInstance, StepInstance.id == OutboxMessage.instance_id)
            .where(OutboxMessage.kind.in_([n.REMINDER, n.DUE_TODAY, n.OVERDUE]))
        ).all()
    assert len(due) >= 5
    per_day: dict = {}
    for row, step in due:
        assert row.state == OutboxState.sent
        assert calendar.local_date(row.sent_at) == calendar.local_date(row.next_attempt_at)
        assert step.name in text_of(delivered[row.message_id])
    for message in delivered.values():
        if any(k.split(":")[1] in n.COMBINED_KINDS for k in message["X-Arshjul-Key"].split()):
            person_day = (message["To"], message["Date"][:16])
            per_day[person_day] = per_day.get(person_day, 0) + 1
    assert max(per_day.values()) == 1  # no one got two scheduled mails on one day


# -- 3. a calendar that stays true ----------------------------------------------------------


def replay(attachments: list[bytes]) -> dict[str, icalendar.Event]:
    """What a calendar program ends up holding after importing the files in order: the
    newest SEQUENCE per UID wins, a CANCEL removes the event."""
    held: dict[str, icalendar.Event] = {}
    for data in attachments:
        calendar = icalendar.Calendar.from_ical(data)
        parsed = vobject.readOne(data.decode())  # the second, independent parser reads it alike
        assert [str(e.uid.value) for e in parsed.vevent_list] == [str(e["UID"]) for e in calendar.walk("VEVENT")]
        for event in calendar.walk("VEVENT"):
            uid = str(event["UID"])
            if uid in held and int(held[uid]["SEQUENCE"]) >= int(event["SEQUENCE"]):
                continue
            if str(calendar["METHOD"]) == "CANCEL":
                held.pop(uid, None)
            else:
                held[uid] = event
    return held


def test_each_step_keeps_one_event_per_person_updated_as_it_moves(cycle, small_definition, sink):
    key = "regionplan:region"  # Erik Ekonom's, due Tue 2 June; Sigrid records RF's decision; Rut is his manager
    calendar = small_definition.organisation.calendar
    step = open_(cycle, small_definition, key, at(D(2026, 1, 12)))
    deliver(cycle, small_definition, sink.port, at(D(2026, 1, 12)))
    # Overdue on 3 June; the escalation to Rut after 2 working days.
    escalated_on = calendar.add_working_days(step.due, 2)
    day = step.due + dt.timedelta(days=1)
    while day <= escalated_on:
        if calendar.is_working_day(day):
            sweep(cycle, small_definition, day)
            deliver(cycle, small_definition, sink.port, at(day, 7))
        day += dt.timedelta(days=1)
    act(cycle, small_definition, key, Action.submit, "erik.ekonom@example.se", at(D(2026, 6, 8)))
    deliver(cycle, small_definition, sink.port, at(D(2026, 6, 8)))
    act(
        cycle,
        small_definition,
        key,
        Action.approve,
        "sigrid.sekreterare@example.se",
        at(D(2026, 6, 9)),
        diarienummer="RF/12/2026",
    )
    deliver(cycle, small_definition, sink.port, at(D(2026, 6, 9)))

    erik_files = [c for m in mails_to(sink, "erik.ekonom@") for c in calendars_of(m)]
    assert len(erik_files) >= 3  # opened, overdue, approved
    sequences = [int(icalendar.Calendar.from_ical(c).walk("VEVENT")[0]["SEQUENCE"]) for c in erik_files]
    assert sequences == sorted(sequences) and sequences[0] < sequences[-1]
    held = replay(erik_files)
    [event] = held.values()  # one event for the step in his calendar, however many mails
    assert str(event["UID"]) == f"deadline.erik.ekonom.{step.uid}"
    assert str(event["SUMMARY"]).startswith("Klart: ") and not event.walk("VALARM")  # finished: no alarms
    opened = icalendar.Calendar.from_ical(erik_files[0]).walk("VEVENT")[0]
    assert opened.walk("VALARM")  # while open, the reminders are alarms

    rut = replay([c for m in mails_to(sink, "rut.direktor@") for c in calendars_of(m)])
    follow_up = rut[f"uppfoljning.rut.direktor.{step.uid}"]
    assert str(follow_up["SUMMARY"]).startswith("Följ upp: ") and "Erik Ekonom" in str(follow_up["SUMMARY"])
    assert follow_up.decoded("DTSTART") == escalated_on  # her own follow-up, not his deadline
    assert not follow_up.walk("VALARM") and len(rut) == 1

    sigrid = replay([c for m in mails_to(sink, "sigrid.sekreterare@") for c in calendars_of(m)])
    [decision] = sigrid.values()
    assert str(decision["UID"]) == f"beslut.sigrid.sekreterare.{step.uid}"
    assert str(decision["SUMMARY"]).startswith("Beslut: ") and decision.decoded("DTSTART") == step.meeting


def test_a_cancelled_step_sends_a_cancel_for_the_same_event(cycle, small_definition, sink):
    from sqlalchemy import update

    step = open_(cycle, small_definition, "regionplan:region", at(D(2026, 1, 12)))
    deliver(cycle, small_definition, sink.port, at(D(2026, 1, 12)))
    with session_scope(cycle) as session:
        # What `arshjul steps cancel` records: the state and a notice to the owner.
        session.exec(
            update(StepInstance)
            .where(StepInstance.id == step.id)
            .values(state="cancelled", state_version=step.state_version + 1)
        )
        directory = load_directory(session=session, organisation="liten-region")
        notice = n.Notice(n.CANCELLED, "0", "erik.ekonom", at(D(2026, 1, 13)), step.id, step.cycle_id)
        n.enqueue([notice], session=session, directory=directory, now=at(D(2026, 1, 13)), mail_domain="test")
    deliver(cycle, small_definition, sink.port, at(D(2026, 1, 13)))
    files = [c for m in mails_to(sink, "erik.ekonom@") for c in calendars_of(m)]
    assert len(files) == 2
    cancel = icalendar.Calendar.from_ical(files[-1])
    assert str(cancel["METHOD"]) == "CANCEL"
    [event] = cancel.walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED" and not event.walk("VALARM")
    assert replay(files) == {}


def test_a_returned_step_updates_the_owners_event_with_its_alarms_back(cycle, small_definition, sink):
    key = "regionplan:region"
    open_(cycle, small_definition, key, at(D(2026, 1, 12)))
    deliver(cycle, small_definition, sink.port, at(D(2026, 1, 12)))
    act(cycle, small_definition, key, Action.submit, "erik.ekonom@example.se", at(D(2026, 1, 13)))
    act(
        cycle,
        small_definition,
        key,
        Action.send_back,
        "sigrid.sekreterare@example.se",
        at(D(2026, 1, 14)),
        comment="Komplettera målen",
    )
    deliver(cycle, small_definition, sink.port, at(D(2026, 1, 14)))
    erik = mails_to(sink, "erik.ekonom@")
    [returned] = [m for m in erik if m["Subject"].startswith("Komplettera ")]
    [opened] = [m for m in erik if m is not returned]
    [first] = icalendar.Calendar.from_ical(calendars_of(opened)[0]).walk("VEVENT")
    [update] = icalendar.Calendar.from_ical(calendars_of(returned)[0]).walk("VEVENT")
    assert str(update["UID"]) == str(first["UID"]) and int(update["SEQUENCE"]) > int(first["SEQUENCE"])
    assert str(update["SUMMARY"]).startswith("Återremitterat: ") and update.walk("VALARM")
