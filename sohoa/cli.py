"""The `sohoa` command: one entry point wiring settings, pipeline, storage and signing.

An error no command handled is printed as one line ("sohoa: error: …", no traceback, no temp
paths); `sohoa --debug …` shows the traceback and debug logs instead.
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer
from rich.console import Console

from sohoa import __version__
from sohoa.commands import COMMAND_MODULES, LazyGroup

app = typer.Typer(help="sohoa: digitize, sign, store and index administrative results.",
                  no_args_is_help=True, add_completion=False, cls=LazyGroup)

err = Console(stderr=True)
out = Console()
_debug = False


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug output."),
          debug: bool = typer.Option(False, "--debug",
                                     help="Show tracebacks of errors (and debug logs).")):
    global _debug
    _debug = debug
    logging.basicConfig(level=logging.DEBUG if verbose or debug else logging.WARNING,
                        stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from sohoa.settings import SettingsError, get_settings

    try:  # every SOHOA_* variable validated once, before any command runs
        get_settings()
    except SettingsError as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


# Each part's commands are registered by its module in `sohoa/commands/` (`register(app)`);
# `sohoa.commands` names them so the app imports a part only when one of its commands runs.
def _register_parts() -> None:
    """Register every part's commands now (tests and tools that inspect the whole app)."""
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        if _debug:
            raise
        err.print("sohoa: interrupted", markup=False)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, no traceback
        if _debug:
            raise
        from pipeline.errors import describe

        logging.getLogger("sohoa").debug("unhandled error", exc_info=True)
        err.print(f"sohoa: error: {describe(exc)} (run `sohoa --debug …` for the traceback)",
                  markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
