"""Command-line usage errors in Swedish, like every other message of `arshjul`.

Typer's parser (its bundled click) words its errors in English and offers no
translation catalogue, so the command group runs the parser in non-standalone mode and
words what it raises itself: a bad option or argument is a Swedish line, a hint where
the help is, and exit code 2."""

from __future__ import annotations

import re
import sys
from typing import Any

from typer import Abort, Exit
from typer.core import TyperGroup

from models.swedish_cli import swedish_usage_error

_USAGE_WORDS = [
    (r"^Usage:", "Användning:"),
    (r"\[OPTIONS\]", "[FLAGGOR]"),
    (r"COMMAND \[ARGS\]\.\.\.", "KOMMANDO [ARGUMENT]..."),
]


class SwedishGroup(TyperGroup):
    """The `arshjul` group: usage errors worded in Swedish, exit code 2."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
        except Abort:
            print("Avbrutet.", file=sys.stderr)
            sys.exit(1)
        except Exit as exc:
            sys.exit(exc.exit_code)
        except Exception as exc:
            if not hasattr(exc, "format_message") or not hasattr(exc, "exit_code"):
                raise
            context = getattr(exc, "ctx", None)
            print(f"Fel: {swedish_usage_error(exc.format_message())}", file=sys.stderr)
            if context is not None:
                usage = context.get_usage()
                for english, swedish in _USAGE_WORDS:
                    usage = re.sub(english, swedish, usage)
                print(f"{usage}\nSe '{context.command_path} --help' för hjälp.", file=sys.stderr)
            sys.exit(exc.exit_code)
        sys.exit(result if isinstance(result, int) else 0)
