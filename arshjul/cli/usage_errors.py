"""Click's own usage errors (an unknown option, a value that is not a number, a missing
argument) in Swedish, like every other message of the `arshjul` command: the root
command's `main` catches them, says what was wrong and where to read more, exit code 2."""

from __future__ import annotations

import re
import sys

import typer
from typer._click import exceptions as click  # Typer 0.29 carries its own click: these are its exceptions
from typer.core import TyperGroup

from arshjul.cli.common import errors

# What click and Typer say about a bad value, and the Swedish for it.
_REASONS = [
    (re.compile(r"valid integer|is not a valid integer"), lambda m: "måste vara ett heltal"),
    (re.compile(r"valid number|is not a valid float"), lambda m: "måste vara ett tal"),
    (re.compile(r"greater than or equal to (\S+?)\.?$"), lambda m: f"måste vara minst {m.group(1)}"),
    (re.compile(r"greater than (\S+?)\.?$"), lambda m: f"måste vara större än {m.group(1)}"),
    (re.compile(r"less than or equal to (\S+?)\.?$"), lambda m: f"får vara högst {m.group(1)}"),
    (re.compile(r"less than (\S+?)\.?$"), lambda m: f"måste vara mindre än {m.group(1)}"),
    (re.compile(r"not in the range (\S+)"), lambda m: f"ligger utanför {m.group(1)}"),
    (re.compile(r"valid boolean"), lambda m: "måste vara true eller false"),
    (re.compile(r"is not one of|should be '"), lambda m: "är inget av de tillåtna värdena (se --help)"),
    (re.compile(r"does not exist"), lambda m: "finns inte"),
]


def _hint(exc: click.ClickException) -> str:
    hint = getattr(exc, "param_hint", None)
    if isinstance(hint, (list, tuple)):
        hint = " / ".join(hint)
    param = getattr(exc, "param", None)
    if not hint and param is not None:
        hint = param.get_error_hint()
    return str(hint or "ett värde")


def _reason(message: str) -> str:
    for pattern, words in _REASONS:
        match = pattern.search(message)
        if match:
            return words(match)
    return "ogiltigt värde"


def swedish_usage_error(exc: click.UsageError) -> str:
    """The Swedish of one usage error, without the value's English explanation."""
    if isinstance(exc, click.NoSuchOption):
        close = f" (menade du {' eller '.join(exc.possibilities)}?)" if exc.possibilities else ""
        return f"okänt alternativ {exc.option_name}{close}"
    if isinstance(exc, click.MissingParameter):
        return f"{_hint(exc)} saknas"
    if isinstance(exc, click.BadParameter):
        return f"ogiltigt värde för {_hint(exc)}: {_reason(exc.message)}"
    if isinstance(exc, click.BadOptionUsage):
        if "requires an argument" in exc.message:
            return f"{exc.option_name} behöver ett värde"
        return f"fel användning av {exc.option_name}: {_reason(exc.message)}"
    message = exc.message
    if match := re.match(r"No such command '([^']*)'", message):
        close = re.search(r"Did you mean '([^']*)'", message)
        return f"okänt kommando '{match.group(1)[:40]}'" + (f" (menade du '{close.group(1)}'?)" if close else "")
    if match := re.match(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)", message):
        return f"för många argument ({match.group(1)[:80]})"
    return "felaktigt kommando"


class SwedishGroup(TyperGroup):
    """The root command: click's usage errors in Swedish (exit code 2)."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):  # type: ignore[override]
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
        except click.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx else "arshjul"
            errors.print(
                f"[red]Fel:[/red] {swedish_usage_error(exc)}. Se `{command} --help`.", highlight=False, soft_wrap=True
            )
            sys.exit(2)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except typer.Abort:
            errors.print("Avbrutet.", highlight=False)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)
