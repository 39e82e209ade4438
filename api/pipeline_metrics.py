"""Pipeline gauges for the API's /metrics, read from the catalog and the broker at scrape time.

    sohoa_documents{state}                               documents per state
    sohoa_document_oldest_in_flight_seconds{state}       age of the oldest document still in a
                                                         non-terminal state (0 when none)
    sohoa_documents_failed{stage}                        failed documents by the stage that failed
    sohoa_queue_messages{stage,kind}                     broker messages: pending, dead (no series
                                                         when the pipeline runs inline)
    sohoa_signing_certificate_expiry_timestamp_seconds{key}
                                                         when each configured signing key expires
    sohoa_metrics_scrape_errors{source}                  1 when a source could not be read

Per-stage run times and outcome counts (`sohoa_stage_seconds`, `sohoa_stage_runs_total`) come from
the workers (`SOHOA_METRICS_PORT`), and fsck results from `sohoa fsck --prom-textfile`. The alert
rules in docs/alerts/sohoa-rules.yml use these names; a test keeps them in step.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from pipeline.actors import queue_lengths
from pipeline.broker import get_broker
from storage.catalog import Document

log = logging.getLogger(__name__)

IN_FLIGHT = ("received", "ocr_done", "classified")
CERT_CACHE_SECONDS = 3600


class PipelineCollector:
    """A prometheus-client collector; each scrape runs two GROUP BY queries and, with a broker,
    one length query per queue. Certificate expiry is read once an hour."""

    def __init__(self, rt):
        self._rt = rt
        self._certs: tuple[float, list[tuple[str, float]]] | None = None

    def describe(self):
        return []  # collected on demand; no fixed description (keeps registration cheap)

    def collect(self):
        errors = GaugeMetricFamily("sohoa_metrics_scrape_errors",
                                   "1 when a metrics source could not be read", labels=["source"])
        for source, read in (("catalog", self._catalog), ("broker", self._queues),
                             ("signing", self._cert_expiry)):
            try:
                yield from read()
                errors.add_metric([source], 0)
            except Exception as exc:  # noqa: BLE001 - a scrape reports, never fails
                log.warning("metrics: %s unreadable: %s", source, exc)
                errors.add_metric([source], 1)
        yield errors

    def _catalog(self):
        now = datetime.now(UTC)
        states = GaugeMetricFamily("sohoa_documents", "Documents per pipeline state",
                                   labels=["state"])
        oldest = GaugeMetricFamily("sohoa_document_oldest_in_flight_seconds",
                                   "Age of the oldest document still in this state",
                                   labels=["state"])
        failed = GaugeMetricFamily("sohoa_documents_failed", "Failed documents by failed stage",
                                   labels=["stage"])
        with self._rt.session() as session:
            rows = session.execute(select(Document.state, func.count(),
                                          func.min(Document.updated_at))
                                   .group_by(Document.state)).all()
            by_stage = session.execute(select(Document.failed_stage, func.count())
                                       .where(Document.state == "failed")
                                       .group_by(Document.failed_stage)).all()
        seen = {}
        for state, count, since in rows:
            states.add_metric([state], count)
            seen[state] = since
        for state in IN_FLIGHT:
            since = seen.get(state)
            if since is not None and since.tzinfo is None:
                since = since.replace(tzinfo=UTC)
            oldest.add_metric([state], (now - since).total_seconds() if since else 0.0)
        for stage, count in by_stage:
            failed.add_metric([stage or "unknown"], count)
        yield from (states, oldest, failed)

    def _queues(self):
        if self._rt.settings.broker_url == "inline":
            return

        gauge = GaugeMetricFamily("sohoa_queue_messages", "Broker messages per stage queue",
                                  labels=["stage", "kind"])
        for stage, counts in queue_lengths(get_broker(self._rt.settings.broker_url)).items():
            for kind in ("pending", "dead"):
                if counts.get(kind) is not None:
                    gauge.add_metric([stage, kind], counts[kind])
        yield gauge

    def _cert_expiry(self):
        if self._certs is None or time.monotonic() - self._certs[0] > CERT_CACHE_SECONDS:
            found = [(label, cert["tbs_certificate"]["validity"]["not_after"].native.timestamp())
                     for label, cert in self._rt.signers.key_certificates()]
            self._certs = (time.monotonic(), found)
        gauge = GaugeMetricFamily("sohoa_signing_certificate_expiry_timestamp_seconds",
                                  "When each configured signing certificate expires",
                                  labels=["key"])
        for label, expires in self._certs[1]:
            gauge.add_metric([label], expires)
        yield gauge
