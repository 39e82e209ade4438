"""The dramatiq worker process: the module each worker process imports.

Importing this module (dramatiq does, in every worker process) validates the settings, switches
logging to one JSON object per line on stderr (each carrying the document id and stage when there
is one; `SOHOA_LOG_FORMAT=text` for plain lines), builds the runtime and its broker from
`SOHOA_BROKER_URL`, registers one actor per stage description on it, adds dramatiq's Prometheus
middleware when `SOHOA_METRICS_PORT` is set and starts the stale-document sweeper
(pipeline.sweeper). Start workers with `sohoa worker` or `python -m sohoa.worker` (see
sohoa.commands.pipeline.run_workers).
"""

from __future__ import annotations

import sys

from pipeline import metrics
from pipeline.actors import declare_actors
from pipeline.sweeper import StaleSweeper
from sohoa.runtime import get_runtime
from sohoa.settings import SettingsError, get_settings

INLINE_MESSAGE = ("SOHOA_BROKER_URL is 'inline': there is no queue to work on "
                  "(set redis://host:6379/0 or amqp://user:password@host:5672/vhost)")


def boot():
    """Build the broker and register the actors (what a worker process needs)."""
    rt = get_runtime()
    broker = rt.broker
    if broker is None:
        raise SystemExit(INLINE_MESSAGE)
    prometheus = metrics.prometheus_middleware(rt.settings.metrics_port, rt.settings.metrics_host)
    if prometheus is not None:
        broker.add_middleware(prometheus)
    broker.add_middleware(StaleSweeper(rt))
    return broker, declare_actors(broker, rt)


if __name__ == "__main__":  # python -m sohoa.worker [--processes N] [--threads M]
    import argparse

    from sohoa.commands.pipeline import run_workers

    parser = argparse.ArgumentParser(description="Run sohoa pipeline workers.")
    parser.add_argument("--processes", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    sys.exit(run_workers(args.processes, args.threads))
else:  # imported by a dramatiq worker process
    try:
        _settings = get_settings()
    except SettingsError as exc:
        raise SystemExit(str(exc)) from None
    metrics.setup_logging(_settings.log_level, _settings.log_format)
    broker, actors = boot()
