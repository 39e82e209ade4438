"""The one place that decides how a document moves on: in this process, or through a broker.

Every submitter (`sohoa submit`, `sohoa failed retry`, review's continue, the API's ingest, the
station's embedded delivery) calls the process's dispatcher, built once from the settings by
the composition root (`sohoa.runtime`): `InlineDispatcher` for `SOHOA_BROKER_URL=inline`,
`BrokerDispatcher` for Redis or RabbitMQ.

    run(doc_id)     move it on now: inline, run its remaining stages and return its state;
                    broker, enqueue its next stage (retrying a briefly unreachable broker)
                    and return "queued"
    start(doc_id)   the same in the background (inline: one background thread, a document at
                    most once at a time)
    resume(doc_id)  make sure an in-flight document is being worked on (after a restart):
                    inline, start it unless running; broker, nothing (workers and their
                    sweeper own in-flight documents)
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from pipeline.actors import enqueue_with_retry
from pipeline.context import Context
from pipeline.driver import process_document

log = logging.getLogger("sohoa.pipeline")

QUEUED = "queued"


class InlineDispatcher:
    """Stages run in this process (the embedded default)."""

    inline = True

    def __init__(self, rt: Context):
        self.rt = rt
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._running: dict[str, Future] = {}

    def run(self, doc_id: str) -> str:
        return process_document(self.rt, doc_id)

    def start(self, doc_id: str) -> Future | None:
        """Run the document's remaining stages on the background thread; None when it is
        already running or waiting there."""
        with self._lock:
            if doc_id in self._running:
                return None
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1,
                                                thread_name_prefix="sohoa-pipeline")
            future = self._pool.submit(self._background, doc_id)
            self._running[doc_id] = future
        return future

    def _background(self, doc_id: str) -> str | None:
        try:
            return process_document(self.rt, doc_id)  # staff corrections travel with it
        except Exception:  # noqa: BLE001 - the document's state tells the rest
            log.exception("processing %s failed", doc_id, extra={"document_id": doc_id})
            return None
        finally:
            with self._lock:
                self._running.pop(doc_id, None)

    def resume(self, doc_id: str) -> None:
        self.start(doc_id)

    def running(self, doc_id: str) -> bool:
        with self._lock:
            return doc_id in self._running

    def close(self) -> None:
        """Stop the background thread (waiting documents stay in flight in the catalog)."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._running.clear()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


class BrokerDispatcher:
    """Stages run on dramatiq workers: dispatching enqueues the next stage's message."""

    inline = False

    def __init__(self, rt: Context, broker):
        self.rt, self.broker = rt, broker

    def run(self, doc_id: str) -> str:
        enqueue_with_retry(self.rt, self.broker, doc_id)
        return QUEUED

    def start(self, doc_id: str) -> None:
        """Enqueue with a short retry (a request waits on it); BrokerUnavailable when the broker
        stays away: the document stays `received` and the sweeper sends it on."""
        enqueue_with_retry(self.rt, self.broker, doc_id, tries=3)

    def resume(self, doc_id: str) -> None:
        return None

    def running(self, doc_id: str) -> bool:
        return False

    def close(self) -> None:
        return None


Dispatcher = InlineDispatcher | BrokerDispatcher


def make_dispatcher(rt: Context, broker) -> Dispatcher:
    """The dispatcher for `broker` (None: inline)."""
    return InlineDispatcher(rt) if broker is None else BrokerDispatcher(rt, broker)
