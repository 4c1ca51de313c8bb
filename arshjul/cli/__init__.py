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
    followup,
    mail,
    people,
    plan,
    report,
    serve,
    steps,
    web,
)
from arshjul.cli.swedish_help import install as install_swedish_help
from arshjul.cli.usage_errors import SwedishGroup


def create_app() -> typer.Typer:
    install_swedish_help()
    app = typer.Typer(
        help="Årshjulet: regionens planerings- och uppföljningscykel som Prefect-flöden.",
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        cls=SwedishGroup,
    )
    for noun in (plan, serve, web, mail, people, audit, cycle, steps, followup, report):
        noun.register(app)
    return app


app = create_app()
