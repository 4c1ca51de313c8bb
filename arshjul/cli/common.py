"""What every `arshjul` command shares: the consoles, the settings, loading the
organisation and the app database, and failing with a Swedish message and exit code 2.

Importing this module configures Prefect's environment (the embedded server, PREFECT_HOME
under ./var), so it must be imported before anything imports Prefect."""

from __future__ import annotations

import datetime as dt
import getpass
import os
import socket
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlmodel import Session

from arshjul.core.database import get_engine, migrate
from arshjul.core.settings import Settings, SettingsError, get_settings
from arshjul.service import api_healthy, configure_prefect_environment
from models.definition import Definition, DefinitionError
from models.queries import find_cycle
from models.tables import Cycle, Mode
from models.validation import load_definition

console = Console()
errors = Console(stderr=True)


def _settings_or_exit() -> Settings:
    """The settings, or a Swedish message naming each bad ARSHJUL_* value and exit code 2
    (not a traceback: this runs before any command)."""
    try:
        return get_settings()
    except SettingsError as exc:
        errors.print(
            "[red]Fel:[/red] felaktiga inställningar:\n  " + "\n  ".join(exc.problems), highlight=False, soft_wrap=True
        )
        raise SystemExit(2) from None


# Before anything imports Prefect: the embedded server and PREFECT_HOME under ./var.
EMBEDDED_PREFECT = configure_prefect_environment(_settings_or_exit())

OrgOption = Annotated[
    Path | None, typer.Option("--org", help="Organisationens mapp (standard: ARSHJUL_ORG eller regionens mapp).")
]
SimulationOption = Annotated[bool, typer.Option("--simulation", help="Simuleringens cykel i stället för den skarpa.")]


