"""Benchmark results kept as files: one JSON document per run under `bench/results/`.

A benchmark opens a run, records its figures as it prints them, and the run is written when the
benchmark ends::

    from bench import results

    run = results.start("signing", quick=args.quick, args=vars(args))
    run.figure("cached UnitSigner", 83.4, "sig/s", better="higher",
               comparator="pyHanko defaults", comparator_value=10.4)
    run.timings("digitize wall", [40.1, 39.8, 41.0], "s", better="lower")  # median and spread
    run.save()   # also done at exit

Each file holds the commit, the date, the machine (cores, memory, load average before and
after), the mode (quick or full), the arguments, and every figure with its unit, its comparator
and the ratio to it, the target where one exists, and — for repeated timings — the median and
the spread (max - min) that `bench.report` compares the next run against. Nothing here asserts:
benchmarks print and keep figures, they never fail on a timing.

`SOHOA_BENCH_RESULTS` names another folder (the CI test writes to a temporary one).
"""

from __future__ import annotations

import atexit
import json
import os
import platform
import statistics
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORMAT = 1


def results_dir() -> Path:
    return Path(os.environ.get("SOHOA_BENCH_RESULTS") or ROOT / "bench" / "results")


def _commit() -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=10).stdout.strip()
    return done.stdout.strip() + ("+dirty" if dirty else "")


def machine() -> dict:
    memory = None
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    memory = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return {"cores": os.cpu_count(), "memory_gib": memory, "python": platform.python_version(),
            "system": platform.platform(terse=True)}


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    better: str = "higher"  # or "lower"
    comparator: str | None = None
    comparator_value: float | None = None
    ratio: float | None = None  # value / comparator_value
    target: float | None = None
    target_met: bool | None = None
    samples: list[float] = field(default_factory=list)
    spread: float | None = None  # max - min of the samples
    note: str | None = None


@dataclass
class Run:
    bench: str
    mode: str
    args: dict
    started: str
    commit: str | None
    machine: dict
    load_before: list[float]
    load_after: list[float] | None = None
    seconds: float | None = None
    figures: list[Figure] = field(default_factory=list)
    path: Path | None = None
    _t0: float = 0.0

    def figure(self, name: str, value: float, unit: str, *, better: str = "higher",
               comparator: str | None = None, comparator_value: float | None = None,
               target: float | None = None, note: str | None = None,
               samples: list[float] | None = None) -> Figure:
        """Record one figure (and return it). The ratio is value / comparator_value; a target
        is met when the value is at least it (better="higher") or at most it ("lower")."""
        if better not in ("higher", "lower"):
            raise ValueError(f"better={better!r}: use 'higher' or 'lower'")
        ratio = (value / comparator_value) if comparator_value else None
        met = None
        if target is not None:
            met = value >= target if better == "higher" else value <= target
        samples = [float(s) for s in samples or []]
        fig = Figure(name, float(value), unit, better, comparator,
                     None if comparator_value is None else float(comparator_value),
                     None if ratio is None else round(ratio, 4), target, met, samples,
                     (max(samples) - min(samples)) if len(samples) > 1 else None, note)
        self.figures.append(fig)
        return fig

    def timings(self, name: str, samples: list[float], unit: str = "s", **kwargs) -> Figure:
        """Record repeated measurements: the median is the figure, max - min its spread."""
        kwargs.setdefault("better", "lower")
        return self.figure(name, statistics.median(samples), unit, samples=samples, **kwargs)

    def save(self) -> Path:
        import time

        if self.path is not None:
            return self.path
        self.load_after = [round(x, 2) for x in os.getloadavg()]
        self.seconds = round(time.monotonic() - self._t0, 1)
        folder = results_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stamp = self.started.replace(":", "").replace("-", "")[:15]
        path = folder / f"{self.bench}-{self.mode}-{stamp}.json"
        data = {k: v for k, v in asdict(self).items() if k not in ("path", "_t0")}
        data["format"] = FORMAT
        tmp = path.with_suffix(".json.part")
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)
        self.path = path
        print(f"[bench] {len(self.figures)} figures written to {path}")
        return path


_current: Run | None = None


def start(bench: str, *, quick: bool = False, args: dict | None = None) -> Run:
    """Open the run of this process (written at exit if the benchmark does not save it)."""
    import time

    global _current
    run = Run(bench=bench, mode="quick" if quick else "full",
              args={k: (str(v) if isinstance(v, Path) else v) for k, v in (args or {}).items()},
              started=datetime.now(UTC).isoformat(timespec="seconds"), commit=_commit(),
              machine=machine(), load_before=[round(x, 2) for x in os.getloadavg()])
    run._t0 = time.monotonic()
    _current = run
    atexit.register(lambda: run.figures and run.save())
    return run


def current() -> Run | None:
    return _current


def load(folder: Path | None = None) -> list[dict]:
    """Every result file, oldest first."""
    runs = []
    for path in sorted((folder or results_dir()).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if data.get("format") == FORMAT:
            data["path"] = str(path)
            runs.append(data)
    runs.sort(key=lambda r: r["started"])
    return runs
