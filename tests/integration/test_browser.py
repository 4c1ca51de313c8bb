"""The regionstab's path through the Prefect UI: open a suspended step, read the Swedish
Resume form, fill it in and submit; the step moves on.

Drives Debian's chromium (/usr/bin/chromium) with Playwright; a Prefect server with its
UI is started for the test on a free port."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import SMALL_ORG, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def ensure_chromium() -> None:
    """Install Debian's chromium if it is missing (the README's test command must work
    on a fresh machine); never Playwright's own browser download."""
    if CHROMIUM.exists():
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.fail("Debian's chromium is needed: apt-get install chromium (as root)")
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "chromium"],
        check=True,
        env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
        capture_output=True,
    )


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory):
    from arshjul.service import PrefectServer

    server = PrefectServer(tmp_path_factory.mktemp("ui") / "prefect", port=free_port()).start()
    yield server
    server.stop()


def test_resume_form_in_the_ui_moves_the_step(ui_server, tmp_path):
    ensure_chromium()
    from playwright.sync_api import sync_playwright
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from arshjul.service import drain_prefect_workers
    from flows.run_step import run_step
    from flows.start_cycle import start_cycle
    from models.tables import StepState
    from tests.prefect_support import app_environment, approve_regionplan, execute, instance, no_heartbeats, state_of

    with (
        temporary_settings({PREFECT_API_URL: ui_server.api_url}),
        app_environment(tmp_path, SMALL_ORG),
        no_heartbeats(),
    ):
        run_step.to_deployment(name="arshjul").apply()
        start_cycle(2027)
        step = instance("rs_verksamhetsplan:rs")
        # Its dependency first (the regionplan), approved through the API.
        approve_regionplan()
        assert execute(step.flow_run_id) == "Suspended"

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(f"http://127.0.0.1:{ui_server.port}/runs/flow-run/{step.flow_run_id}")
            page.get_by_role("button", name="Resume").first.click(timeout=60_000)
            dialog = page.locator(".p-modal__card")
            dialog.get_by_text("Epostadress", exact=False).first.wait_for()
            # The description says what the step is and what it waits for, in Swedish.
            for text in (
                "Regionstyrelsens verksamhetsplan",
                "Frida Förvaltning",
                "Beslutas av:",
                "Regionstyrelsen",
                "Väntar på:",
            ):
                assert dialog.get_by_text(text).first.is_visible(), text
            page.screenshot(path=str(tmp_path / "resume-form.png"))

            # While the owner is due the form is the submission form: its action is fixed
            # and the address is the owner's, filled in already.
            properties = dialog.locator(".schema-form-property")
            address = properties.nth(1).locator("textarea, input").first
            assert address.input_value() == "frida.forvaltning@example.se"
            properties.nth(2).locator("textarea, input").first.fill("Planen är klar för nämndens beredning.")
            dialog.get_by_role("button", name="Submit").click()

            deadline = time.monotonic() + 30
            while state_of(step.flow_run_id).type.value == "PAUSED" and time.monotonic() < deadline:
                time.sleep(0.5)
            page.screenshot(path=str(tmp_path / "after-submit.png"))
            browser.close()

        assert state_of(step.flow_run_id).name == "Resuming"
        assert execute(step.flow_run_id) == "Suspended"  # now waiting for the board's decision
        moved = instance(step.key)
        assert moved.state == StepState.submitted and moved.submitted_by == "frida.forvaltning"
        assert moved.last_comment == "Planen är klar för nämndens beredning."
        assert "Väntar på beslut av Sigrid Sekreterare" in state_of(step.flow_run_id).message
        drain_prefect_workers()


HOSTILE_COMMENT = (
    "Se ![spårning](http://127.0.0.1:9/pixel.png) och [klicka här](javascript:alert(1)) "
    "<img src=http://127.0.0.1:9/raw.png> **fet**"
)


def test_a_hostile_comment_is_shown_as_typed_in_the_next_resume_dialog(ui_server, tmp_path):
    """The owner's comment with markdown and HTML: the decider's Resume dialog shows the
    characters, loads no image and offers no javascript: link."""
    ensure_chromium()
    from playwright.sync_api import sync_playwright
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from arshjul.service import drain_prefect_workers
    from flows.run_step import run_step
    from flows.start_cycle import start_cycle
    from tests.prefect_support import (
        app_environment,
        approve_regionplan,
        execute,
        form,
        instance,
        no_heartbeats,
        resume,
    )

    with (
        temporary_settings({PREFECT_API_URL: ui_server.api_url}),
        app_environment(tmp_path, SMALL_ORG),
        no_heartbeats(),
    ):
        run_step.to_deployment(name="arshjul").apply()
        start_cycle(2027)
        step = instance("rs_verksamhetsplan:rs")
        approve_regionplan()
        assert execute(step.flow_run_id) == "Suspended"
        resume(step.flow_run_id, form("lämna in", "frida.forvaltning@example.se", comment=HOSTILE_COMMENT))
        assert execute(step.flow_run_id) == "Suspended"  # now the decider's form
        assert instance(step.key).last_comment == HOSTILE_COMMENT

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(f"http://127.0.0.1:{ui_server.port}/runs/flow-run/{step.flow_run_id}")
            page.get_by_role("button", name="Resume").first.click(timeout=60_000)
            dialog = page.locator(".p-modal__card")
            dialog.get_by_text("Senaste kommentar", exact=False).first.wait_for()
            page.wait_for_timeout(1000)  # an image would be requested by now
            page.screenshot(path=str(tmp_path / "hostile-comment.png"))
            shown = dialog.inner_text()
            assert "![spårning](http://127.0.0.1:9/pixel.png)" in shown
            assert "[klicka här](javascript:alert(1))" in shown and "<img src=http://127.0.0.1:9/raw.png>" in shown
            assert dialog.locator("img").count() == 0
            assert dialog.locator("a[href^='javascript']").count() == 0
            assert not [url for url in requests if "127.0.0.1:9/" in url]
            browser.close()
        drain_prefect_workers()
