"""The lazily registered commands (`sohoa/commands.py`): the table says what the parts really
register, `sohoa --help` imports no part, and a part's command still runs through the app."""

from __future__ import annotations

import inspect
import subprocess
import sys

from typer.core import TyperGroup
from typer.testing import CliRunner

from sohoa.commands import COMMAND_MODULES, COMMANDS, load_group

PARTS = ("migrations", "api", "station", "quotas", "batch", "archive", "pipeline", "scanners", "ocr",
         "signing", "storage")


def test_table_matches_what_each_module_registers():
    registered = []
    for module in COMMAND_MODULES:
        for name, command in load_group(module).commands.items():
            kind = "group" if isinstance(command, TyperGroup) else "command"
            text = inspect.cleandoc(command.short_help or command.help or "").split("\n\n")[0]
            registered.append((name, module, kind, text.strip()))
    in_order = ([r for r in registered if r[2] == "command"]
                + [r for r in registered if r[2] == "group"])
    assert [(n, m, k, inspect.cleandoc(t)) for n, m, k, t in COMMANDS] == in_order


def test_help_imports_no_part():
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "sohoa", "--help"],
                         capture_output=True, text=True, timeout=60, env={"COLUMNS": "120"})
    assert run.returncode == 0, run.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines()
                if line.startswith("import time:")}
    assert "sohoa.commands" in imported
    parts = sorted(m for m in imported if m.split(".")[0] in PARTS)
    assert parts == [], parts
    for name, _, _, _ in COMMANDS:
        assert f" {name} " in run.stdout, f"`sohoa --help` does not list {name}"


def test_lazy_commands_run_through_the_app():
    from sohoa.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["db", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "upgrade" in result.output and "current" in result.output
    result = runner.invoke(app, ["plans"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert result.output.strip()
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2
