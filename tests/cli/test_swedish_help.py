"""`--help` speaks Swedish, Typer's own words included. If a Typer release moves the
words `arshjul/cli/swedish_help.py` replaces, these fail and name the English left."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from arshjul.cli import app

runner = CliRunner()
ENGLISH = ["Usage:", "Arguments:", "Options:", "Commands:", "[required]", "Show this message", "[OPTIONS]", "<int>"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["--help"], ["Användning: arshjul [ALTERNATIV] KOMMANDO [ARGUMENT]...", "Kommandon:"], id="root"),
        pytest.param(["steps", "--help"], ["Användning: arshjul steps [ALTERNATIV] KOMMANDO"], id="noun"),
        pytest.param(
            ["steps", "cancel", "--help"],
            ["Användning: arshjul steps cancel [ALTERNATIV]", "Argument:", "[krävs]", "ID <heltal>"],
            id="command",
        ),
        pytest.param(["steps", "list", "--help"], ["--year <heltal>", "--unit <text>"], id="types"),
    ],
)
def test_help_is_swedish(args, expected):
    result = runner.invoke(app, args, prog_name="arshjul", env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    for words in [*expected, "Alternativ:", "--help", "Visa den här hjälpen och avsluta."]:
        assert words in result.output, f"{words!r} missing from:\n{result.output}"
    left = [word for word in ENGLISH if word in result.output]
    assert not left, f"English left in `arshjul {' '.join(args)}`: {left}\n{result.output}"
