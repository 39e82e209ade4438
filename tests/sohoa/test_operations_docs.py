"""The operator guide's artefacts are real: the systemd units pass `systemd-analyze verify`, the
alert rules pass `promtool check rules` and name only metrics sohoa exports, and the commands the
guide names exist."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SOHOA = str(Path(sys.executable).with_name("sohoa"))
REQUIRED = __import__("os").environ.get("SOHOA_REQUIRE_SERVICES") == "1"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if REQUIRED:
            pytest.fail(f"{name} is required (make setup installs it)")
        pytest.skip(f"{name} not installed")
    return path


def test_systemd_units_verify(tmp_path):
    analyze = _tool("systemd-analyze")
    units = sorted((DOCS / "systemd").iterdir())
    assert {u.name for u in units} >= {"sohoa-api.service", "sohoa-worker@.service",
                                       "sohoa-station.service", "sohoa-fsck.service",
                                       "sohoa-fsck.timer", "sohoa-backup.service",
                                       "sohoa-backup.timer"}
    for unit in units:  # point ExecStart at this checkout's command so the binary exists
        (tmp_path / unit.name).write_text(
            unit.read_text().replace("/opt/sohoa/.venv/bin/sohoa", SOHOA))
    done = subprocess.run([analyze, "verify", *map(str, sorted(tmp_path.iterdir()))],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def _help(*command: str) -> tuple[int, str]:
    """`sohoa COMMAND --help`, in-process (the same Typer app the command runs)."""
    from typer.testing import CliRunner

    from sohoa.cli import _register_parts, app

    if not getattr(_help, "registered", False):
        _register_parts()
        _help.registered = True
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_units_run_commands_that_exist():
    for unit in (DOCS / "systemd").glob("*.service"):
        for line in unit.read_text().splitlines():
            if line.startswith(("ExecStart=", "ExecStartPre=")):
                words = line.split("=", 1)[1].split()
                command = []
                for word in words[1:]:  # the (sub)command: the words before an option or path
                    if word.startswith(("-", "/", "$")):
                        break
                    command.append(word)
                code, output = _help(*command)
                assert code == 0, f"{unit.name}: sohoa {command} --help failed"
                for option in re.findall(r"(--[a-z][a-z-]+)", line.split("=", 1)[1]):
                    assert option in output, f"{unit.name}: sohoa {command} has no {option}"


def test_alert_rules_pass_promtool():
    promtool = _tool("promtool")
    done = subprocess.run([promtool, "check", "rules", str(DOCS / "alerts" / "sohoa-rules.yml")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def _exported_names() -> set[str]:
    """Metric family names sohoa exports: API, pipeline collector, workers, fsck textfile."""
    sources = [ROOT / "api" / "app.py", ROOT / "api" / "pipeline_metrics.py",
               ROOT / "pipeline" / "metrics.py", ROOT / "storage" / "fsck.py"]
    names = set()
    for source in sources:
        names |= set(re.findall(r'"(sohoa_[a-z_]+)', source.read_text()))
        names |= set(re.findall(r"\b(sohoa_[a-z_]+)\{", source.read_text()))
    # prometheus-client adds these suffixes to counters and histograms
    return names | {n + suffix for n in names for suffix in ("_total", "_bucket", "_count", "_sum")}


def test_alert_rules_name_only_exported_metrics():
    rules = yaml.safe_load((DOCS / "alerts" / "sohoa-rules.yml").read_text())["groups"][0]["rules"]
    exported = _exported_names()
    assert "sohoa_document_oldest_in_flight_seconds" in exported
    for rule in rules:
        used = set(re.findall(r"\b(sohoa_[a-z_]+)", rule["expr"]))
        assert used, rule["alert"]
        assert used <= exported, f"{rule['alert']}: {used - exported} not exported"


def test_guide_is_linked_and_names_real_commands():
    guide = (DOCS / "operations.md").read_text()
    assert "docs/operations.md" in (ROOT / "README.md").read_text()
    for command in sorted(set(re.findall(r"`sohoa ([a-z-]+)", guide))):
        code, _output = _help(command)
        assert code == 0, f"the guide names `sohoa {command}`, which does not exist"
