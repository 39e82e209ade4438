"""A safety net for messages a broker lost: documents in flight that nobody works on.

Each worker process runs one sweeper thread. Every `SOHOA_SWEEP_INTERVAL_S` seconds (20) it
looks at the broker: only when every sohoa queue is empty — nothing is waiting to be worked on —
does it re-enqueue documents still in flight (received / ocr_done / classified), not leased and
untouched for `SOHOA_STALE_AFTER_S` seconds (60). Such a document's message was lost (a broker
restarted between a stage and the enqueue of the next, an unacked message dropped …), so without
this it would wait forever. Duplicates are harmless: stages are leased and skip work done.
"""

from __future__ import annotations

import logging
import threading

import dramatiq

from pipeline.actors import queue_lengths, requeue_stale
from pipeline.context import Context

log = logging.getLogger("sohoa.pipeline")


def queues_idle(lengths: dict[str, dict[str, int | None]]) -> bool:
    return all(not (counts.get("pending") or counts.get("delayed"))
               for counts in lengths.values())


def sweep_once(rt, broker, stale_after_s: float) -> list[str]:
    """Re-enqueue lost documents if the queues are idle; the ids re-enqueued."""
    if not queues_idle(queue_lengths(broker)):
        return []
    ids = requeue_stale(rt, broker, stale_after_s)
    for doc_id in ids:
        log.warning("re-enqueued a document no message was left for",
                    extra={"document_id": doc_id})
    return ids


class StaleSweeper(dramatiq.Middleware):
    """The sweeper thread of one worker process, over `rt` (its settings give the interval and
    the staleness: `sweep_interval_s`, `stale_after_s`)."""

    def __init__(self, rt: Context) -> None:
        self.rt = rt
        self.interval = float(rt.settings.sweep_interval_s)
        self.stale_after = float(rt.settings.stale_after_s)
        self._stop = threading.Event()

    def after_worker_boot(self, broker, worker) -> None:
        threading.Thread(target=self._run, args=(broker,), name="sohoa-sweeper",
                         daemon=True).start()

    def before_worker_shutdown(self, broker, worker) -> None:
        self._stop.set()

    def _run(self, broker) -> None:
        while not self._stop.wait(self.interval):
            try:
                sweep_once(self.rt, broker, self.stale_after)
            except Exception as exc:  # noqa: BLE001 - broker or database away: next round
                log.info("sweeper: %s", exc)
