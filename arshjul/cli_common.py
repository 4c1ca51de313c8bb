"""What every `arshjul` command shares: the Typer app, the consoles, loading the
organisation and failing with a Swedish message and exit code 2."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from pydantic import ValidationError
from rich.console import Console

from arshjul.service import configure_prefect_environment
from arshjul.settings import get_settings
from models.definition import Definition, DefinitionError
from models.validation import load_definition


# pydantic's messages for the kinds of bad value a setting can have, in Swedish.
_SETTING_PROBLEMS = {
    "int_parsing": "måste vara ett heltal",
    "float_parsing": "måste vara ett tal",
    "bool_parsing": "måste vara true eller false",
    "greater_than_equal": "måste vara minst {ge}",
    "less_than_equal": "får vara högst {le}",
}


def _settings_or_exit():
    """The settings, or a Swedish message naming each bad ARSHJUL_* value and exit code 2
    (not a traceback: this runs before any command)."""
    try:
        return get_settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            swedish = _SETTING_PROBLEMS.get(error["type"])
            message = swedish.format(**error.get("ctx", {})) if swedish else error["msg"].removeprefix("Value error, ")
            name = "_".join(str(part) for part in error["loc"]).upper()
            problems.append(f"ARSHJUL_{name} = {error['input']!r}: {message}" if name else message)
        Console(stderr=True).print("[red]Fel:[/red] felaktiga inställningar:\n  " + "\n  ".join(problems), highlight=False, soft_wrap=True)
        raise SystemExit(2) from None


# Before anything imports Prefect: the embedded server and PREFECT_HOME under ./var.
EMBEDDED_PREFECT = configure_prefect_environment(_settings_or_exit())

app = typer.Typer(
    help="Årshjulet: regionens planerings- och uppföljningscykel som Prefect-flöden.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
console = Console()
errors = Console(stderr=True)

OrgOption = Annotated[Optional[Path], typer.Option("--org", help="Organisationens mapp (standard: ARSHJUL_ORG eller regionens mapp).")]


def fail(message: str, code: int = 2) -> NoReturn:
    errors.print(f"[red]Fel:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def load(org: Path | None) -> Definition:
    folder = org or get_settings().org
    try:
        return load_definition(folder)
    except DefinitionError as exc:
        errors.print(f"[red]{len(exc.issues)} fel i {folder}:[/red]", highlight=False)
        for issue in exc.issues:
            errors.print(f"  {issue}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None


def today_in(definition: Definition) -> dt.date:
    return definition.organisation.calendar.local_date(dt.datetime.now(dt.timezone.utc))


def parse_date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"ogiltigt datum '{value}' för {option} (skriv ÅÅÅÅ-MM-DD)")
