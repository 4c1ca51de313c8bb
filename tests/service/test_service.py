"""`arshjul serve`'s parts: the service clock keeps its timers over a restart, the sink
stores what it receives, the embedded Prefect environment."""

import datetime as dt
import os
import smtplib

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


def test_embedded_prefect_environment(monkeypatch, tmp_path):
    for key in ("PREFECT_API_URL", "PREFECT_HOME"):
        monkeypatch.delenv(key, raising=False)
    settings = Settings(home=tmp_path / "var")
    assert configure_prefect_environment(settings) is True
    assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"
    assert os.environ["PREFECT_HOME"] == str((tmp_path / "var" / "prefect").resolve())
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect.example:4200/api")
    assert configure_prefect_environment(settings) is False  # production: the given server
    assert os.environ["PREFECT_API_URL"] == "http://prefect.example:4200/api"


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
