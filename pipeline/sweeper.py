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
import os
import threading

import dramatiq

log = logging.getLogger("sohoa.pipeline")


def _seconds(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name) or default)
    except ValueError:
        raise ValueError(f"{name}={os.environ.get(name)!r} is not a number") from None


def queues_idle(lengths: dict[str, dict[str, int | None]]) -> bool:
    return all(not (counts.get("pending") or counts.get("delayed"))
               for counts in lengths.values())


def sweep_once(rt, broker, stale_after_s: float) -> list[str]:
    """Re-enqueue lost documents if the queues are idle; the ids re-enqueued."""
    from pipeline.actors import queue_lengths, requeue_stale

    if not queues_idle(queue_lengths(broker)):
        return []
    ids = requeue_stale(rt, broker, stale_after_s)
    for doc_id in ids:
        log.warning("re-enqueued a document no message was left for",
                    extra={"document_id": doc_id})
    return ids


class StaleSweeper(dramatiq.Middleware):
    def __init__(self) -> None:
        self.interval = _seconds("SOHOA_SWEEP_INTERVAL_S", 20)
        self.stale_after = _seconds("SOHOA_STALE_AFTER_S", 60)
        self._stop = threading.Event()

    def after_worker_boot(self, broker, worker) -> None:
        threading.Thread(target=self._run, args=(broker,), name="sohoa-sweeper",
                         daemon=True).start()

    def before_worker_shutdown(self, broker, worker) -> None:
        self._stop.set()

    def _run(self, broker) -> None:
        from pipeline.runtime import get_runtime

        while not self._stop.wait(self.interval):
            try:
                sweep_once(get_runtime(), broker, self.stale_after)
            except Exception as exc:  # noqa: BLE001 - broker or database away: next round
                log.info("sweeper: %s", exc)
