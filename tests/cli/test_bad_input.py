"""Bad input of every kind, table-driven: each case exits with code 2 and a Swedish
message, writes nothing to the app database and shows no traceback. The cases cover the
tester's list in issue 12 (the 17 tracebacks and the absurd values) and the settings each
command reads."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import SQLModel
from typer.testing import CliRunner

from arshjul.cli import app
from arshjul.core import runtime
from arshjul.core.database import dispose_engines, session_scope
from arshjul.core.settings import get_settings
from models.cycles import store_cycle
from tests.conftest import SMALL_ORG
from tests.prefect_support import app_environment

ROOT = Path(__file__).resolve().parents[2]
HUGE = "99999999999999999999"
LONG = "x" * 100_000  # a 100 kB paste
OWNER = "erik.ekonom@example.se"  # owns the region's steps in the small organisation

# Each: the arguments, and words the Swedish message must contain.
ARGUMENT_CASES = [
    (["wheel", "2027", "--out", "/saknas/hjul.svg"], "mappen /saknas finns inte"),
    (["plan", "2027", "-o", "/saknas/plan.json", "--format", "json"], "mappen /saknas finns inte"),
    (["plan", "2027", "-o", "/saknas/plan.txt"], "mappen /saknas finns inte"),
    (["audit", "export", "-o", "/saknas/audit.csv"], "mappen /saknas finns inte"),
    (["audit", "export", "-o", "/etc/hostname/audit.csv"], "/etc/hostname är ingen mapp"),
    (["audit", "export", "-o", "audit.pdf"], "skriv till en .csv- eller .jsonl-fil"),
    (["audit", "history", "2027", "-o", "/saknas/historik.html"], "mappen /saknas finns inte"),
    (["plan", HUGE], "orimligt planår"),
    (["plan", "1"], "orimligt planår"),
    (["wheel", "2027", "--out", "hjul.svg", "--today", "9999-12-31"], "orimligt datum"),
    (["cycle", "status", HUGE], "orimligt planår"),
    (["steps", "list", "--year", HUGE], "orimligt planår"),
    (["steps", "show", HUGE], "ogiltigt steg-id"),
    (["steps", "show", "0"], "ogiltigt steg-id"),
    (["steps", "submit", HUGE, "--as", OWNER], "ogiltigt steg-id"),
    (["steps", "approve", HUGE, "--as", OWNER], "ogiltigt steg-id"),
    (["steps", "return", HUGE, "--as", OWNER, "--comment", "x"], "ogiltigt steg-id"),
    (["steps", "move-deadline", HUGE, "--by", "1", "--reason", "x", "--as", OWNER], "ogiltigt steg-id"),
    (["steps", "move-deadline", "1", "--by", HUGE, "--reason", "x", "--as", OWNER], "för långt"),
    (["steps", "move-deadline", "1", "--by", "-99999999", "--reason", "x", "--as", OWNER], "för långt"),
    (["steps", "move-deadline", "1", "--to", "9999-12-31", "--reason", "x", "--as", OWNER], "orimligt datum"),
    (["steps", "move-deadline", "1", "--to", "0001-01-01", "--reason", "x", "--as", OWNER], "orimligt datum"),
    (["steps", "move-deadline", "1", "--to", "2099-06-16", "--reason", "x", "--as", OWNER], "orimligt långt fram"),
    (["steps", "move-deadline", "1", "--by", "2", "--reason", LONG, "--as", OWNER], "skälet är för långt"),
    (["steps", "move-deadline", "--step", "regionplan", "--year", HUGE, "--by", "1", "--reason", "x"], "planår"),
    (["steps", "submit", "1", "--as", OWNER, "--comment", LONG], "kommentaren är för lång"),
    (["steps", "submit", "1", "--as", "a" * 10_000, "--comment", "x"], "e-postadressen är för lång"),
    (["steps", "submit", "1", "--as", OWNER, "--diarienummer", "R" * 5000], "för lång"),
    (["steps", "cancel", HUGE, "--reason", "x", "--as", OWNER], "ogiltigt steg-id"),
    (["steps", "reassign", HUGE, "--to", OWNER, "--reason", "x", "--as", OWNER], "ogiltigt steg-id"),
    (["mail", "resend", HUGE], "ogiltigt id"),
    (["mail", "log", "--step", HUGE], "ogiltigt steg-id"),
    (["mail", "log", "--year", HUGE], "orimligt planår"),
    (["mail", "stats", "--year", HUGE], "orimligt planår"),
    (["people", "absent", OWNER, "--from", "0001-01-01", "--to", "9999-12-31"], "orimligt datum"),
    (["people", "absent", OWNER, "--from", "2027-01-01", "--to", "9999-12-31"], "orimligt datum"),
    (["people", "absent", OWNER, "--from", "2027-13-01", "--to", "2027-12-31"], "ogiltigt datum"),
    (["people", "absent", OWNER, "--from", "2027-01-01", "--to", "2027-01-02", "--note", LONG], "för lång"),
    (["simulate", "2027", "--until", "9999-01-01"], "orimligt datum"),
    (["simulate", "2027", "--late-share", "nan"], "--late-share"),
    (["simulate", HUGE], "orimligt planår"),
    # Click's own usage errors, in Swedish too.
    (["steps", "show", "-5"], "okänt alternativ -5"),
    (["steps", "show", "abc"], "ogiltigt värde för 'ID': måste vara ett heltal"),
    (["mail", "send", "--workers", "0"], "ogiltigt värde för '--workers': måste vara minst 1"),
    (["mail", "send", "--workers", "99"], "får vara högst 16"),
    (["simulate", "2027", "--late-share", "abc"], "'--late-share': måste vara ett tal"),
    (["wheel", "2027"], "'--out' saknas"),
    (["plan", "2027", "extra"], "för många argument (extra)"),
    (["plan", "2027", "--format"], "--format behöver ett värde"),
    (["plan", "2027", "--formt", "json"], "okänt alternativ --formt (menade du --format"),
    (["inget-kommando"], "okänt kommando 'inget-kommando'"),
    (["step", "show", "1"], "okänt kommando 'step' (menade du 'steps'?)"),
]

# Each: the environment, and words the Swedish message must contain (the variable's name).
SETTING_CASES = [
    ({"ARSHJUL_SMTP_PORT": "-1"}, "ARSHJUL_SMTP_PORT = '-1': måste vara minst 1"),
    ({"ARSHJUL_SMTP_PORT": "70000"}, "ARSHJUL_SMTP_PORT = '70000': får vara högst 65535"),
    ({"ARSHJUL_SINK_PORT": "0"}, "ARSHJUL_SINK_PORT"),
    ({"ARSHJUL_WEB_PORT": "70000"}, "ARSHJUL_WEB_PORT"),
    ({"ARSHJUL_SMTP_TIMEOUT": "-1"}, "ARSHJUL_SMTP_TIMEOUT = '-1': måste vara större än 0"),
    ({"ARSHJUL_SMTP_TIMEOUT": "inf"}, "ARSHJUL_SMTP_TIMEOUT = 'inf': måste vara ett ändligt tal"),
    ({"ARSHJUL_SMTP_TIMEOUT": "nan"}, "ARSHJUL_SMTP_TIMEOUT = 'nan': måste vara ett ändligt tal"),
    ({"ARSHJUL_MAIL_RETRY_BASE_SECONDS": "nan"}, "ARSHJUL_MAIL_RETRY_BASE_SECONDS"),
    ({"ARSHJUL_MAIL_CLAIM_SECONDS": "inf"}, "ARSHJUL_MAIL_CLAIM_SECONDS"),
    ({"ARSHJUL_MAIL_CLAIM_SECONDS": "60"}, "minst fyra gånger ARSHJUL_SMTP_TIMEOUT"),
    ({"ARSHJUL_MAIL_MAX_ATTEMPTS": "-1"}, "ARSHJUL_MAIL_MAX_ATTEMPTS = '-1': måste vara minst 1"),
    ({"ARSHJUL_MAIL_MAX_ATTEMPTS": "0"}, "ARSHJUL_MAIL_MAX_ATTEMPTS"),
    ({"ARSHJUL_MAIL_FAULT_RETRY_MINUTES": "nan"}, "ARSHJUL_MAIL_FAULT_RETRY_MINUTES"),
    ({"ARSHJUL_MAIL_CONNECTIONS": "0"}, "ARSHJUL_MAIL_CONNECTIONS"),
    ({"ARSHJUL_SMTP_TLS": "true", "ARSHJUL_SMTP_SSL": "true"}, "ARSHJUL_SMTP_TLS och ARSHJUL_SMTP_SSL"),
    ({"ARSHJUL_UI_URL": "javascript:alert(1)"}, "ARSHJUL_UI_URL = 'javascript:alert(1)': måste vara en webbadress"),
    ({"ARSHJUL_UI_URL": "127.0.0.1:4200"}, "ARSHJUL_UI_URL"),
    ({"ARSHJUL_PUBLIC_URL": "javascript://%0aalert(1)"}, "ARSHJUL_PUBLIC_URL"),
    ({"ARSHJUL_PUBLIC_URL": "ftp://arshjul.region.se"}, "ARSHJUL_PUBLIC_URL"),
    ({"ARSHJUL_MAIL_FROM": "inte en adress"}, "ARSHJUL_MAIL_FROM = 'inte en adress': måste vara en e-postadress"),
    ({"ARSHJUL_MAIL_FROM": "a@b.se\r\nBcc: alla@example.se"}, "ARSHJUL_MAIL_FROM"),
    ({"ARSHJUL_DATABASE_URL": "mysql://arshjul@db/arshjul"}, "databastypen 'mysql' stöds inte"),
    ({"ARSHJUL_DATABASE_URL": "inte en adress"}, "ogiltig databasadress"),
    ({"ARSHJUL_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432"}, "saknar databasens namn"),
    ({"ARSHJUL_HOME": "/proc/arshjul"}, "ARSHJUL_HOME = '/proc/arshjul': mappen /proc går inte att skriva i"),
    ({"ARSHJUL_HOME": "/etc/hostname/var"}, "/etc/hostname är ingen mapp"),
    ({"ARSHJUL_LINK_DAYS": "0"}, "ARSHJUL_LINK_DAYS"),
]


def database_digest() -> str:
    """Every row of every table of the app database."""
    digest = hashlib.sha256()
    with session_scope(runtime.engine()) as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in session.execute(select(table)).all():
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def installation(tmp_path_factory):
    """The small organisation's cycle 2027 in an app database under a temporary folder."""
    home = tmp_path_factory.mktemp("app")
    with app_environment(home, SMALL_ORG):
        with session_scope(runtime.engine()) as session:
            store_cycle(runtime.definition(), 2027, session=session, now=dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC))
        yield home


