"""The dramatiq worker: the module each worker process imports, and how `sohoa worker` starts them.

Importing this module (dramatiq does, in every worker process) builds the broker from
`SOHOA_BROKER_URL`, registers the stage actors on it, adds dramatiq's Prometheus middleware when
`SOHOA_METRICS_PORT` is set, and switches logging to one JSON object per line on stderr, each
carrying the document id and stage when there is one (`SOHOA_LOG_FORMAT=text` for plain lines).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime

INLINE_MESSAGE = ("SOHOA_BROKER_URL is 'inline': there is no queue to work on "
                  "(set redis://host:6379/0 or amqp://user:password@host:5672/vhost)")
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


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


def setup_logging(level: int | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("SOHOA_LOG_FORMAT", "json").lower() == "text":
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or getattr(logging, os.environ.get("SOHOA_LOG_LEVEL", "INFO").upper(),
                                   logging.INFO))
    for noisy in ("pika", "urllib3", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def boot():
    """Build the broker and register the actors (what a worker process needs)."""
    from pipeline import metrics
    from pipeline.actors import declare_actors
    from pipeline.broker import get_broker

    broker = get_broker()
    if broker is None:
        raise SystemExit(INLINE_MESSAGE)
    prometheus = metrics.prometheus_middleware()
    if prometheus is not None:
        broker.add_middleware(prometheus)
    return broker, declare_actors(broker)


if __name__ == "__main__":  # python -m pipeline.worker [--processes N] [--threads M]
    import argparse

    parser = argparse.ArgumentParser(description="Run sohoa pipeline workers.")
    parser.add_argument("--processes", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    from pipeline.cli import run_workers

    sys.exit(run_workers(args.processes, args.threads))
else:  # imported by a dramatiq worker process
    setup_logging()
    broker, actors = boot()
