"""The `arshjul` command: a thin wrapper over functions the tests call directly, one
module per noun, each registering its own commands.

Messages for users are Swedish. Bad input exits with code 2 and writes nothing.
"""

from __future__ import annotations

import typer

from arshjul.cli import (
    audit,
    common,  # noqa: F401  (first: it configures Prefect before anything imports it)
    cycle,
    mail,
    people,
    plan,
    serve,
    steps,
    web,
)
from arshjul.cli.usage_errors import SwedishGroup


def create_app() -> typer.Typer:
    app = typer.Typer(
        cls=SwedishGroup,
        help="Årshjulet: regionens planerings- och uppföljningscykel som Prefect-flöden.",
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
    )
    for noun in (plan, serve, web, mail, people, audit, cycle, steps):
        noun.register(app)
    return app


app = create_app()
