"""The dramatiq worker: the module each worker process imports.

Importing this module (dramatiq does, in every worker process) builds the broker from
`SOHOA_BROKER_URL`, registers the stage actors on it, adds dramatiq's Prometheus middleware when
`SOHOA_METRICS_PORT` is set, starts the stale-document sweeper (pipeline.sweeper), and
switches logging to one JSON object per line on stderr, each
carrying the document id and stage when there is one (`SOHOA_LOG_FORMAT=text` for plain lines).
Start workers with `sohoa worker` or `python -m pipeline.worker` (see pipeline.cli.run_workers).
"""

from __future__ import annotations

import sys

from pipeline.metrics import setup_logging

INLINE_MESSAGE = ("SOHOA_BROKER_URL is 'inline': there is no queue to work on "
                  "(set redis://host:6379/0 or amqp://user:password@host:5672/vhost)")


def boot():
    """Build the broker and register the actors (what a worker process needs)."""
    from pipeline import metrics
    from pipeline.actors import declare_actors
    from pipeline.broker import get_broker

    broker = get_broker()
    if broker is None:
        raise SystemExit(INLINE_MESSAGE)
    from pipeline.sweeper import StaleSweeper

    prometheus = metrics.prometheus_middleware()
    if prometheus is not None:
        broker.add_middleware(prometheus)
    broker.add_middleware(StaleSweeper())
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
