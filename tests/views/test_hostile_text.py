"""Hostile text through every text field into every place it is shown: the Resume
dialog's description and the run's state message in the Prefect UI, the artifacts, the
mails' HTML and the web app's step page. Whatever a person typed (a comment, a reason, a
diarienummer, a name in a file), it must never become markup there: no image that loads
(a tracking pixel), no live link (`javascript:`), no raw HTML."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from arshjul.views.markdown import inert, plain_line, table_cell
from models.people import Directory, Member
from models.tables import StepInstance, StepState
from tests.conftest import SMALL_ORG
from tests.prefect_support import app_environment

# Pieces that make markup in markdown or HTML, mixed with ordinary text by hypothesis.
ATTACKS = [
    "![x](http://evil.example/pixel.png)",
    "[klicka här](javascript:alert(1))",
    "<img src=http://evil.example/p.png>",
    "<a href='javascript:alert(1)'>x</a>",
    "<script>alert(1)</script>",
    "<https://evil.example>",
    "[ref]: javascript:alert(1)\n[ref]",
    "![a][b]\n\n[b]: http://evil.example/p.png",
    "`kod` **fet** _kursiv_ ~~bort~~",
    "| a | b |\n|---|---|",
    "\\<img src=x>",
    "&lt;img src=x&gt;",
    "<!-- kommentar -->",
    "\u202e\u0000\r\n",
]
hostile = st.lists(
    st.one_of(st.sampled_from(ATTACKS), st.text(max_size=20)),
    min_size=1,
    max_size=5,
).map("".join)

RENDERER = MarkdownIt("commonmark", {"html": True}).enable("table")
EVIL = ("evil.example", "javascript:")


def live_markup(html: str) -> list[str]:
    """What in rendered HTML would load, link or run something."""
    found = [tag for tag in ("<img", "<a ", "<script", "<iframe") if tag in html]
    return found


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.loads: list[str] = []  # tags that load or run something
        self.links: set[str] = set()

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag in ("img", "script", "iframe", "object", "embed") or any(k.startswith("on") for k in values):
            self.loads.append(tag)
        for name in ("href", "src", "action"):
            if values.get(name):
                self.links.add(values[name])


def tags_of(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def assert_inert_markdown(markdown: str) -> None:
    html = RENDERER.render(markdown)
    assert live_markup(html) == [], (markdown, html)


ALLOWED_LINK_TARGETS = ("http://127.0.0.1:4200/runs/flow-run/", "http://127.0.0.1:8080/regionstab/")


def assert_only_our_links(markdown: str) -> None:
    """Artifacts link to runs and the overview on purpose; nothing else may be a link."""
    html = RENDERER.render(markdown)
    assert "<img" not in html and "<script" not in html, html
    for piece in html.split("<a ")[1:]:
        href = piece.split('href="', 1)[1].split('"', 1)[0]
        assert href.startswith(ALLOWED_LINK_TARGETS), (href, markdown)


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(text=hostile)
def test_inert_and_table_cell_never_make_markup(text):
    assert_inert_markdown(inert(text))
    assert_inert_markdown(f"| a |\n|---|\n| {table_cell(text)} |")
    line = plain_line(text)
    assert "\n" not in line and not any(ch in line for ch in "<>[]`")
    assert_inert_markdown(line)


@pytest.fixture(scope="module")
def organisation(tmp_path_factory):
    with app_environment(tmp_path_factory.mktemp("app"), SMALL_ORG):
        yield


def hostile_step(text: str) -> StepInstance:
    return StepInstance(
        id=7,
        cycle_id=1,
        key="regionplan:region",
        step="regionplan",
        name=f"Regionplan {text}",
        kind="plan",
        process="planering",
        level="region",
        unit="region",
        unit_name=f"Regionen {text}",
        owner_role="ekonomidirektor",
        owner="erik.ekonom",
        decided_by="rs",
        decided_by_kind="body",
        decider="rut.direktor",
        opens=dt.date(2026, 3, 2),
        due=dt.date(2026, 6, 1),
        meeting=dt.date(2026, 6, 10),
        state=StepState.submitted,
        last_comment=text,
        diarienummer=text[:100],
        description=text,
        reminders=[],
        escalation=[],
    )


def hostile_directory(text: str) -> Directory:
    def member(key: str, standin: str | None = None) -> Member:
        return Member(key, f"{key} {text}", f"{key}@example.se", text, standin, None, "single")

    return Directory(
        "liten-region", {"erik.ekonom": member("erik.ekonom", "rut.direktor"), "rut.direktor": member("rut.direktor")}
    )


@FAST
@given(text=hostile)
def test_the_resume_dialog_and_the_state_message_show_typed_text_inert(organisation, text):
    from flows.run_step import _waiting_message, describe

    step = hostile_step(text)
    directory = hostile_directory(text)
    for state in (StepState.open, StepState.submitted):
        step.state = state
        assert_inert_markdown(describe(step, directory=directory, today=dt.date(2026, 6, 5), refusal=text))
        message = _waiting_message(step, directory)
        assert "\n" not in message and not any(ch in message for ch in "<>[]`")
        assert_inert_markdown(message)


@FAST
@given(text=hostile)
def test_the_artifact_of_failed_mail_shows_typed_text_inert(organisation, text):
    from models.tables import SmtpFault
    from tasks.artifacts import failed_mail_markdown, run_link

    now = dt.datetime(2027, 1, 4, 7, tzinfo=dt.UTC)
    row = SimpleNamespace(id=1, recipient=text, subject=text, kind="opened", attempts=3, last_error=text)
    fault = SmtpFault(configuration="x", message=text, since=now, last_attempt_at=now, retry_at=now)
    assert_inert_markdown(failed_mail_markdown([row], fault))
    assert_only_our_links(f"| {run_link(text, '3f2a')} |")


@FAST
@given(text=hostile)
def test_mail_html_shows_typed_text_as_text(text):
    from notifications.rendering import KINDS, render
    from tests.notifications.test_rendering import PLAN, message

    step = replace(
        PLAN, name=text or "x", unit_name=text or "x", last_comment=text, description=text, owner_name=text or "x"
    )
    for kind in KINDS:
        changes = dict(step=step) if kind != "digest" else {}
        if kind in ("returned", "decided", "awaiting_decision"):
            changes.update(comment=text or "x", acted_by_name=text or "x")
        if kind == "deadline_moved":
            changes.update(reason=text or "x", acted_by_name=text or "x")
        found = tags_of(render(message(kind, **changes)).html)
        ours = tags_of(render(message(kind)).html)
        assert found.loads == [] and found.links <= ours.links, (kind, found.links - ours.links)


@FAST
@given(text=hostile)
def test_the_web_apps_step_page_shows_typed_text_as_text(organisation, text):
    from arshjul.web.step_page import FormValues, StepPage, render_step

    step = hostile_step(text)
    page = StepPage(
        step=step,
        today=dt.date(2026, 6, 5),
        owner_name=text,
        owner_title=text,
        decided_by_name=text,
        decider_name=text,
        state_label=text,
        late=True,
        done=False,
        dependencies=[SimpleNamespace(name=text, unit_name=text, due=dt.date(2026, 5, 1), done=False)],
        blockers=[text],
        waiting_downstream=[text],
        history=[{"when": text, "what": text, "who": text, "comment": text}],
        actions=["approve", "send_back"],
        kind_template="web/kinds/default.html",
        form_url="/steg/abc",
        new_link_url="/ny-lank/abc",
        csrf="csrf",
        needs_diarienummer=True,
        waiting_note=text,
        standin_for=text,
        stale_note=text,
        error=text,
        form=FormValues(atgard="return", kommentar=text, dokument=text, diarienummer=text),
    )
    found = tags_of(render_step(page, text))
    assert found.loads == []
    assert all(link.startswith(("/steg/", "/ny-lank/", "/static/", "/mina-steg/")) for link in found.links), found.links


@pytest.fixture(scope="module")
def stored_cycle(organisation):
    """The small organisation's cycle 2027 in the module's app database."""
    from arshjul.core import runtime
    from arshjul.core.database import session_scope
    from models.cycles import store_cycle

    with session_scope(runtime.engine()) as session:
        store_cycle(runtime.definition(), 2027, session=session, now=dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC))
    return runtime.engine()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=hostile)
def test_the_status_and_follow_up_artifacts_show_names_inert(stored_cycle, text):
    """Names come from the organisation's files: every step's name and unit are hostile
    here, and every step is overdue, so the tables list them all."""
    from sqlalchemy import update
    from sqlmodel import Session, select

    from arshjul.core.database import session_scope
    from flows.follow_up import follow_up_report
    from models.tables import Cycle
    from tasks.artifacts import status_markdown

    with session_scope(stored_cycle) as session:
        session.exec(update(StepInstance).values(name=f"Steg {text}", unit_name=f"Enhet {text}", flow_run_id="3f2a"))
    with Session(stored_cycle) as session:
        cycle = session.exec(select(Cycle)).one()
    _, overdue = status_markdown(cycle, dt.date(2028, 12, 1))
    assert overdue.count("\n| ") > 3  # the overdue table is there, a row per step
    assert_only_our_links(overdue)
    assert_inert_markdown(follow_up_report(2027, today=dt.date(2028, 12, 1))["markdown"])