def refused_without_trace(result, words: str) -> None:
    output = result.output
    assert result.exit_code == 2, output
    assert words in output, output
    assert "Traceback" not in output
    assert not any(english in output for english in ("Did you mean", "Error:", "Usage:", "Try '")), output
    # An exception other than the exit itself would be a traceback in a terminal.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Fel:" in output or "fel i" in output


@pytest.mark.parametrize(
    "args, words", ARGUMENT_CASES, ids=[" ".join(a)[:60].replace(HUGE, "HUGE") for a, _ in ARGUMENT_CASES]
)
def test_a_bad_argument_is_refused_in_swedish_and_writes_nothing(installation, args, words, monkeypatch):
    monkeypatch.chdir(installation)
    before = database_digest()
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    refused_without_trace(result, words)
    assert database_digest() == before


@pytest.mark.parametrize(
    "env, words", SETTING_CASES, ids=[",".join(env) + "=" + "/".join(env.values())[:30] for env, _ in SETTING_CASES]
)
def test_a_bad_setting_is_refused_in_swedish_naming_the_variable(installation, env, words, monkeypatch, capsys):
    from arshjul.cli.common import _settings_or_exit

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exit_:
            _settings_or_exit()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "felaktiga inställningar" in err
    assert words in " ".join(err.split()), err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "url, words",
    [
        ("postgresql://postgres@127.0.0.1:1/arshjul", "går inte att nå"),
        ("postgresql://postgres@127.0.0.1:5432/arshjul_finns_inte_12", 'database "arshjul_finns_inte_12"'),
        ("sqlite:////proc/arshjul/app.db", "går inte att nå"),
    ],
    ids=["nobody-listens", "no-such-database", "unwritable-sqlite"],
)
def test_an_unreachable_database_is_a_swedish_message(installation, url, words, monkeypatch):
    monkeypatch.setenv("ARSHJUL_DATABASE_URL", url)
    get_settings.cache_clear()
    dispose_engines()
    try:
        result = CliRunner().invoke(app, ["mail", "failed"], env={"COLUMNS": "300"})
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        dispose_engines()
    refused_without_trace(result, words)
    assert "ARSHJUL_DATABASE_URL" in result.output


