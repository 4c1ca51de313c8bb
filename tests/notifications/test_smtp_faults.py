"""A relay that refuses the configuration (a wrong password, a refused sender address,
TLS that fails, STARTTLS not offered) is told apart from one that is not there: sending
stops at the first refusal, no message is dead-lettered or has an attempt counted, the
fault is stored so timers do not log in again, and the regionstab is told in Swedish (the
mail flow's Failed run, the artifact, `arshjul mail failed` and `mail send`). Against
aiosmtpd on 127.0.0.1."""

from __future__ import annotations

import datetime as dt

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import update
from sqlmodel import Session, select

from arshjul.core.database import session_scope
from arshjul.core.settings import get_settings
from models.tables import OutboxMessage, OutboxState, SmtpFault
from notifications.sender import SmtpConfig, deliver_due
from notifications.sink import MaildirHandler
from notifications.smtp_faults import Misconfigured, check_login, standing_fault
from tests.conftest import SMALL_ORG, free_port
from tests.notifications.test_mail import OPENING, open_regionplan, rows, self_signed_context

UTC = dt.UTC


class Relay:
    """aiosmtpd with STARTTLS and a login that accepts only arshjul/hemligt; counts logins."""

    def __init__(self, folder, tmp_path, *, refuse_sender: str | None = None, tls: bool = True):
        self.logins = 0
        self.folder = folder
        self.refuse_sender = refuse_sender
        handler = MaildirHandler(folder)
        relay = self

        class Handler:
            async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
                if relay.refuse_sender:
                    return relay.refuse_sender
                envelope.mail_from = address
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                return await handler.handle_DATA(server, session, envelope)

        def authenticator(server, session, envelope, mechanism, auth_data):
            self.logins += 1
            ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
                b"arshjul",
                b"hemligt",
            )
            # handled=False: aiosmtpd replies 535 as a relay does (True would say nothing).
            return AuthResult(success=ok, handled=False)

        self.port = free_port()
        options = dict(tls_context=self_signed_context(tmp_path), require_starttls=True) if tls else {}
        self.controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticator,
            auth_required=True,
            auth_require_tls=tls,
            **options,
        )

    def smtp(self, password: str = "hemligt", **overrides) -> SmtpConfig:
        values = dict(host="127.0.0.1", port=self.port, tls=True, user="arshjul", password=password, timeout=5)
        return SmtpConfig(**{**values, **overrides})

    def __enter__(self) -> Relay:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def send(engine, definition, smtp, **kwargs):
    return deliver_due(engine, definition, smtp=smtp, now=OPENING, ui_url="http://127.0.0.1:4200", **kwargs)


def more_mail(engine, count: int) -> None:
    """Copies of the opening notice, so a batch has several messages and pages."""
    [row] = rows(engine)
    with session_scope(engine) as session:
        for n in range(count):
            copy = OutboxMessage(
                **{
                    **row.model_dump(exclude={"id", "state"}),
                    "state": OutboxState.pending,
                    "key": f"{row.key}:{n}",
                    "message_id": f"<{n}.{row.message_id.strip('<>')}>",
                }
            )
            session.add(copy)


def waiting_untouched(engine) -> bool:
    return all(
        row.state == OutboxState.pending and row.attempts == 0 and row.claimed_by is None for row in rows(engine)
    )


def test_a_wrong_password_stops_at_the_first_login_and_waits(cycle, small_definition, tmp_path):
    open_regionplan(cycle, small_definition)
    more_mail(cycle, 120)  # three pages
    with Relay(tmp_path / "mail", tmp_path) as relay:
        report = send(cycle, small_definition, relay.smtp("fel"), connections=3, page_size=50)
        assert report.sent == report.dead_lettered == report.retried == 0 and not report.server_unreachable
        assert "nekar inloggningen" in report.configuration_error and "535" in report.configuration_error
        assert "ARSHJUL_SMTP_PASSWORD" in report.configuration_error
        assert relay.logins == 1  # three connections configured, one login tried
        assert waiting_untouched(cycle)  # nothing lost, dead-lettered or counted
        with Session(cycle) as session:
            [fault] = session.exec(select(SmtpFault)).all()
        assert fault.retry_at - fault.last_attempt_at == dt.timedelta(minutes=30)

        # The next minute's timer does not log in again with the same configuration …
        held = send(cycle, small_definition, relay.smtp("fel"))
        assert held.fault_held and "nekar inloggningen" in held.configuration_error and relay.logins == 1
        # … a person asking does, once …
        again = send(cycle, small_definition, relay.smtp("fel"), retry_refused_now=True)
        assert not again.fault_held and relay.logins == 2
        # … and a corrected password is tried at once: everything goes out, the fault is over.
        fixed = send(cycle, small_definition, relay.smtp("hemligt"))
        assert fixed.sent == 121 and fixed.fault_cleared
    with Session(cycle) as session:
        assert session.exec(select(SmtpFault)).all() == []
        states = {row.state for row in session.exec(select(OutboxMessage))}
    assert states == {OutboxState.sent}


