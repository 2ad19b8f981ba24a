"""Entry point of the ``fraudstack`` command.

Each command group lives in its own module (``fraudstack/cli/<group>.py``) and is
registered in :data:`COMMANDS`; that keeps this file the only place that knows them
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


@app.callback()
def _group() -> None:
    """Keeps ``fraudstack`` a command group when only the invoked command is registered.

    Without a callback, typer turns an app holding a single command into that command, and
    ``fraudstack deploy`` would read ``deploy`` as an extra argument.
    """


#: Every top-level command and the module under ``fraudstack.cli`` that registers it.
#: A module is imported only when its command runs (or for the full help listing), so
#: ``fraudstack stack status`` never pays for importing Spark, XGBoost or Streamlit.
COMMANDS: dict[str, str] = {
    "stack": "stack",
    "deploy": "deploy",
    "simulate": "simulate",
    "produce": "produce",
    "bridge": "bridge",
    "warehouse": "warehouse",
    "etl": "warehouse",
    "train": "train",
    "predict": "predict",
    "model": "model",
    "drift": "drift",
    "score": "score",
    "profiles": "profiles",
    "pipeline": "pipeline",
    "dashboard": "dashboard",
    "infra": "infra",
    "package": "infra",
    "demo": "demo",
}


def _register(argv: list[str]) -> None:
    """Register the invoked command's module, or all of them when none is named."""
    invoked = next((arg for arg in argv if not arg.startswith("-")), None)
    modules = [COMMANDS[invoked]] if invoked in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        importlib.import_module(f"fraudstack.cli.{name}").register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (also used by ``python -m fraudstack``)."""
    argv = sys.argv[1:] if argv is None else argv
    _register(argv)
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
