"""`arshjul serve`'s parts: the service clock keeps its timers over a restart, the sink
stores what it receives, the embedded Prefect environment."""

import datetime as dt
import os
import smtplib
import subprocess
import sys
import types

import pytest

from arshjul.core.credentials import login_file, use_prefect_sign_in
from arshjul.core.database import make_engine, migrate
from arshjul.core.settings import Settings
from arshjul.service import configure_prefect_environment, start_service_clock
from notifications.sink import MailSink
from tests.conftest import free_port


def test_the_service_clock_keeps_its_timers_over_a_restart(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    migrate(engine)
    first = start_service_clock(engine, "Europe/Stockholm")
    jobs = {job.id: job.next_run_time for job in first.get_jobs()}
    first.shutdown(wait=False)
    assert set(jobs) == {"daglig-kontroll", "utskick"}
    sweep = jobs["daglig-kontroll"]
    assert (sweep.hour, sweep.minute, sweep.weekday() < 5) == (7, 0, True)  # 07:00 local, Monday–Friday

    # A restart finds the stored jobs and keeps their next run: a timer that fell due
    # while the service was down still fires (once: the jobs coalesce).
    second = start_service_clock(engine, "Europe/Stockholm")
    again = {job.id: job.next_run_time for job in second.get_jobs()}
    assert again["daglig-kontroll"] == sweep
    assert all(job.coalesce for job in second.get_jobs())
    second.shutdown(wait=False)
    engine.dispose()


def test_the_sink_writes_one_eml_per_message(tmp_path):
    sink = MailSink(tmp_path / "mail", port=free_port()).start()
    try:
        with smtplib.SMTP("127.0.0.1", sink.port) as client:
            client.sendmail("a@example.se", ["b@example.se"], b"Subject: Hej\r\nMessage-ID: <1@x>\r\n\r\nText\r\n")
            client.sendmail("a@example.se", ["c@example.se"], b"Subject: Hej igen\r\n\r\nText\r\n")
        files = sink.messages()
        assert len(files) == 2 and all(path.suffix == ".eml" for path in files)
        assert b"Message-ID: <1@x>" in files[0].read_bytes()
        assert not list((tmp_path / "mail").glob(".*.tmp"))  # no half-written files left
    finally:
        sink.stop()


# What configure_prefect_environment and use_prefect_sign_in set in os.environ.
PREFECT_ENVIRONMENT = (
    "PREFECT_API_URL", "PREFECT_HOME", "PREFECT_API_AUTH_STRING", "PREFECT_SERVER_ANALYTICS_ENABLED",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "PREFECT_FLOWS_HEARTBEAT_FREQUENCY",
)  # fmt: skip


@pytest.fixture
def without_prefect_environment(monkeypatch):
    """None of PREFECT_ENVIRONMENT set, and each as it was again after the test."""
    for key in PREFECT_ENVIRONMENT:
        monkeypatch.setenv(key, "")  # so that monkeypatch restores it, even if it was not set
        monkeypatch.delenv(key)


def test_embedded_prefect_environment(without_prefect_environment, monkeypatch, tmp_path):
    settings = Settings(home=tmp_path / "var")
    assert configure_prefect_environment(settings) is True
    assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"
    assert os.environ["PREFECT_HOME"] == str((tmp_path / "var" / "prefect").resolve())
    assert not login_file(settings).exists()  # a client reads the sign-in; only a starting server makes it
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect.example:4200/api")
    assert configure_prefect_environment(settings) is False  # production: the given server
    assert os.environ["PREFECT_API_URL"] == "http://prefect.example:4200/api"


def test_a_starting_server_makes_its_sign_in_for_its_own_clients(without_prefect_environment, monkeypatch, tmp_path):
    settings = Settings(home=tmp_path / "var")
    monkeypatch.setitem(sys.modules, "prefect", sys.modules.get("prefect") or types.ModuleType("prefect"))
    with pytest.raises(RuntimeError, match="before Prefect is imported"):
        use_prefect_sign_in(settings)  # too late: Prefect has read its settings
    assert not login_file(settings).exists() or "PREFECT_API_AUTH_STRING" not in os.environ
    monkeypatch.delitem(sys.modules, "prefect")
    auth = use_prefect_sign_in(settings)
    assert auth is not None and auth.startswith("regionstab:")
    assert login_file(settings).read_text(encoding="utf-8").strip() == auth == os.environ["PREFECT_API_AUTH_STRING"]
    assert configure_prefect_environment(settings) is True
    assert os.environ["PREFECT_API_AUTH_STRING"] == auth  # the next command's clients sign in with it


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["plan", "2027", "--format", "docx"], "okänt format 'docx'"),
        (["audit", "verify", "--checkpoints", "saknas.jsonl"], "kontrollpunkt-nyckel.pub saknas"),
    ],
    ids=["plan-format", "verify-checkpoints"],
)
def test_a_command_refused_for_its_input_leaves_a_new_home_empty(tmp_path, args, words):
    home = tmp_path / "var"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ARSHJUL_", "PREFECT_"))}
    done = subprocess.run(
        [sys.executable, "-m", "arshjul", *args],
        env=environment | {"ARSHJUL_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "COLUMNS": "300"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 2 and words in done.stderr, done.stderr
    assert not home.exists() or not any(home.iterdir()), sorted(home.rglob("*"))


def test_daily_sweep_trigger_skips_holidays(monkeypatch, tmp_path):
    from arshjul import service
    from arshjul.core import clock
    from arshjul.core.clock import SimulatedClock
    from tests.conftest import SMALL_ORG
    from tests.prefect_support import app_environment

    started = []
    monkeypatch.setattr("prefect.deployments.run_deployment", lambda *a, **k: started.append(k))
    with app_environment(tmp_path, SMALL_ORG):
        previous = clock.use(SimulatedClock(dt.datetime(2027, 12, 24, 6, 0, tzinfo=dt.UTC)))  # julafton
        try:
            service.trigger_daily_sweep()
            assert started == []
            clock.use(SimulatedClock(dt.datetime(2027, 12, 23, 6, 0, tzinfo=dt.UTC)))
            service.trigger_daily_sweep()
        finally:
            clock.use(previous)
    assert [call["idempotency_key"] for call in started] == ["daglig-kontroll-2027-12-23"]