def test_the_fault_is_tried_again_after_its_retry_time(cycle, small_definition, tmp_path):
    open_regionplan(cycle, small_definition)
    with Relay(tmp_path / "mail", tmp_path) as relay:
        send(cycle, small_definition, relay.smtp("fel"))
        with session_scope(cycle) as session:
            session.exec(update(SmtpFault).values(retry_at=dt.datetime.now(UTC) - dt.timedelta(seconds=1)))
        later = send(cycle, small_definition, relay.smtp("fel"))
        assert not later.fault_held and relay.logins == 2 and waiting_untouched(cycle)


@pytest.mark.parametrize(
    "reply, words",
    [
        ("553 5.7.1 Sender address rejected: not owned by user", "tar inte emot avsändaradressen"),
        ("550 5.7.60 SMTP; Client does not have permissions to send as this sender", "ARSHJUL_MAIL_FROM"),
        ("530 5.7.0 Authentication required", "nekar inloggningen"),
    ],
    ids=["553-sender", "550-send-as", "530-auth-required"],
)
def test_a_refused_sender_address_is_a_configuration_fault(cycle, small_definition, tmp_path, reply, words):
    open_regionplan(cycle, small_definition)
    more_mail(cycle, 3)
    with Relay(tmp_path / "mail", tmp_path, refuse_sender=reply) as relay:
        report = send(cycle, small_definition, relay.smtp())
    assert words in report.configuration_error and reply[:3] in report.configuration_error
    assert report.dead_lettered == 0 and waiting_untouched(cycle)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_tls_faults_are_configuration_faults(cycle, small_definition, tmp_path):
    open_regionplan(cycle, small_definition)
    with Relay(tmp_path / "mail", tmp_path, tls=False) as plain:
        # STARTTLS configured, not offered.
        report = send(cycle, small_definition, plain.smtp())
        assert "erbjuder inte" in report.configuration_error and "ARSHJUL_SMTP_TLS" in report.configuration_error
        # SSL configured against a plain server: the handshake fails.
        report = send(cycle, small_definition, plain.smtp(tls=False, ssl=True), retry_refused_now=True)
        assert "TLS mot e-postservern" in report.configuration_error
    assert waiting_untouched(cycle)


def test_an_unreachable_relay_is_not_a_configuration_fault(cycle, small_definition):
    open_regionplan(cycle, small_definition)
    report = send(cycle, small_definition, SmtpConfig(host="127.0.0.1", port=free_port(), timeout=5))
    assert report.server_unreachable and report.configuration_error is None and waiting_untouched(cycle)
    with Session(cycle) as session:
        assert session.exec(select(SmtpFault)).all() == []


def test_check_login_sends_nothing(tmp_path):
    with Relay(tmp_path / "mail", tmp_path) as relay:
        check_login(relay.smtp())
        with pytest.raises(Misconfigured, match="nekar inloggningen"):
            check_login(relay.smtp("fel"))
    assert list((tmp_path / "mail").glob("*.eml")) == []


@pytest.fixture
def wrong_password_installation(tmp_path, monkeypatch):
    """The app on a temporary folder, a due message, and a relay that refuses its password."""
    from tests.prefect_support import app_environment

    with Relay(tmp_path / "mail", tmp_path) as relay:
        for name, value in dict(
            SMTP_HOST="127.0.0.1", SMTP_PORT=str(relay.port), SMTP_TLS="true", SMTP_USER="arshjul"
        ).items():
            monkeypatch.setenv(f"ARSHJUL_{name}", value)
        monkeypatch.setenv("ARSHJUL_SMTP_PASSWORD", "fel")
        with app_environment(tmp_path / "app", SMALL_ORG):
            from arshjul.core import runtime
            from arshjul.core.runtime import definition
            from models.cycles import store_cycle

            with session_scope(runtime.engine()) as session:
                store_cycle(definition(), 2027, session=session, now=OPENING - dt.timedelta(days=7))
            open_regionplan(runtime.engine(), definition())
            with session_scope(runtime.engine()) as session:
                session.exec(update(OutboxMessage).values(next_attempt_at=dt.datetime.now(UTC)))
            yield relay


