"""A chef's path in a real browser: a real mail is delivered to the sink, its link is
parsed from the mail and opened in Debian's chromium; the owner submits; the decider's
link from the next mail approves; the Prefect run completes. Then the links that must
not work — the same link again, an expired one, a forged one, an altered one, another
person's, one from the previous state — each change nothing and say why."""

from __future__ import annotations

import contextvars
import datetime as dt
import email
import re
import threading
import time
from email import policy

import pytest

from tests.conftest import SMALL_ORG, free_port
from tests.integration.test_browser import CHROMIUM, CHROMIUM_ARGS, ensure_chromium

pytestmark = [pytest.mark.browser, pytest.mark.prefect, pytest.mark.slow]
LINK = re.compile(r"http://127\.0\.0\.1:\d+/steg/[A-Za-z0-9_.\-]+")


@pytest.fixture(scope="module")
def prefect_ui(tmp_path_factory):
    from arshjul.service import PrefectServer

    server = PrefectServer(tmp_path_factory.mktemp("links-ui") / "prefect", port=free_port()).start()
    yield server
    server.stop()


def read_new_mail(folder, seen: set) -> list:
    fresh = [path for path in sorted(folder.glob("*.eml")) if path not in seen]
    seen.update(fresh)
    return [email.message_from_bytes(path.read_bytes(), policy=policy.default) for path in fresh]


def step_link(message) -> str:
    [link] = LINK.findall(message.get_body(("plain",)).get_content())
    return link


