"""A Typer app holding one part's commands (`sohoa.commands.<part>.register`), as `sohoa` builds
it, and a runner for it that checks the exit code."""

from __future__ import annotations

import typer
from typer.testing import CliRunner


def part_app(register) -> typer.Typer:
    """An app with one part's commands under a group callback, as in `sohoa.cli`."""
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """sohoa (test copy: one part's commands)."""

    register(app)
    return app


def invoker(app: typer.Typer, *prefix: str, env: dict | None = None):
    """run(*args, code=0): the command `prefix + args`, its exit code checked."""
    runner = CliRunner()

    def run(*args, code=0):
        done = runner.invoke(app, [*prefix, *map(str, args)], catch_exceptions=False, env=env)
        assert done.exit_code == code, done.output
        return done

    return run
