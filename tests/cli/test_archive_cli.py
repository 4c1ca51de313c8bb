"""`arshjul cycle archive` refuses a target it cannot write before it takes the archive's
checkpoint: a refused archive leaves nothing behind."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

import arshjul.cli.archive as archive_cli
from arshjul.cli import app
from tests.conftest import SMALL_ORG
from tests.prefect_support import app_environment


@pytest.fixture
def closed_cycle(tmp_path, monkeypatch):
    """A closed cycle as the history says, and every checkpoint the command takes."""
    taken: list[str] = []
    history = SimpleNamespace(cycle_events=[SimpleNamespace(action="cycle.closed")], organisation="small")
    with app_environment(tmp_path / "home", SMALL_ORG):
        built = (history, None, "Europe/Stockholm", None)
        monkeypatch.setattr(archive_cli, "build_cycle_history", lambda *args, **kwargs: built)
        monkeypatch.setattr(archive_cli, "write_checkpoint", lambda **kwargs: taken.append(kwargs["reason"]))
        yield tmp_path, taken


@pytest.mark.parametrize(
    "target, words",
    [("finns.zip", "finns redan"), ("/etc/hostname/arkiv.zip", "går inte att skriva"), ("/proc/arkiv", "går inte")],
    ids=["exists", "not-a-folder", "unwritable"],
)
def test_a_target_that_cannot_be_written_is_refused_before_the_checkpoint(closed_cycle, target, words):
    tmp_path, taken = closed_cycle
    (tmp_path / "finns.zip").write_bytes(b"")
    path = target if target.startswith("/") else str(tmp_path / target)
    result = CliRunner().invoke(app, ["cycle", "archive", "2027", "-o", path])
    assert result.exit_code == 2, result.output
    assert words in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert taken == []


def test_an_unwritable_checkpoint_folder_is_a_swedish_message(closed_cycle, monkeypatch):
    tmp_path, _taken = closed_cycle

    def refused(**kwargs):
        raise PermissionError(13, "Permission denied", "/srv/kontrollpunkter/kontrollpunkter.jsonl")

    monkeypatch.setattr(archive_cli, "write_checkpoint", refused)
    result = CliRunner().invoke(app, ["cycle", "archive", "2027", "-o", str(tmp_path / "arkiv.zip")])
    assert result.exit_code == 2, result.output
    assert "kontrollera ARSHJUL_CHECKPOINT_DIR" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert not (tmp_path / "arkiv.zip").exists()
