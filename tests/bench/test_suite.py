"""Every benchmark runs in its tiny mode and keeps its figures (no timing is asserted), and
`bench.report` compares runs and writes the README table."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from bench import report, suite
from bench.results import load

BENCHES = {bench.name: bench for bench in suite.available()}


@pytest.mark.parametrize("name", sorted(BENCHES))
def test_benchmark_runs_and_keeps_its_figures(name, tmp_path):
    env = {**os.environ, "SOHOA_BENCH_RESULTS": str(tmp_path)}
    done = subprocess.run(suite.command(BENCHES[name], "tiny"), cwd=suite.ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    [kept] = list(tmp_path.glob(f"{name}-quick-*.json"))
    run = json.loads(kept.read_text())
    assert run["bench"] == name and run["figures"], run
    assert run["machine"]["cores"] and run["commit"]
    for figure in run["figures"]:
        assert figure["unit"] and isinstance(figure["value"], (int, float)), figure
    assert "[bench]" in done.stdout  # it printed where its figures went, after its table


def _run(bench, started, figures):
    return {"format": 1, "bench": bench, "mode": "full", "started": started, "commit": "abc",
            "machine": {"cores": 2, "memory_gib": 24}, "load_before": [0.1], "load_after": [0.2],
            "args": {}, "figures": figures}


def _fig(name, value, unit, **extra):
    return {"name": name, "value": value, "unit": unit, "better": "higher", **extra}


def test_report_marks_only_moves_beyond_the_noise(tmp_path, capsys):
    old = _run("signing", "2026-01-01T00:00:00+00:00", [
        _fig("cached", 80.0, "sig/s", samples=[78, 80, 82], spread=4.0),
        _fig("accuracy", 95.0, "%"), _fig("rate", 100.0, "req/s")])
    new = _run("signing", "2026-02-01T00:00:00+00:00", [
        _fig("cached", 82.5, "sig/s", samples=[81, 82.5, 84], spread=3.0, target=50,
             target_met=True),
        _fig("accuracy", 96.0, "%"), _fig("rate", 80.0, "req/s")])
    for run in (old, new):
        (tmp_path / f"signing-full-{run['started'][:7]}.json").write_text(json.dumps(run))
    runs = load(tmp_path)
    assert [r["started"][:7] for r in runs] == ["2026-01", "2026-02"]
    (latest, previous), = report.latest_pairs(runs).values()
    moves = {f["name"]: report.movement(f, {g["name"]: g for g in previous["figures"]}[f["name"]])
             for f in latest["figures"]}
    assert moves["cached"] == "="  # +2.5 within the spread of 4
    assert moves["accuracy"].startswith("▲")  # any change of an accuracy counts
    assert moves["rate"].startswith("▼")  # -20% of a rate: beyond the 10% default noise
    report.main(["--results", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "signing (full)" in printed and "≥ 50 ✔" in printed

    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{report.README_BEGIN}\nold\n{report.README_END}\nafter\n")
    assert report.rewrite_readme(runs, readme)
    text = readme.read_text()
    assert "| signing | cached | 82.5 ±1.5 sig/s |" in text and "old" not in text
    assert text.startswith("intro\n") and text.endswith("after\n")


def test_suite_lists_every_benchmark_module():
    listed = subprocess.run([*suite.command(suite.BENCHES[0], "tiny")[:1], "-m", "bench.suite",
                             "--list"], cwd=suite.ROOT, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0
    for bench in suite.available():
        assert bench.name in listed.stdout
    modules = {p.stem for p in (suite.ROOT / "bench").glob("*.py")}
    helpers = {"__init__", "corpus", "results", "report", "suite"}
    registered = {b.module.split(".")[1] for b in suite.available()}
    assert modules - helpers <= registered, f"unregistered: {modules - helpers - registered}"