@pytest.mark.prefect
def test_the_regionstab_sees_a_failed_run_and_a_swedish_message(prefect_server, wrong_password_installation):
    """Acceptance: a wrong SMTP password → a Failed run of the mail flow with the Swedish
    message, the artifact says it, no message lost or dead-lettered."""
    from prefect import get_client

    from arshjul.core import runtime
    from flows.send_mail import send_mail

    state = send_mail(return_state=True)
    assert state.is_failed() and "nekar inloggningen" in state.message and "535" in state.message
    with get_client(sync_client=True) as client:
        [artifact] = [a for a in client.read_latest_artifacts() if a.key == "arshjul-misslyckade-utskick"]
    assert "E-postservern nekar konfigurationen" in artifact.data and "nekar inloggningen" in artifact.data
    assert wrong_password_installation.logins == 1
    assert waiting_untouched(runtime.engine())

    # The next minute's run: Failed again, the same message, no further login.
    assert send_mail(return_state=True).is_failed() and wrong_password_installation.logins == 1


def test_the_cli_says_it_in_swedish(wrong_password_installation):
    from typer.testing import CliRunner

    from arshjul.cli import app
    from arshjul.core import runtime

    sent = CliRunner().invoke(app, ["mail", "send"], env={"COLUMNS": "200"})
    assert sent.exit_code == 2 and "nekar inloggningen" in sent.output and "Traceback" not in sent.output
    failed = CliRunner().invoke(app, ["mail", "failed"], env={"COLUMNS": "200"})
    assert failed.exit_code == 0 and "E-postservern nekar konfigurationen" in failed.output
    assert wrong_password_installation.logins == 1 and waiting_untouched(runtime.engine())


def test_the_service_clock_shows_a_new_refusal_once_as_a_failed_run(wrong_password_installation, monkeypatch):
    """`arshjul serve` sends from its clock, not as a run a minute: a new refusal (and the
    end of one) starts the mail flow's run once, so the UI shows it."""
    from arshjul import service

    started = []
    monkeypatch.setattr(service, "report_mail_flow_once_served", lambda: started.append("run"))
    service.deliver_mail()  # the login is refused: a run is started
    service.deliver_mail()  # held: no login, no further run
    assert started == ["run"] and wrong_password_installation.logins == 1


def test_serve_checks_the_login_once_at_start(wrong_password_installation, monkeypatch):
    from arshjul import service
    from arshjul.core import runtime

    refused = service.check_mail_login(get_settings())
    assert "nekar inloggningen" in refused and wrong_password_installation.logins == 1
    assert standing_fault(runtime.engine()) is not None  # the timers hold from now on
    monkeypatch.setenv("ARSHJUL_SMTP_PASSWORD", "hemligt")
    get_settings.cache_clear()
    assert service.check_mail_login(get_settings()) is None and standing_fault(runtime.engine()) is None
    assert list((wrong_password_installation.folder).glob("*.eml")) == []  # the check sends nothing


def test_a_standing_refusal_is_reported_when_nothing_is_due(cycle, small_definition, tmp_path):
    """The mail flow keeps saying it while nothing is due; a person asking gets a real answer."""
    open_regionplan(cycle, small_definition)
    with Relay(tmp_path / "mail", tmp_path) as relay:
        send(cycle, small_definition, relay.smtp("fel"))
        with session_scope(cycle) as session:
            session.exec(update(OutboxMessage).values(next_attempt_at=OPENING + dt.timedelta(days=30)))
        quiet = send(cycle, small_definition, relay.smtp("fel"))
        assert quiet.fault_held and "nekar inloggningen" in quiet.configuration_error and relay.logins == 1
        asked = send(cycle, small_definition, relay.smtp("fel"), retry_refused_now=True)
        assert "nekar inloggningen" in asked.configuration_error and relay.logins == 2
        fixed = send(cycle, small_definition, relay.smtp("hemligt"), retry_refused_now=True)
        assert fixed.fault_cleared and fixed.configuration_error is None and relay.logins == 3
    assert list((tmp_path / "mail").glob("*.eml")) == []


def test_the_artifact_does_not_say_all_went_out_while_the_relay_refuses():
    from models.tables import SmtpFault
    from tasks.artifacts import failed_mail_markdown

    now = dt.datetime(2027, 1, 4, 7, tzinfo=UTC)
    fault = SmtpFault(
        configuration="x", message="E-postservern nekar inloggningen", since=now, last_attempt_at=now, retry_at=now
    )
    text = failed_mail_markdown([], fault)
    assert "E-postservern nekar konfigurationen: inget skickas" in text
    assert "Alla meddelanden har gått fram" not in text and "väntar i utkorgen" in text
    assert "Alla meddelanden har gått fram" in failed_mail_markdown([], None)
