"""Typer's own words in `--help` (Usage, Arguments, Options, required, the type names, the
help option's text) in Swedish, like everything else the `arshjul` command says. Typer carries its own
click and words these with gettext or as literals; `install` replaces them once, here
only. `tests/cli/test_swedish_help.py` fails clearly if a Typer release moves them."""

from __future__ import annotations

from typing import Any

import typer.core
import typer.rich_utils
from typer._click import core as click_core
from typer._click import formatting

WORDS = {
    "Arguments": "Argument",
    "Options": "Alternativ",
    "Commands": "Kommandon",
    "required": "krävs",
    "[required]": "[krävs]",
    "default: {default}": "standard: {default}",
    "env var: {var}": "miljövariabel: {var}",
    "(dynamic)": "(beräknas)",
    "Aborted!": "Avbrutet.",
}
HELP_OPTION = "Visa den här hjälpen och avsluta."
USAGE = "Användning: "
METAVARS = {"[OPTIONS]": "[ALTERNATIV]", "COMMAND [ARGS]...": "KOMMANDO [ARGUMENT]..."}
TYPES = {"int": "heltal", "float": "tal", "str": "text", "path": "sökväg", "bool": "ja/nej", "datetime": "tid"}


def swedish(message: str) -> str:
    return WORDS.get(message, message)


class SwedishHelpFormatter(formatting.HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        for english, words in METAVARS.items():
            args = args.replace(english, words)
        super().write_usage(prog, args, USAGE if prefix is None else prefix)


_original_help_option = click_core.Command.get_help_option


def _swedish_help_option(self: Any, ctx: Any) -> Any:
    option = _original_help_option(self, ctx)
    if option is not None:
        option.help = HELP_OPTION
    return option


_original_display_type = typer.core._TyperParameter.display_type


def _swedish_display_type(self: Any, ctx: Any) -> str:
    label = _original_display_type(self, ctx)
    inner = label.removeprefix("<").removesuffix(">")
    return f"<{TYPES[inner]}>" if inner in TYPES else label


def install() -> None:
    typer.core._ = swedish  # type: ignore[attr-defined]
    typer.rich_utils._ = swedish  # type: ignore[attr-defined]
    click_core.Context.formatter_class = SwedishHelpFormatter
    click_core.Command.get_help_option = _swedish_help_option  # type: ignore[method-assign]
    typer.core._TyperParameter.display_type = _swedish_display_type  # type: ignore[method-assign]
