"""`python -m bench.report`: the latest benchmark figures beside the previous run's and the targets.

    python -m bench.report              # every benchmark, the latest run of each mode
    python -m bench.report --readme     # also rewrite the README's benchmark table (full mode
                                        # where there is one, else quick, labelled)

A change is marked `▲`/`▼` (better/worse) only when it is larger than the noise the runs measured:
for repeated timings the larger spread (max - min) of the two runs; for a single timing or rate,
10% (wall times on a shared 2-core machine move that much); for counts and accuracies, any change.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from bench.results import ROOT, load

TIMING_UNITS = {"s", "ms", "us", "sig/s", "pages/s", "req/s", "MB/s", "MiB/s", "docs/s", "x"}
DEFAULT_NOISE = 0.10
README_BEGIN = "<!-- bench-table:begin (python -m bench.report --readme) -->"
README_END = "<!-- bench-table:end -->"


def latest_pairs(runs: list[dict]) -> dict[tuple[str, str], tuple[dict, dict | None]]:
    """{(bench, mode): (latest run, the run before it or None)}."""
    grouped: dict[tuple[str, str], list[dict]] = {}
    for run in runs:
        grouped.setdefault((run["bench"], run["mode"]), []).append(run)
    return {key: (items[-1], items[-2] if len(items) > 1 else None)
            for key, items in sorted(grouped.items())}


def movement(now: dict, before: dict | None) -> str:
    """'' (no previous figure), '=' (within noise), '▲ +x%' better or '▼ -x%' worse."""
    if before is None or before.get("value") in (None, 0):
        return ""
    delta = now["value"] - before["value"]
    relative = delta / abs(before["value"])
    spreads = [f.get("spread") for f in (now, before) if f.get("spread") is not None]
    if spreads:
        noise = max(spreads)
        moved = abs(delta) > noise
    elif now.get("unit") in TIMING_UNITS:
        moved = abs(relative) > DEFAULT_NOISE
    else:
        moved = delta != 0
    if not moved:
        return "="
    better = (delta > 0) == (now.get("better", "higher") == "higher")
    return f"{'▲' if better else '▼'} {relative:+.0%}"


def _value(fig: dict) -> str:
    value = fig["value"]
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}" if abs(value) < 10 else \
        f"{value:.1f}"
    if fig.get("spread") is not None:
        text += f" ±{fig['spread'] / 2:.2g}"
    return f"{text} {fig['unit']}"


def _target(fig: dict) -> str:
    if fig.get("target") is None:
        return ""
    sign = "≥" if fig.get("better", "higher") == "higher" else "≤"
    return f"{sign} {fig['target']:g} {'✔' if fig.get('target_met') else '✘'}"


def _ratio(fig: dict) -> str:
    if fig.get("ratio") is None:
        return ""
    return f"{fig['ratio']:.2f}× {fig.get('comparator') or ''}".strip()


def print_report(runs: list[dict]) -> None:
    pairs = latest_pairs(runs)
    if not pairs:
        print("no benchmark results yet: run `make bench` (bench/results/)")
        return
    for (bench, mode), (run, previous) in pairs.items():
        machine = run.get("machine", {})
        print(f"\n{bench} ({mode}) — {run['started']} commit {run.get('commit') or '?'}, "
              f"{machine.get('cores')} cores, {machine.get('memory_gib')} GiB, load "
              f"{run['load_before'][0]:.1f}→{(run.get('load_after') or [0])[0]:.1f}"
              + (f"; previous {previous['started']}" if previous else ""))
        before = {f["name"]: f for f in (previous or {}).get("figures", [])}
        for fig in run["figures"]:
            old = before.get(fig["name"])
            print(f"  {fig['name']:<46} {_value(fig):>20}  {_ratio(fig):<30} "
                  f"{_target(fig):<12} {(_value(old) if old else ''):>18} {movement(fig, old)}")


def _headline(figures: list[dict], fallback: int = 3) -> list[dict]:
    """The figures the README shows: those measured against something or held to a target
    (else a benchmark's first few); `bench.report` prints them all."""
    kept = [f for f in figures if f.get("comparator_value") or f.get("target") is not None]
    return kept or figures[:fallback]


def readme_table(runs: list[dict]) -> str:
    pairs = latest_pairs(runs)
    chosen: dict[str, dict] = {}
    for (bench, mode), (run, _previous) in pairs.items():
        if bench not in chosen or mode == "full":
            chosen[bench] = run
    lines = [README_BEGIN,
             "| benchmark | figure | value | against | target | run |",
             "|---|---|---|---|---|---|"]
    for bench, run in sorted(chosen.items()):
        machine = run.get("machine", {})
        where = (f"{run['mode']}, {run['started'][:10]}, {run.get('commit') or '?'}, "
                 f"{machine.get('cores')} cores")
        for fig in _headline(run["figures"]):
            lines.append(f"| {bench} | {fig['name']} | {_value(fig)} | {_ratio(fig)} | "
                         f"{_target(fig)} | {where} |")
    if not chosen:
        lines.append("| — | no results kept yet: `make bench` | | | | |")
    lines.append(README_END)
    return "\n".join(lines)


def rewrite_readme(runs: list[dict], readme: Path = ROOT / "README.md") -> bool:
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(README_BEGIN) + ".*?" + re.escape(README_END), re.S)
    if not pattern.search(text):
        return False
    readme.write_text(pattern.sub(lambda _m: readme_table(runs), text), encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.split("\n")[0])
    parser.add_argument("--readme", action="store_true", help="rewrite the README's table")
    parser.add_argument("--results", type=Path, help="a results folder (default bench/results)")
    args = parser.parse_args(argv)
    runs = load(args.results)
    print_report(runs)
    if args.readme:
        if rewrite_readme(runs):
            print("README.md benchmark table rewritten")
        else:
            print("README.md has no benchmark table markers", flush=True)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