def test_owner_submits_and_decider_approves_from_their_mails(prefect_ui, tmp_path, monkeypatch, office_hours):
    ensure_chromium()
    import uvicorn
    from playwright.sync_api import sync_playwright
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from sqlmodel import Session, select

    from arshjul.core import runtime
    from arshjul.core.links import LinkMaker
    from arshjul.core.settings import get_settings
    from arshjul.service import drain_prefect_workers
    from arshjul.web.app import create_app
    from flows.run_step import run_step
    from flows.start_cycle import start_cycle
    from models.tables import AuditEntry, StepState
    from notifications.sink import MailSink
    from tasks.mail import deliver
    from tests.prefect_support import app_environment, execute, instance, no_heartbeats, state_of

    web_port, sink_port = free_port(), free_port()
    monkeypatch.setenv("ARSHJUL_SINK_PORT", str(sink_port))
    monkeypatch.setenv("ARSHJUL_WEB_PORT", str(web_port))
    monkeypatch.setenv("ARSHJUL_UI_URL", f"http://127.0.0.1:{prefect_ui.port}")
    with (
        temporary_settings({PREFECT_API_URL: prefect_ui.api_url}),
        app_environment(tmp_path, SMALL_ORG),
        no_heartbeats(),
    ):
        settings = get_settings()
        sink = MailSink(settings.mail_dir, sink_port).start()
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=web_port, log_level="warning")
        )
        # In a copy of this context: Prefect's settings (the test server) live in context
        # variables, and the app's request threads inherit them from the server's loop.
        thread = threading.Thread(target=contextvars.copy_context().run, args=(server.run,), daemon=True)
        thread.start()
        seen: set = set()
        try:
            while not server.started:
                time.sleep(0.05)
            run_step.to_deployment(name="arshjul").apply()
            start_cycle(2027)
            step = instance("regionplan:region")
            assert execute(step.flow_run_id) == "Suspended"  # opened: the owner is told
            deliver()
            [opened] = read_new_mail(settings.mail_dir, seen)
            assert opened["To"].addresses[0].addr_spec == "erik.ekonom@example.se"
            owner_link = step_link(opened)

            with sync_playwright() as playwright:
                # Playwright gives the browser a fresh profile of its own.
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
                page.goto(owner_link)
                assert page.get_by_role("heading", name="Regionplan").is_visible()
                assert page.get_by_text("Regionfullmäktige").first.is_visible()
                page.screenshot(path=str(tmp_path / "owner-link.png"), full_page=True)
                page.get_by_label("Kommentar").fill("Regionplanen är klar för fullmäktige.")
                page.get_by_role("button", name="Lämna in").click()
                page.get_by_text("Tack! Steget är inlämnat av dig").wait_for()

                # The web app resumed the waiting run; a runner executes it.
                assert state_of(step.flow_run_id).name == "Resuming"
                assert execute(step.flow_run_id) == "Suspended"
                assert "Väntar på beslut av Sigrid Sekreterare" in state_of(step.flow_run_id).message

                deliver()
                [decision_mail] = read_new_mail(settings.mail_dir, seen)
                assert decision_mail["To"].addresses[0].addr_spec == "sigrid.sekreterare@example.se"
                decider_link = step_link(decision_mail)
                page.goto(decider_link)
                page.get_by_label("Godkänn").check()
                page.get_by_label("Diarienummer").fill("RF/12/2026")
                page.screenshot(path=str(tmp_path / "decider-link.png"), full_page=True)
                page.get_by_role("button", name="Registrera beslutet").click()
                page.get_by_text("Tack! Steget är godkänt av dig").wait_for()
                assert execute(step.flow_run_id) == "Completed"
                done = instance(step.key)
                assert done.state == StepState.approved and done.diarienummer == "RF/12/2026"

                before = audit_count = None
                with Session(runtime.engine()) as session:
                    before = [(s.key, s.state, s.state_version) for s in session.exec(select(type(done)))]
                    audit_count = len(session.exec(select(AuditEntry).where(AuditEntry.action.like("step.%"))).all())

                links = LinkMaker.from_settings(settings)
                token = owner_link.rsplit("/", 1)[1]
                expired = links.step_url(
                    person="erik.ekonom",
                    step=done,
                    actions=frozenset(),
                    generation=0,
                    issued=dt.datetime.now(dt.UTC) - dt.timedelta(days=90),
                )
                another_person = links.step_url(
                    person="otto.b", step=done, actions=frozenset(), generation=0, issued=dt.datetime.now(dt.UTC)
                )
                middle = len(token) // 3
                altered = token[:middle] + ("x" if token[middle] != "x" else "y") + token[middle + 1 :]
                forged = token.rsplit(".", 1)[0] + "." + "A" * 43
                base = owner_link.rsplit("/", 1)[0]
                cases = {
                    "the same link a second time": (owner_link, "redan godkänt av Sigrid Sekreterare"),
                    "from the previous state": (owner_link, "Länken gäller ett tidigare läge"),
                    "expired": (expired, "Länken har gått ut"),
                    "forged": (f"{base}/{forged}", "Länken är inte giltig"),
                    "altered": (f"{base}/{altered}", "Länken är inte giltig"),
                    "another person's": (another_person, "Steget är klart: det finns inget mer att göra"),
                }
                for name, (url, says) in cases.items():
                    page.goto(url)
                    assert page.get_by_text(says).first.is_visible(), name
                    assert page.get_by_role("button", name="Lämna in").count() == 0, name
                    page.screenshot(path=str(tmp_path / f"refused-{name.replace(' ', '-')}.png"), full_page=True)
                # A form posted with the CSRF token of another step's link is refused too.
                response = page.request.post(owner_link, form={"csrf": "0" * 64, "atgard": "submit"})
                assert response.status in (200, 403)
                browser.close()

            with Session(runtime.engine()) as session:
                after = [(s.key, s.state, s.state_version) for s in session.exec(select(type(done)))]
                assert (
                    len(session.exec(select(AuditEntry).where(AuditEntry.action.like("step.%"))).all()) == audit_count
                )
                refused = session.exec(select(AuditEntry).where(AuditEntry.action == "link.refused")).all()
            assert after == before  # none of the bad links changed anything
            assert {entry.origin.get("reason") for entry in refused} >= {"expired", "forged"}
            drain_prefect_workers()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sink.stop()
