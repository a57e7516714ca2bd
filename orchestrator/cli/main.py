"""The `mcuorch` entry point: sub-commands, and errors mapped to one line + exit code.

User mistakes (`UserError`, usage errors) print one `error: ...` line and exit 2 without a
traceback; `-v` adds the traceback. Unexpected errors print one line and say where logs and
the traceback can be found.
"""

from __future__ import annotations

import sys
import traceback

import typer

from orchestrator import __version__
from orchestrator.cli import ci as ci_cli
from orchestrator.cli import env as env_cli
from orchestrator.cli.argv import normalize
from orchestrator.cli.console import error_line, stderr
from orchestrator.cli.compare import compare
from orchestrator.cli.explain import explain
from orchestrator.cli.gc import gc
from orchestrator.cli.images import app as images_app
from orchestrator.cli.merge import merge
from orchestrator.cli.models import models
from orchestrator.cli.plot import plot
from orchestrator.cli.profile import profile
from orchestrator.cli.run import run
from orchestrator.cli.sessions import cleanup, export, sessions
from orchestrator.cli.size import size
from orchestrator.cli.sources import app as sources_app
from orchestrator.errors import McuorchError, disk_full_message
from orchestrator.paths import home_paths

app = typer.Typer(
    name="mcuorch",
    help="Containerized TinyML benchmarking: each stage in its toolchain's image.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"mcuorch {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Containerized TinyML benchmarking: each stage in its toolchain's image."""
app.command(context_settings={"allow_interspersed_args": True})(run)
app.add_typer(env_cli.app, name="env")
app.add_typer(images_app, name="images")
app.add_typer(sources_app, name="sources")
app.add_typer(ci_cli.app, name="ci")
app.command()(gc)
app.command()(explain)
app.command()(sessions)
app.command()(cleanup)
app.command()(export)
app.command()(models)
app.command()(plot)
app.command()(merge)
app.command()(compare)
app.command()(size)
app.command()(profile)


def _usage_error(exc: BaseException) -> tuple[str, int] | None:
    """Click/typer usage errors, recognised by shape so any typer version works."""
    if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
        return str(exc.format_message()), int(exc.exit_code)
    return None


def _internal_error(exc: BaseException, verbose: bool) -> None:
    if verbose:
        traceback.print_exc()
    error_line(f"internal error: {type(exc).__name__}: {exc} (run with -v for the traceback; "
               f"job logs are under {home_paths().root})")


def main(argv: list[str] | None = None) -> None:
    args = normalize(list(sys.argv[1:] if argv is None else argv))
    verbose = "-v" in args or "--verbose" in args
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="mcuorch", standalone_mode=False)
    except McuorchError as exc:
        if verbose:
            traceback.print_exc()
        error_line(str(exc))
        code = exc.exit_code
    except KeyboardInterrupt:
        error_line("interrupted")
        code = 130
    except OSError as exc:
        full = disk_full_message(exc)
        if full is None:
            _internal_error(exc, verbose)
        else:
            error_line(full)
        code = 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        usage = _usage_error(exc)
        if usage is not None:
            error_line(usage[0])
            code = usage[1]
        elif type(exc).__name__ == "Abort":
            error_line("interrupted")
            code = 130
        else:
            _internal_error(exc, verbose)
            code = 1
    stderr.file.flush()
    sys.exit(code if isinstance(code, int) else 0)
