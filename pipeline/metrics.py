"""Pipeline observability: Prometheus metrics (per-stage durations and outcome counts) and
structured (JSON lines) logs carrying the document id.

    sohoa_stage_seconds{stage}            histogram of successful/failed stage run times
    sohoa_stage_runs_total{stage,outcome} outcome: done | skipped | retry | failed | busy

Metrics are created lazily, on first use: in a worker started with `SOHOA_METRICS_PORT`, dramatiq's
Prometheus middleware has by then switched prometheus-client to multiprocess mode, so its
exposition server (on that port) serves these metrics summed over all worker processes, next
to dramatiq's own message counters.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime

_lock = threading.Lock()
_metrics: dict | None = None

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300, 900)
OUTCOMES = ("done", "skipped", "retry", "failed", "busy")


def _get() -> dict:
    global _metrics
    with _lock:
        if _metrics is None:
            from prometheus_client import Counter, Histogram

            _metrics = {
                "seconds": Histogram("sohoa_stage_seconds", "Time spent running a pipeline stage",
                                     ["stage"], buckets=BUCKETS),
                "runs": Counter("sohoa_stage_runs", "Pipeline stage runs by outcome",
                                ["stage", "outcome"]),
            }
        return _metrics


def count(stage: str, outcome: str) -> None:
    _get()["runs"].labels(stage=stage, outcome=outcome).inc()


@contextmanager
def timed(stage: str):
    """Observe the duration of the block in sohoa_stage_seconds{stage}."""
    start = time.perf_counter()
    try:
        yield
    finally:
        _get()["seconds"].labels(stage=stage).observe(time.perf_counter() - start)


def snapshot() -> dict[str, dict[str, float]]:
    """{stage: {"count": n, "seconds": total, outcome: n, ...}} from this process's registry."""
    metrics = _get()
    result: dict[str, dict[str, float]] = {}
    for family in metrics["seconds"].collect():
        for sample in family.samples:
            stage = sample.labels.get("stage")
            if sample.name.endswith("_count"):
                result.setdefault(stage, {})["count"] = sample.value
            elif sample.name.endswith("_sum"):
                result.setdefault(stage, {})["seconds"] = sample.value
    for family in metrics["runs"].collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                result.setdefault(sample.labels["stage"], {})[sample.labels["outcome"]] = \
                    sample.value
    return result


def prometheus_middleware(port: int | None, host: str = "127.0.0.1"):
    """dramatiq's Prometheus middleware serving on `port` (settings.metrics_port), or None."""
    if not port:
        return None
    # dramatiq's exposition server reads its address from the environment
    os.environ.setdefault("dramatiq_prom_port", str(port))
    os.environ.setdefault("dramatiq_prom_host", host)
    from dramatiq.middleware.prometheus import Prometheus

    return Prometheus()


# --- structured logs ------------------------------------------------------------------------
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName",
                                                        "color_message"}  # uvicorn's ANSI copy


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, pid, msg, then every `extra=` field."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"
NOISY = ("pika", "urllib3", "PIL", "alembic", "fontTools")


def logging_config(level: str | int = "INFO", log_format: str = "json") -> dict:
    """The one log format of sohoa's services as a `logging.config.dictConfig` dict (uvicorn
    takes it as `log_config`, so the API and the station log like pipeline workers): JSON lines,
    or plain text with log_format="text" (settings.log_format, settings.log_level)."""
    text = log_format.lower() == "text"
    if isinstance(level, int):
        level = logging.getLevelName(level)
    formatter = {"format": TEXT_FORMAT} if text else {"()": f"{__name__}.JsonFormatter"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"sohoa": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "sohoa",
                                "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": str(level).upper()},
        "loggers": {
            **{name: {"level": "WARNING"} for name in NOISY},
            # uvicorn's own loggers go through the same handler (no second format)
            **{name: {"handlers": [], "propagate": True}
               for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
        },
    }


def setup_logging(level: str | int = "INFO", log_format: str = "json") -> None:
    """One handler on stderr: JSON lines (default) or plain text (settings.log_format)."""
    import logging.config

    logging.config.dictConfig(logging_config(level, log_format))