def test_a_yaml_alias_bomb_is_a_located_error_in_seconds(tmp_path):
    folder = tmp_path / "org"
    shutil.copytree(SMALL_ORG, folder)
    names = "abcdefghij"
    lines = ["bomba: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"bomb{c}: &{c} [{', '.join(['*' + names[i]] * 9)}]" for i, c in enumerate(names[1:])]
    bomb = "\n".join(lines) + "\n"
    assert len(bomb) < 1100  # 9**10 values expanded
    with (folder / "organisation.yaml").open("a", encoding="utf-8") as handle:
        handle.write(bomb)
    result = CliRunner().invoke(app, ["validate", str(folder)], env={"COLUMNS": "300"})
    refused_without_trace(result, "för många värden")
    assert "organisation.yaml:" in result.output


def test_a_50_mb_file_is_refused_by_its_size(tmp_path):
    folder = tmp_path / "org"
    shutil.copytree(SMALL_ORG, folder)
    with (folder / "arshjul.yaml").open("r+b") as handle:
        handle.truncate(50_000_000)  # sparse: costs no disk, only its size is read
    result = CliRunner().invoke(app, ["validate", str(folder)], env={"COLUMNS": "300"})
    refused_without_trace(result, "filen är för stor (50.0 MB)")


def test_the_real_command_names_every_bad_setting_without_a_traceback(tmp_path):
    """The entry point itself, in a process of its own: the settings are read at import."""
    env = {
        **os.environ,
        "ARSHJUL_HOME": str(tmp_path / "var"),
        "ARSHJUL_UI_URL": "javascript:alert(1)",
        "ARSHJUL_SMTP_PORT": "70000",
        "ARSHJUL_SMTP_TIMEOUT": "nan",
        "ARSHJUL_MAIL_FROM": "ingen adress",
    }
    result = subprocess.run(
        [sys.executable, "-m", "arshjul", "steps", "list"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    for name in ("ARSHJUL_UI_URL", "ARSHJUL_SMTP_PORT", "ARSHJUL_SMTP_TIMEOUT", "ARSHJUL_MAIL_FROM"):
        assert name in result.stderr
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize(
    "period, words",
    [
        ("{from: 0001-01-01, to: 9999-12-31}", "orimlig frånvaro 0001-01-01–9999-12-31"),
        ("{from: 2027-01-01, to: 2035-01-01}", "orimligt lång frånvaro"),
    ],
    ids=["year-1-to-9999", "eight-years"],
)
def test_an_absurd_absence_in_the_organisation_file_is_a_located_error(tmp_path, period, words):
    folder = tmp_path / "org"
    shutil.copytree(SMALL_ORG, folder)
    path = folder / "organisation.yaml"
    text = path.read_text(encoding="utf-8")
    person = "standin: erik.ekonom}"
    assert person in text
    path.write_text(text.replace(person, f"standin: erik.ekonom, absent: [{period}]}}", 1), encoding="utf-8")
    line = text[: text.index(person)].count("\n") + 1
    result = CliRunner().invoke(app, ["validate", str(folder)], env={"COLUMNS": "300"})
    refused_without_trace(result, words)
    assert f"organisation.yaml:{line}" in result.output


def test_a_served_run_or_a_worker_fails_with_the_swedish_message(monkeypatch):
    """Outside the CLI (a served run, a worker) the settings fail the same way, in Swedish."""
    from arshjul.core.settings import SettingsError

    monkeypatch.setenv("ARSHJUL_SMTP_PORT", "70000")
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError, match="felaktiga inställningar: ARSHJUL_SMTP_PORT = '70000': får vara högst"):
            get_settings()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


@pytest.mark.parametrize(
    "url",
    ["mysql://arshjul:hemligt@123@db/arshjul", "postgresql://arshjul:hemligt@123@db"],
    ids=["unknown-backend", "no-database-name"],
)
def test_a_bad_database_url_is_named_without_its_password(installation, url, monkeypatch, capsys):
    from arshjul.cli.common import _settings_or_exit

    monkeypatch.setenv("ARSHJUL_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit):
            _settings_or_exit()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    err = " ".join(capsys.readouterr().err.split())
    assert "ARSHJUL_DATABASE_URL = '" in err and "arshjul:***@" in err, err
    assert "hemligt" not in err and "123" not in err, err


@pytest.mark.parametrize(
    "env, args, words",
    [
        ({"ARSHJUL_CHECKPOINT_KEY": "/proc/nyckel/k.pem"}, ["audit", "keygen"], "kontrollera ARSHJUL_CHECKPOINT_KEY"),
        ({"ARSHJUL_CHECKPOINT_DIR": "/proc/kp"}, ["audit", "checkpoint"], "kontrollera ARSHJUL_CHECKPOINT_DIR"),
    ],
    ids=["keygen", "checkpoint"],
)
def test_an_unwritable_checkpoint_place_is_a_swedish_message(installation, env, args, words, monkeypatch):
    monkeypatch.chdir(installation)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    refused_without_trace(result, words)
