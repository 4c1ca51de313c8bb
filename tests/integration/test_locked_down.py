"""The embedded Prefect server locked down and sound: with the sign-in on, the API
refuses requests without it while steps, the sweep and mail still run; and resumes sent
through the API while a simulation runs never meet a server error (the server's SQLite
transactions start IMMEDIATE, see flows/prefect_internals.py)."""

from __future__ import annotations

import base64
import contextvars
import threading
import time

import httpx
import pytest
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

from arshjul.core.settings import get_settings
from notifications.sink import MailSink
from tests.conftest import SMALL_ORG, free_port
from tests.prefect_support import app_environment, execute, instance, no_heartbeats, state_of

pytestmark = [pytest.mark.prefect, pytest.mark.slow]
AUTH = "regionstab:provlosen-123"


@pytest.fixture(scope="module")
def locked_server(tmp_path_factory):
    from arshjul.service import PrefectServer

    server = PrefectServer(tmp_path_factory.mktemp("locked") / "prefect", port=free_port(), auth_string=AUTH).start()
    yield server
    server.stop()


def headers() -> dict:
    return {"Authorization": "Basic " + base64.b64encode(AUTH.encode()).decode()}


def test_without_the_sign_in_the_api_refuses_and_with_it_everything_runs(locked_server, tmp_path, monkeypatch):
    api = locked_server.api_url
    assert httpx.post(f"{api}/flow_runs/filter", json={}).status_code == 401
    assert httpx.post(f"{api}/flow_runs/filter", json={}, auth=("regionstab", "fel")).status_code == 401
    assert httpx.get(f"{api}/health").status_code == 200  # probes only
    assert httpx.post(f"{api}/flow_runs/filter", json={}, headers=headers()).status_code == 200
    ui_settings = httpx.get(f"http://127.0.0.1:{locked_server.port}/ui-settings")
    assert ui_settings.status_code == 200 and ui_settings.json().get("auth") == "BASIC"  # the UI asks for it

    from flows.daily_sweep import daily_sweep
    from flows.run_step import run_step
    from flows.start_cycle import start_cycle
    from tasks.mail import deliver

    port = free_port()
    monkeypatch.setenv("ARSHJUL_SINK_PORT", str(port))
    with (
        temporary_settings({PREFECT_API_URL: api, PREFECT_API_AUTH_STRING: AUTH}),
        app_environment(tmp_path, SMALL_ORG),
        no_heartbeats(),
    ):
        sink = MailSink(get_settings().mail_dir, port).start()
        try:
            run_step.to_deployment(name="arshjul").apply()
            assert start_cycle(2027)["flow_runs_created"] == 15
            step = instance("regionplan:region")
            assert execute(step.flow_run_id) == "Suspended"
            assert state_of(step.flow_run_id).state_details.run_input_keyset
            assert daily_sweep(day="2027-06-03")["day"] == "2027-06-03"
            assert deliver().sent >= 1 and sink.messages()
        finally:
            sink.stop()


def test_fifty_resumes_during_a_running_simulation_meet_no_server_error(locked_server, tmp_path, monkeypatch):
    from prefect import get_client
    from prefect.states import Paused

    from flows.run_step import run_step
    from flows.simulate_year import Simulation

    port = free_port()
    monkeypatch.setenv("ARSHJUL_SINK_PORT", str(port))
    api = locked_server.api_url
    with (
        temporary_settings({PREFECT_API_URL: api, PREFECT_API_AUTH_STRING: AUTH}),
        app_environment(tmp_path, SMALL_ORG),
        no_heartbeats(),
    ):
        sink = MailSink(get_settings().mail_dir, port).start()
        # 50 waiting runs of a deployment nobody serves: what an operator resumes in the UI.
        deployment = run_step.to_deployment(name="vantande").apply()
        with get_client(sync_client=True) as client:
            waiting = [
                str(
                    client.create_flow_run_from_deployment(
                        deployment, parameters={"instance_id": 0}, state=Paused(reschedule=True, pause_key="p")
                    ).id
                )
                for _ in range(50)
            ]
        outcome: dict = {}
        statuses: list[int] = []
        resumed = threading.Condition()
        months = []

        def keep_pace(message: str) -> None:
            """Once a simulated month: wait until ten more resumes have been sent, so the
            resumes meet a running simulation however fast or slow the machine is."""
            months.append(message)
            with resumed:
                resumed.wait_for(lambda: len(statuses) >= min(50, 10 * len(months)), timeout=120)

        def simulate():
            outcome["summary"] = Simulation(2027, seed=3, progress=keep_pace).run()

        # Prefect's settings live in context variables, which a new thread does not inherit.
        simulation = threading.Thread(target=contextvars.copy_context().run, args=(simulate,))
        simulation.start()
        try:
            with httpx.Client(headers=headers(), timeout=120) as http:
                for flow_run_id in waiting:
                    status = http.post(f"{api}/flow_runs/{flow_run_id}/resume", json={}).status_code
                    with resumed:
                        statuses.append(status)
                        resumed.notify_all()
                    time.sleep(0.2)
            still_running = simulation.is_alive()
        finally:
            simulation.join()
            sink.stop()
    assert still_running, "the resumes must meet a running simulation"
    assert len(statuses) == 50 and all(status < 500 for status in statuses), statuses
    assert outcome["summary"].completed == 15
