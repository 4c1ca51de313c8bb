"""The personal calendar feed follows the rules of the mails' attachments: the same UID
per step and person, alarms only while the step waits for its owner, the decision in the
decider's calendar."""

from __future__ import annotations

import icalendar
import vobject


def feed(desk, message) -> icalendar.Calendar:
    [mine] = desk.links_in(message, "mina-steg")
    response = desk.client.get(desk.path(mine) + "/kalender.ics")
    assert response.status_code == 200
    vobject.readOne(response.text)  # an independent parser reads it too
    return icalendar.Calendar.from_ical(response.content)


def attachment_uid(message) -> str:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    content = part.get_content()
    [event] = icalendar.Calendar.from_ical(content if isinstance(content, bytes) else content.encode()).walk("VEVENT")
    return str(event["UID"])


def test_the_feed_holds_the_same_events_as_the_mails(desk):
    desk.open("regionplan:region")
    desk.deliver()
    [opened] = desk.new_mail()
    step = desk.step("regionplan:region")
    events = {str(e["UID"]): e for e in feed(desk, opened).walk("VEVENT")}
    uid = f"deadline.erik.ekonom.{step.uid}"
    assert attachment_uid(opened) == uid
    assert uid in events and events[uid].walk("VALARM")  # open: the reminders are alarms
    assert int(events[uid]["SEQUENCE"]) == step.state_version + step.sequence