def fail(message: str, code: int = 2) -> NoReturn:
    errors.print(f"[red]Fel:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def print_issues(heading: str, issues) -> NoReturn:
    """A located list of problems (a folder's, a cycle's) and exit code 2."""
    errors.print(f"[red]{heading}[/red]", highlight=False)
    for issue in issues:
        errors.print(f"  {issue}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(2)


def load(org: Path | None, *, check_cycles: bool = True) -> Definition:
    """The organisation's folder, validated; its calendar feeds fetched (or their last
    good copies used, with a warning each)."""
    from arshjul.core.calendar_feeds import feed_cache

    folder = org or get_settings().org
    feeds = feed_cache()
    try:
        definition = load_definition(folder, check_cycles=check_cycles, feeds=feeds)
    except DefinitionError as exc:
        print_feed_warnings(feeds.warnings)
        print_issues(f"{len(exc.issues)} fel i {folder}:", exc.issues)
    print_feed_warnings(feeds.warnings)
    return definition


def print_feed_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        errors.print(f"[yellow]Varning:[/yellow] {escape(warning)}", highlight=False, soft_wrap=True)


def database() -> Engine:
    """The app database, migrated (migrations run on every start); a database that does
    not answer is a Swedish message and exit code 2, not a traceback."""
    from sqlalchemy.exc import DBAPIError

    try:
        engine = get_engine()
        migrate(engine)
    except (DBAPIError, OSError) as exc:
        url = get_settings().resolved_database_url
        shown = make_url(url).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        fail(f"appens databas {shown} går inte att nå ({reason}): kontrollera ARSHJUL_DATABASE_URL")
    return engine


def today_in(definition: Definition) -> dt.date:
    return definition.organisation.calendar.local_date(dt.datetime.now(dt.UTC))


def parse_date(value: str, option: str, *, earliest: dt.date | None = None, latest: dt.date | None = None) -> dt.date:
    """A date typed as ÅÅÅÅ-MM-DD, within [earliest, latest] when given, else within
    the years any cycle can use (2000–2100)."""
    try:
        day = dt.date.fromisoformat(value)
    except (ValueError, TypeError):
        fail(f"ogiltigt datum '{value[:40]}' för {option} (skriv ÅÅÅÅ-MM-DD)")
    earliest = earliest or dt.date(2000, 1, 1)
    latest = latest or dt.date(2100, 12, 31)
    if not earliest <= day <= latest:
        fail(f"orimligt datum {day} för {option}: det måste ligga mellan {earliest} och {latest}")
    return day


# Ids are the database's integers: PostgreSQL's INTEGER is the smaller of the two backends'.
MAX_ID = 2**31 - 1


def check_ids(ids, what: str = "id") -> None:
    for value in ids:
        if not 1 <= value <= MAX_ID:
            fail(f"ogiltigt {what} {str(value)[:30]}: ett id är ett heltal från 1 till {MAX_ID}")


def output_file(path: Path, option: str) -> Path:
    """A file the command may write: its folder exists and is writable, and it is not a
    folder itself. Checked before anything is computed, so nothing is half-written."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        fail(f"{path} är en mapp; ange en fil för {option}")
    if folder.exists() and not folder.is_dir():
        fail(f"{folder} är ingen mapp; ange en annan fil för {option}")
    if not folder.is_dir():
        fail(f"mappen {folder} finns inte; skapa den eller ange en annan fil för {option}")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        fail(f"{path} går inte att skriva (behörighet); ange en annan fil för {option}")
    return path


def check_year(year: int) -> None:
    if not 2000 <= year <= 2100:
        fail(f"orimligt planår {str(year)[:30]}: ett planår ligger mellan 2000 och 2100")


def parse_years(value: str, option: str = "år") -> list[int]:
    """`2027`, `2027..2030` or `2027,2029`: the plan years named, each checked."""
    years: list[int] = []
    for part in value.split(","):
        first, dots, last = part.strip().partition("..")
        try:
            start, end = int(first), int(last) if dots else int(first)
        except ValueError:
            fail(
                f"ogiltigt {option} '{value}': skriv ett år (2027), ett intervall (2027..2030) "
                "eller en lista (2027,2029)"
            )
        if end < start:
            fail(f"ogiltigt {option} '{value}': intervallet slutar före det börjar")
        for year in (start, end):
            check_year(year)
        if end - start > 10:
            fail(f"ogiltigt {option} '{value}': högst tio år i taget")
        years.extend(year for year in range(start, end + 1) if year not in years)
    return years


def require_prefect() -> None:
    """Commands that create or resume runs need a Prefect server."""
    url = os.environ["PREFECT_API_URL"]
    if not api_healthy(url):
        hint = "starta `arshjul serve` i ett annat fönster" if EMBEDDED_PREFECT else "kontrollera PREFECT_API_URL"
        fail(f"ingen Prefect-server svarar på {url}: {hint}")


def export_settings(org: Path | None) -> None:
    """Served runs run in child processes: they must see the same settings."""
    settings = get_settings()
    os.environ["ARSHJUL_HOME"] = str(settings.home.resolve())
    os.environ["ARSHJUL_ORG"] = str((org or settings.org).resolve())
    if settings.database_url:
        os.environ["ARSHJUL_DATABASE_URL"] = settings.database_url
    settings.org = (org or settings.org).resolve()


def cli_origin(on_behalf_of: str | None = None, **more) -> dict:
    """Where a CLI action came from, for the audit: the OS user who ran the command on which
    host (whoever can run `arshjul` has the database, so `--as` is their claim)."""
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container without a passwd entry)
        os_user = str(os.getuid())
    origin = {"via": "cli", "os_user": os_user, "host": socket.gethostname()}
    if on_behalf_of is not None:
        origin["on_behalf_of"] = on_behalf_of
    return origin | more


def cycle_or_fail(session: Session, organisation: str, year: int, mode: Mode) -> Cycle:
    cycle = find_cycle(session=session, organisation=organisation, year=year, mode=mode)
    if cycle is None:
        simulation = mode is Mode.simulation
        command = "simulate" if simulation else "cycle start"
        fail(f"cykel {year} är inte startad{' i simuleringen' if simulation else ''}: kör `arshjul {command} {year}`")
    return cycle
