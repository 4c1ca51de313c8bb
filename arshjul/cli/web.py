"""`arshjul web`: the web app for people alone (production, behind the region's reverse
proxy); `arshjul serve` starts it beside the Prefect UI."""

from __future__ import annotations

import typer

from arshjul.cli.common import OrgOption, console, database, export_settings, fail, load
from arshjul.core.settings import get_settings


def check_link_keys() -> None:
    from arshjul.core.links import LinkConfigError, link_keys

    try:
        link_keys(get_settings())
    except LinkConfigError as exc:
        fail(str(exc))


def web(org: OrgOption = None) -> None:
    """Starta webbappen för chefer (länkarna i mejlen) och regionstabens årsöversikt."""
    definition = load(org)
    export_settings(org)
    database()
    check_link_keys()
    settings = get_settings()
    from arshjul.web.server import serve_web

    console.print(
        f"Årshjulets webbapp för {definition.organisation.info.name} på http://{settings.web_host}:{settings.web_port}"
        f" (länkar i mejlen: {settings.resolved_public_url})"
        + (f", {settings.web_workers} processer" if settings.web_workers > 1 else "")
        + ". Ctrl-C stoppar.",
        highlight=False,
    )
    serve_web(settings)


def register(app: typer.Typer) -> None:
    app.command()(web)
