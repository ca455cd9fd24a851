"""The `groundup` command: one Typer app, errors turned into one readable line."""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console

from groundup.cli.files import InputError
from groundup.knowledge import KnowledgeError

EXIT_INPUT = 2  # the input could not be used
EXIT_REFER = 3  # the safety screen refers: no program

app = typer.Typer(
    name="groundup",
    help=(
        "Stepwise strengthening for the lower-leg muscle imbalances behind chronic foot, "
        "ankle, shin and knee pain."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)


def fail(message: str, code: int = EXIT_INPUT) -> typer.Exit:
    """Print one line to stderr and return the Exit to raise."""
    err.print(f"groundup: {message}", markup=False, soft_wrap=True)
    return typer.Exit(code)


def run() -> None:
    """Entry point of the console script."""
    from groundup.cli import (  # noqa: F401  (registers the commands)
        calendar_commands,
        clinic_commands,
        commands,
        document_commands,
        guided,
        own_commands,
        person_commands,
        program_commands,
        reminder_commands,
        serve_commands,
    )
    from groundup.services import ServiceError

    try:
        app()
    except (InputError, KnowledgeError, ServiceError) as exc:
        err.print(f"groundup: {exc}", markup=False, soft_wrap=True)
        sys.exit(EXIT_INPUT)
    except KeyboardInterrupt:
        err.print("groundup: interrupted; nothing more was done.")
        sys.exit(130)
    except Exception as exc:  # a bug: still one line for the person, details on request
        if os.environ.get("GROUNDUP_DEBUG"):
            raise
        err.print(
            f"groundup: unexpected error ({type(exc).__name__}: {exc}); "
            "run again with GROUNDUP_DEBUG=1 for details",
            markup=False,
            soft_wrap=True,
        )
        sys.exit(1)
