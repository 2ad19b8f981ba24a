"""Entry point of the ``fraudstack`` command.

Each command group lives in its own module (``fraudstack/cli/<group>.py``) and is
registered in :data:`COMMAND_GROUPS`; that keeps this file the only place that knows them
all. Errors a user can fix (:class:`~fraudstack.errors.FraudstackError`, bad arguments)
print one line to stderr and exit non-zero.
"""

from __future__ import annotations

import importlib
import sys

import typer
from typer._click import exceptions as click_errors

from fraudstack.errors import FraudstackError

app = typer.Typer(
    name="fraudstack",
    help="Local-first, real-time fraud detection on the AWS reference architecture.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

#: (module under fraudstack.cli, attribute) of every command group or single command.
COMMAND_GROUPS: list[str] = [
    "stack",
    "deploy",
    "produce",
    "bridge",
    "simulate",
    "warehouse",
    "score",
    "dashboard",
    "pipeline",
    "train",
    "infra",
    "demo",
]


def _register() -> None:
    for name in COMMAND_GROUPS:
        module = importlib.import_module(f"fraudstack.cli.{name}")
        module.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (also used by ``python -m fraudstack``)."""
    _register()
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="fraudstack", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:
        # click shows the help text for a bare group; that is wanted, not an error.
        typer.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        return 0
    except click_errors.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "fraudstack"
        typer.echo(f"error: {exc.format_message()} (see '{where} --help')", err=True)
        return 2
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 130
    except FraudstackError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
