"""Rendering of the Swedish e-mails: exact subjects, the facts each kind must carry in both
the plain text and the HTML, Swedish dates and plurals, stand-ins, escaping and links."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from html.parser import HTMLParser
from types import SimpleNamespace

import jinja2
import pytest

from notifications.rendering import (
    ENVIRONMENT,
    KINDS,
    MessageFacts,
    StepFacts,
    render,
)

D = dt.date
URL = "https://prefect.example/runs/flow-run/3f2a?tab=input&x=1"
ORGANISATION = "Region Jämtland Härjedalen"
ICS_NOTE = "Deadline finns som kalenderfil i bilagan"
LINK_TEXT = "Öppna steget i årshjulet"

PLAN = StepFacts(
    name="Enhetens verksamhetsplan",
    unit_name="Akutmottagningen Östersund",
    owner_name="Eva Ek",
    owner_title="enhetschef",
    due=D(2026, 12, 23),
    opens=D(2026, 11, 2),
    decided_by_name="Regionstyrelsen",
    decider_name="Emma Sjöberg",
    meeting=D(2026, 11, 17),
    state_label="öppet",
    url=URL,
    description="Mål, aktiviteter och uppföljningsplan för 2027.",
    last_comment=None,
    diarienummer=None,
    waiting_for=(),
    waiting_downstream=("Områdets verksamhetsplan · Område akut", "Uppföljningsplan · Akutmottagningen Östersund"),
)

# The date each kind is typically sent on, relative to PLAN's deadline.
SENT_ON = {
    "opened": D(2026, 11, 2),
    "awaiting_decision": D(2026, 12, 21),
    "reminder": D(2026, 12, 18),
    "due_today": D(2026, 12, 23),
    "overdue": D(2026, 12, 28),
    "escalation": D(2027, 1, 4),
    "returned": D(2026, 12, 16),
    "decided": D(2026, 12, 22),
    "deadline_moved": D(2026, 12, 1),
    "digest": D(2026, 11, 23),
    "new_link": D(2026, 12, 2),
    "checkpoint": D(2027, 3, 9),
}

# A checkpoint of the audit log, as the auditors' mail shows it.
CHECKPOINT = {
    "at": "2027-03-09T06:00:00+00:00",
    "reason": "daglig kontroll 2027-03-09",
    "last_id": 812,
    "last_hash": "ab" * 32,
    "count": 812,
    "key_id": "daec8a0b489cbdac",
    "signature": "c2lnbmF0dXI=",
}

# Kind-specific facts for a complete, typical message of each kind.
EXTRA = {
    "awaiting_decision": dict(recipient_name="Emma Sjöberg", acted_by_name="Eva Ek", comment="Planen bifogas."),
    "reminder": dict(working_days_left=3),
    "overdue": dict(working_days_late=1),
    "escalation": dict(recipient_name="Karin Lund", working_days_late=4, escalation_owner_name="Eva Ek"),
    "returned": dict(acted_by_name="Karin Lund", comment="Målen saknar mätetal.\nKomplettera uppföljningsplanen."),
    "decided": dict(acted_by_name="Emma Sjöberg", comment="Beslut enligt förslag."),
    "deadline_moved": dict(old_due=D(2026, 12, 14), reason="Områdets plan är försenad.", acted_by_name="Malin Holm"),
    "new_link": dict(reason="requested", mine_url="https://arshjul.example.se/mina-steg/abc.def"),
    "checkpoint": dict(recipient_name="Revisorerna", step=None, checkpoint=CHECKPOINT),
}


def step(**changes) -> StepFacts:
    return replace(PLAN, **changes)


def digest(**changes) -> MessageFacts:
    facts = dict(
        kind="digest",
        recipient_name="Eva Ek",
        organisation_name=ORGANISATION,
        step=None,
        today=SENT_ON["digest"],
        ui_url="https://prefect.example/runs",
        digest_open=(
            step(name="Enhetens verksamhetsplan", due=D(2026, 12, 23), url=URL + "1"),
            step(name="Månadsrapport oktober", due=D(2026, 11, 18), state_label="öppet, försenat", url=URL + "2"),
            step(name="Internkontrollplan", due=D(2026, 11, 24), state_label="återremitterat", url=URL + "3"),
        ),
        digest_to_decide=(
            step(
                name="Handlingsplan ambulans",
                unit_name="Ambulansen Sveg",
                owner_name="Per Persson",
                due=D(2026, 11, 30),
                state_label="inlämnat",
            ),
        ),
        digest_coming=(
            step(name="Tertialrapport per april", due=D(2027, 5, 12), opens=D(2027, 4, 1), state_label="planerat"),
            step(name="Månadsrapport november", due=D(2026, 12, 14), opens=D(2026, 12, 1), state_label="planerat"),
        ),
    )
    facts.update(changes)
    return MessageFacts(**facts)


def message(kind: str, **changes) -> MessageFacts:
    if kind == "digest":
        return digest(**changes)
    facts = dict(kind=kind, recipient_name="Eva Ek", organisation_name=ORGANISATION, step=PLAN, today=SENT_ON[kind])
    facts.update(EXTRA.get(kind, {}))
    if kind in ("overdue", "escalation"):
        facts["step"] = step(state_label="öppet, försenat")
    if kind == "decided":
        facts["step"] = step(state_label="godkänt", diarienummer="RS/412/2026")
    if kind == "deadline_moved":
        facts["step"] = step(due=D(2026, 12, 23))
    facts.update(changes)
    return MessageFacts(**facts)


def html_text(html: str) -> str:
    """The visible text of an HTML mail, with whitespace collapsed, to assert on wording."""

    class Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag not in INLINE:
                self.parts.append(" ")

        def handle_endtag(self, tag):
            self.handle_starttag(tag, [])

        def handle_data(self, data):
            self.parts.append(data)

    parser = Text()
    parser.feed(html)
    return " ".join("".join(parser.parts).split())


INLINE = {"a", "strong", "span", "s", "em", "b"}


def plain(text: str) -> str:
    return " ".join(text.split())


VOID = {"meta", "br", "img", "hr", "input", "link"}


def assert_balanced(html: str) -> None:
    """Every opened element is closed in order: a broken template shows up here, not in Outlook."""

    class Balance(HTMLParser):
        def __init__(self):
            super().__init__()
            self.stack: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag not in VOID:
                self.stack.append(tag)

        def handle_endtag(self, tag):
            assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
            self.stack.pop()

    parser = Balance()
    parser.feed(html)
    assert parser.stack == [], f"unclosed: {parser.stack}"


# -- every kind ---------------------------------------------------------------------------

SUBJECTS = {
    "opened": "Att göra: Enhetens verksamhetsplan – Akutmottagningen Östersund (deadline 23 december)",
    "awaiting_decision": "Att besluta: Enhetens verksamhetsplan – Akutmottagningen Östersund",
    "reminder": "Påminnelse: Enhetens verksamhetsplan – Akutmottagningen Östersund (3 arbetsdagar kvar)",
    "due_today": "Deadline i dag: Enhetens verksamhetsplan – Akutmottagningen Östersund",
    "overdue": "Försenat: Enhetens verksamhetsplan – Akutmottagningen Östersund (1 arbetsdag sent)",
    "escalation": "Eskalering: Enhetens verksamhetsplan – Akutmottagningen Östersund (Eva Ek, 4 arbetsdagar sent)",
    "returned": "Återremitterat: Enhetens verksamhetsplan – Akutmottagningen Östersund",
    "decided": "Godkänt: Enhetens verksamhetsplan – Akutmottagningen Östersund",
    "deadline_moved": "Ny deadline: Enhetens verksamhetsplan – Akutmottagningen Östersund (23 december)",
    "digest": "Veckosammanfattning: 3 öppna steg (1 försenat), 1 att besluta",
    "new_link": "Ny länk: Enhetens verksamhetsplan – Akutmottagningen Östersund",
    "checkpoint": "Granskningsloggens kontrollpunkt 2027-03-09 06:00:00 UTC (daglig kontroll 2027-03-09)",
}

# What each kind must say, beyond what every mail about a step says.
KEY_FACTS = {
    "opened": [
        "är nu öppet",
        "Lämna in senast onsdag 23 december 2026",
        "Mål, aktiviteter och uppföljningsplan för 2027.",
    ],
    "awaiting_decision": [
        "Eva Ek har lämnat in",
        "beslutas av Regionstyrelsen på sammanträdet tisdag 17 november 2026",
        "godkänn",
        "återremittera",
        "Planen bifogas.",
    ],
    "reminder": ["3 arbetsdagar kvar", "lämna in"],
    "due_today": ["i dag, onsdag 23 december 2026", "Områdets verksamhetsplan · Område akut"],
    "overdue": [
        "1 arbetsdag försenat",
        "2 andra steg väntar på det",
        "Väntar på det här steget",
        "Uppföljningsplan · Akutmottagningen Östersund",
    ],
    "escalation": [
        "Eva Ek har inte lämnat in",
        "4 arbetsdagar försenat",
        "Områdets verksamhetsplan · Område akut",
        "Vi ber dig att",
        "stämma av med Eva Ek",
        "eskaleringsordning",
    ],
    "returned": [
        "Karin Lund har återremitterat",
        "Målen saknar mätetal.",
        "Komplettera uppföljningsplanen.",
        "lämnas in igen senast onsdag 23 december 2026",
    ],
    "decided": [
        "Regionstyrelsen har godkänt",
        "sammanträdet tisdag 17 november 2026",
        "registrerades av Emma Sjöberg",
        "RS/412/2026",
        "Beslut enligt förslag.",
    ],
    "deadline_moved": [
        "från måndag 14 december 2026 till",
        "onsdag 23 december 2026",
        "Områdets plan är försenad.",
        "Malin Holm",
        "Tidigare deadline",
    ],
    "digest": ["vecka 48", "Dina öppna steg", "Att besluta", "Kommande steg", "Per Persson"],
    "new_link": ["Du bad om en ny länk", "Öppna Mina steg", "bara till din adress i organisationen"],
    "checkpoint": [
        "Hej Revisorerna!",
        "ny signerad kontrollpunkt (daglig kontroll 2027-03-09)",
        "ab" * 32,
        "812",
        "kontrollpunkt.jsonl",
        "arshjul audit verify --checkpoints",
    ],
}


def test_every_kind_has_a_case():
    assert set(SUBJECTS) == set(KEY_FACTS) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_subject_is_short_and_exact(kind):
    assert render(message(kind)).subject == SUBJECTS[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_key_facts_in_text_and_html(kind):
    rendered = render(message(kind))
    for fact in KEY_FACTS[kind]:
        assert fact in plain(rendered.text), f"{fact!r} missing in text"
        assert fact in html_text(rendered.html), f"{fact!r} missing in html"


@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind not in ("digest", "checkpoint")])
def test_every_mail_about_a_step_names_step_unit_deadline_body_meeting_link_and_calendar(kind):
    rendered = render(message(kind))
    for output in (plain(rendered.text), html_text(rendered.html)):
        assert "Enhetens verksamhetsplan" in output
        assert "Akutmottagningen Östersund" in output
        assert "onsdag 23 december 2026" in output
        assert "Regionstyrelsen" in output
        assert "tisdag 17 november 2026" in output
        assert ICS_NOTE in output
    assert f"{LINK_TEXT}:\n{URL}\n" in rendered.text
    assert f'href="{URL.replace("&", "&amp;")}"' in rendered.html
    assert LINK_TEXT in rendered.html


@pytest.mark.parametrize("kind", KINDS)
def test_no_leftovers_and_sound_html(kind):
    rendered = render(message(kind))
    for output in (rendered.subject, rendered.text, rendered.html):
        for leftover in ("None", "{{", "}}", "{%", "%}", "Undefined"):
            assert leftover not in output
    assert rendered.html.startswith("<!DOCTYPE html>")
    assert '<html lang="sv">' in rendered.html
    assert "<h1" in rendered.html
    assert "<p" not in rendered.text and "<strong" not in rendered.text
    assert "\n\n\n" not in rendered.text
    for external in ("src=", "<link", "url(", "<style", "<script"):  # inline styles only, nothing loaded
        assert external not in rendered.html
    assert_balanced(rendered.html)


@pytest.mark.parametrize("kind", KINDS)
def test_rendering_is_pure(kind):
    assert render(message(kind)) == render(message(kind))


def test_minimal_step_facts_render_without_gaps():
    """A step with only the required facts: no decision body, meeting, title or url."""
    bare = step(
        owner_title=None,
        decided_by_name=None,
        decider_name=None,
        meeting=None,
        url=None,
        description=None,
        waiting_downstream=(),
    )
    for kind in KINDS:
        facts = (
            message(kind, step=bare)
            if kind != "digest"
            else digest(digest_open=(bare,), digest_coming=(), digest_to_decide=(), ui_url=None, today=None)
        )
        rendered = render(facts)
        for output in (rendered.subject, rendered.text, rendered.html):
            assert "None" not in output and "{{" not in output
        assert "Beslutas av" not in rendered.text
        assert_balanced(rendered.html)


# -- plurals, dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "left, subject_part, text_part",
    [
        (1, "(1 arbetsdag kvar)", "1 arbetsdag kvar"),
        (2, "(2 arbetsdagar kvar)", "2 arbetsdagar kvar"),
        (5, "(5 arbetsdagar kvar)", "5 arbetsdagar kvar"),
    ],
)
def test_reminder_counts_working_days_in_singular_and_plural(left, subject_part, text_part):
    rendered = render(message("reminder", working_days_left=left))
    assert rendered.subject.endswith(subject_part)
    assert text_part in rendered.text
    assert text_part in html_text(rendered.html)


@pytest.mark.parametrize("late, word", [(1, "1 arbetsdag"), (4, "4 arbetsdagar")])
def test_lateness_in_singular_and_plural(late, word):
    overdue = render(message("overdue", working_days_late=late))
    escalation = render(message("escalation", working_days_late=late))
    assert overdue.subject.endswith(f"({word} sent)")
    assert escalation.subject.endswith(f"(Eva Ek, {word} sent)")
    assert f"{word} försenat" in overdue.text and f"{word} försenat" in escalation.text


def test_one_step_waiting_downstream_is_singular():
    rendered = render(message("overdue", step=step(waiting_downstream=("Områdets verksamhetsplan · Område akut",))))
    assert "1 annat steg väntar på det" in plain(rendered.text)


def test_deadline_tomorrow_and_today_are_said_so():
    tomorrow = render(message("reminder", working_days_left=1, today=D(2026, 12, 22)))
    assert "Deadline: onsdag 23 december 2026 (i morgon)" in tomorrow.text
    assert "(i morgon)" in html_text(tomorrow.html)
    assert "Deadline: onsdag 23 december 2026 (i dag)" in render(message("due_today")).text


# -- who the mail is for ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, wording",
    [
        ("reminder", "Steget ägs av Eva Ek; du kan arbeta med det och lämna in det i Eva Eks ställe."),
        ("opened", "Steget ägs av Eva Ek"),
        ("returned", "Steget ägs av Eva Ek"),
        ("awaiting_decision", "Beslutet ligger hos Eva Ek"),
        ("escalation", "Eskaleringen gick till Eva Ek"),
        ("digest", "Sammanfattningen gäller steg som Eva Ek ansvarar för"),
    ],
)
def test_stand_in_is_told_whose_step_it_is(kind, wording):
    rendered = render(message(kind, recipient_name="Anders Berg", on_behalf_of_name="Eva Ek"))
    assert rendered.subject.startswith("[Ersättare för Eva Ek] ")
    for output in (plain(rendered.text), html_text(rendered.html)):
        assert output.startswith("Hej Anders Berg!") or "Hej Anders Berg!" in output
        assert "Du får det här som ersättare för Eva Ek, som är frånvarande." in output
        assert wording in output


def test_no_stand_in_wording_for_the_owner_themself():
    rendered = render(message("reminder"))
    assert "ersättare" not in rendered.text.lower() and "ersättare" not in rendered.html.lower()
    assert not rendered.subject.startswith("[")


def test_escalation_falls_back_to_the_step_owner():
    rendered = render(message("escalation", escalation_owner_name=None, step=step(owner_name="Olle Ås")))
    assert rendered.subject.endswith("(Olle Ås, 4 arbetsdagar sent)")
    assert "Olle Ås har inte lämnat in" in rendered.text


def test_the_decider_is_not_named_to_themself():
    rendered = render(message("escalation", recipient_name="Emma Sjöberg"))
    assert "Kontakt för beslutet" not in rendered.text
    assert "Kontakt för beslutet: Emma Sjöberg" in render(message("reminder")).text


def test_awaiting_a_personal_decision_without_meeting():
    rendered = render(message("awaiting_decision", step=step(decided_by_name="Överordnad linjechef", meeting=None)))
    assert "Det väntar nu på ditt beslut." in plain(rendered.text)
    assert "sammanträde" not in rendered.text


def test_returned_after_the_deadline_asks_for_it_as_soon_as_possible():
    rendered = render(message("returned", today=D(2027, 1, 4), step=step(state_label="återremitterat, försenat")))
    assert "så snart som möjligt – deadline onsdag 23 december 2026 har passerat" in plain(rendered.text)
    assert "senast" not in rendered.text


def test_returned_without_comment_says_whom_to_ask():
    rendered = render(message("returned", comment=None))
    assert "Ingen kommentar lämnades. Fråga Karin Lund" in rendered.text


def test_opened_says_what_it_waits_for():
    rendered = render(message("opened", step=step(waiting_for=("Områdets verksamhetsplan", "RD:s direktiv"))))
    sentence = "Steget kan inte lämnas in förrän Områdets verksamhetsplan och RD:s direktiv är klara."
    assert sentence in plain(rendered.text)
    assert sentence in html_text(rendered.html)


# -- escaping, links, strictness ----------------------------------------------------------------


def test_names_are_escaped_in_html_and_intact_in_text():
    hostile = step(unit_name="<Akut & Co>", last_comment="<script>alert(1)</script>")
    for kind in KINDS:
        facts = message(kind, step=hostile) if kind != "digest" else digest(digest_open=(hostile,))
        if kind == "checkpoint":  # no step: the reason is the text it shows
            facts = message(kind, checkpoint=CHECKPOINT | {"reason": "<Akut & Co>"})
        rendered = render(facts)
        assert "<Akut & Co>" in rendered.text
        assert "&lt;Akut &amp; Co&gt;" in rendered.html
        assert "<Akut" not in rendered.html and "<script" not in rendered.html
        if kind != "digest":
            assert "<Akut & Co>" in rendered.subject


def test_free_text_keeps_its_line_breaks_and_is_escaped():
    rendered = render(message("returned", comment="Rad ett & <b>två</b>\nRad tre"))
    assert "Rad ett &amp; &lt;b&gt;två&lt;/b&gt;<br>\nRad tre" in rendered.html
    assert "  > Rad ett & <b>två</b>\n  > Rad tre\n" in rendered.text


@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind not in ("digest", "checkpoint")])
def test_link_only_when_there_is_a_url(kind):
    rendered = render(message(kind, step=step(url=None), mine_url=None))
    assert LINK_TEXT not in rendered.text and LINK_TEXT not in rendered.html
    assert "href" not in rendered.html
    assert ICS_NOTE in rendered.text  # the attachment comes regardless


def test_digest_links_each_step_and_the_ui():
    rendered = render(digest())
    for suffix in ("1", "2", "3"):
        assert f'href="{URL.replace("&", "&amp;")}{suffix}"' in rendered.html
        assert f"{URL}{suffix}\n" in rendered.text
    assert "Öppna årshjulet:\nhttps://prefect.example/runs\n" in rendered.text
    assert render(digest(ui_url=None)).text.count("Öppna årshjulet") == 0


def test_only_web_links_are_accepted():
    with pytest.raises(ValueError, match="http"):
        render(message("reminder", step=step(url="javascript:alert(1)")))
    with pytest.raises(ValueError, match="http"):
        render(digest(ui_url="file:///etc/passwd"))


def test_strict_undefined_catches_a_missing_fact():
    assert ENVIRONMENT.undefined is jinja2.StrictUndefined
    # What a caller passing the wrong object would hand us: a step without `state_label`.
    incomplete = SimpleNamespace(
        **{name: getattr(PLAN, name) for name in PLAN.__dataclass_fields__ if name != "state_label"}
    )
    with pytest.raises(jinja2.UndefinedError, match="state_label"):
        render(message("reminder", step=incomplete))


@pytest.mark.parametrize(
    "facts, error",
    [
        (dict(kind="summary"), "okänd meddelandetyp"),
        (dict(kind="reminder", step=None), "step saknas"),
        (dict(kind="reminder", working_days_left=None), "working_days_left"),
        (dict(kind="overdue", working_days_late=None), "working_days_late"),
        (dict(kind="escalation", working_days_late=None), "working_days_late"),
        (dict(kind="deadline_moved", old_due=None), "old_due"),
    ],
)
def test_incomplete_messages_are_refused(facts, error):
    kind = facts.pop("kind")
    base = message(kind if kind in KINDS else "opened")
    with pytest.raises(ValueError, match=error):
        render(replace(base, kind=kind, **facts))


# -- the digest ---------------------------------------------------------------------------------


def test_digest_groups_in_order_and_sorts_each_group_by_deadline():
    text = render(digest()).text
    order = [
        "Dina öppna steg (3)",
        "Månadsrapport oktober",  # 18 Nov, late
        "Internkontrollplan",  # 24 Nov
        "Enhetens verksamhetsplan",  # 23 Dec
        "Att besluta (1)",
        "Handlingsplan ambulans",
        "Kommande steg (2)",
        "Månadsrapport november",  # 14 Dec
        "Tertialrapport per april",  # 12 May next year
    ]
    positions = [text.index(f"* {item}") if not item.endswith(")") else text.index(item) for item in order]
    assert positions == sorted(positions)
    html = html_text(render(digest()).html)
    positions = [html.index(item) for item in order]
    assert positions == sorted(positions)


def test_digest_shows_deadlines_and_marks_late_steps():
    rendered = render(digest())
    assert "Deadline: onsdag 18 november 2026" in rendered.text
    assert "Öppnar: torsdag 1 april 2027" in rendered.text
    assert "2026-11-18" in rendered.html
    assert "Du har 3 öppna steg (varav 1 försenat) och 1 steg att besluta." in plain(rendered.text)
    assert "color:#8a1c1c" in rendered.html  # the late one stands out


def test_daily_digest_and_counts():
    daily = render(digest(digest_daily=True, digest_to_decide=()))
    assert daily.subject == "Dagens sammanfattning: 3 öppna steg (1 försenat)"
    assert "Dagens sammanfattning" in daily.text and "vecka" not in daily.text
    one = render(digest(digest_open=(step(due=D(2026, 12, 1)),), digest_to_decide=()))
    assert one.subject == "Veckosammanfattning: 1 öppet steg"
    two_late = render(digest(digest_open=(step(due=D(2026, 11, 1)), step(due=D(2026, 11, 2)))))
    assert two_late.subject == "Veckosammanfattning: 2 öppna steg (2 försenade), 1 att besluta"


def test_empty_digest_says_so():
    rendered = render(digest(digest_open=(), digest_to_decide=(), digest_coming=()))
    assert rendered.subject == "Veckosammanfattning: 0 öppna steg"
    assert "Du har inga öppna steg och inget att besluta just nu." in plain(rendered.text)
    assert "Dina öppna steg" not in rendered.text
    assert ICS_NOTE not in rendered.text  # nothing is attached to a digest


def test_subject_is_one_line():
    rendered = render(
        message("reminder", step=step(name="Enhetens\nverksamhetsplan", unit_name="Akut\r\nBcc: x@example.org"))
    )
    assert "\n" not in rendered.subject and "\r" not in rendered.subject
