"""`sohoa batch import` on a real broker (Redis, then RabbitMQ) with real worker processes
(`python -m sohoa.worker`, what `sohoa worker` runs): the import only queues documents, the
workers store them, `sohoa batch status|report` reads their outcomes back from the catalog.

Mid-batch, the import is SIGKILLed (some files queued, the rest not yet looked at), run again,
and the worker is SIGKILLed (a document in its hands); a fresh worker and one more run of the
import (which skips what is done) finish the batch:
every scan ends stored exactly once (one document, one result, one signed object, one `stored`
audit event), the same scan under two names is one document, the broken file is refused with
its reason, nothing is left pending.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import service_unavailable
from tests.pipeline.conftest import DECISION, render_decision

pytestmark = [pytest.mark.services, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
SOHOA = str(Path(sys.executable).with_name("sohoa"))
SCANS = 6
LONG_SCAN_PAGES = 12
BIG = 300 << 20
WORKER_ENV = {  # quick take-over of a killed worker's document (see tests/pipeline/test_faults)
    "SOHOA_LEASE_SECONDS": "5",
    "SOHOA_RETRY_MIN_BACKOFF_MS": "300",
    "SOHOA_RETRY_MAX_BACKOFF_MS": "3000",
    "SOHOA_SWEEP_INTERVAL_S": "3",
    "SOHOA_STALE_AFTER_S": "10",
    "SOHOA_LOG_FORMAT": "text",
}


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


@contextlib.contextmanager
def _redis():
    import redis

    namespace = f"sohoa-batch-{uuid.uuid4().hex[:8]}"
    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        service_unavailable(f"Redis unreachable on 127.0.0.1:6379: {exc}")
    try:
        # a SIGKILLed worker's unacked messages are requeued after 3 s without its heartbeat
        yield (f"redis://127.0.0.1:6379/0?namespace={namespace}&heartbeat_timeout=3000"
               f"&maintenance_chance=1000000")
    finally:
        for key in client.scan_iter(f"{namespace}*"):
            client.delete(key)
        client.close()


@contextlib.contextmanager
def _rabbitmq():
    if shutil.which("rabbitmqctl") is None or not _port_open(5672):
        service_unavailable("RabbitMQ not reachable on 127.0.0.1:5672")
    vhost = f"sohoa-batch-{uuid.uuid4().hex[:8]}"
    made = subprocess.run(["rabbitmqctl", "add_vhost", vhost], capture_output=True, text=True,
                          timeout=120)
    if made.returncode != 0:
        service_unavailable(f"rabbitmqctl add_vhost failed: {made.stderr.strip()}")
    try:
        subprocess.run(["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*",
                        ".*"], check=True, capture_output=True, timeout=120)
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True, timeout=120)


@pytest.fixture(params=["redis", "rabbitmq"])
def env(request, sohoa_home):
    with (_redis() if request.param == "redis" else _rabbitmq()) as url:
        yield {**os.environ, **WORKER_ENV, "SOHOA_HOME": str(sohoa_home),
               "SOHOA_BROKER_URL": url, "SOHOA_OCR_WORKERS": "1"}


@pytest.fixture
def backlog(tmp_path) -> Path:
    """SCANS distinct decisions, one of them again under another name, and two broken PDFs.
    The last decision is a long scan (a multi-page TIFF): while a worker reads it, holding its
    lease for seconds, the others are stored — the moment the test kills the worker, reached
    whatever the machine's speed (with one-page scans only, a fast worker could leave no
    moment with a document stored and another in its hands)."""
    from PIL import Image

    folder = tmp_path / "hop-2018"
    folder.mkdir()
    for n in range(SCANS):
        lines = list(DECISION)
        lines[2] = (f"Số: {300 + n}/QĐ-UBND", DECISION[2][1])
        png = render_decision(folder / f"qd-{300 + n}.png", dpi=200, lines=lines)
        if n == SCANS - 1:
            with Image.open(png) as page:
                page.save(folder / f"qd-{300 + n}.tif", save_all=True, dpi=(200, 200),
                          append_images=[page] * (LONG_SCAN_PAGES - 1),
                          compression="tiff_deflate")
            Path(png).unlink()
    shutil.copy(folder / "qd-300.png", folder / "zz-ban-sao-qd-300.png")
    (folder / "hong.pdf").write_bytes(b"%PDF-1.4 broken")
    # a big broken file second in line: hashing and storing it holds the importer long
    # enough to be killed in the middle of the batch, whatever the machine's load
    with open(folder / "hop-lon.pdf", "wb") as big:
        big.write(b"%PDF-1.4 broken\n")
        big.truncate(BIG)
    return folder


def sohoa(env, *args, check=True):
    run = subprocess.run([SOHOA, *map(str, args)], env=env, capture_output=True, text=True,
                         timeout=300)
    if check and run.returncode != 0:
        raise AssertionError(f"sohoa {args} exited {run.returncode}: {run.stderr}")
    return run


class Worker:
    """`python -m sohoa.worker` in its own process group, so SIGKILL takes all of it."""

    def __init__(self, env: dict, log: Path):
        self.env, self.log, self.proc = env, log, None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sohoa.worker", "--processes", "1", "--threads", "2"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


@pytest.fixture
def worker(env, tmp_path):
    made = Worker(env, tmp_path / "worker.log")
    yield made
    made.stop()


def catalog(home: Path, sql: str, *args):
    with contextlib.closing(sqlite3.connect(home / "catalog.sqlite3", timeout=30)) as db:
        return db.execute(sql, args).fetchall()


def journal_counts(home: Path) -> dict[str, int]:
    """Items per outcome in the batch journal (tables of the catalog)."""
    path = home / "catalog.sqlite3"
    if not path.exists():
        return {}
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
        try:
            return dict(db.execute("SELECT status, COUNT(*) FROM batch_items GROUP BY status")
                        .fetchall())
        except sqlite3.OperationalError:  # the importer is creating the catalog
            return {}


def wait_for(predicate, timeout: float, what: str, worker: Worker, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}\n{worker.tail()}")


def import_args(backlog):
    return ["batch", "import", str(backlog), "--unit", "00004", "--procedure", "1.001193"]


def test_import_on_workers_survives_killed_import_and_worker(env, backlog, worker, sohoa_home):
    sohoa(env, "db", "upgrade")  # the catalog and TEST keys exist before processes race
    # 1. the import is killed once some files are queued, the rest not yet looked at (no
    #    worker yet: what was queued waits in the broker)
    importer = subprocess.Popen([SOHOA, *import_args(backlog)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        wait_for(lambda: journal_counts(sohoa_home).get("queued", 0) >= 1 or importer.poll()
                 is not None, 120, "a file queued", worker, interval=0.05)
        killed_mid_import = importer.poll() is None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(importer.pid, signal.SIGKILL)
        importer.wait(30)
    assert killed_mid_import, "the import ended before it could be killed: make the batch longer"
    assert journal_counts(sohoa_home).get("pending", 0) >= 1  # files not handed over yet

    # 2. a worker starts and the import is run again (it queues the rest); meanwhile
    # 3. the worker is killed with a document in its hands (a lease held), after one is stored
    worker.start()
    rerun = subprocess.Popen([SOHOA, *import_args(backlog)], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)

    def one_stored_one_leased():
        stored = catalog(sohoa_home, "SELECT COUNT(*) FROM documents WHERE state='stored'")[0][0]
        leased = catalog(sohoa_home, "SELECT COUNT(*) FROM documents "
                                     "WHERE lease_owner IS NOT NULL")[0][0]
        return stored >= 1 and leased >= 1

    try:
        wait_for(one_stored_one_leased, 300, "one document stored and one in a worker's hands",
                 worker)
        worker.stop(signal.SIGKILL)
        _, err = rerun.communicate(timeout=300)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(rerun.pid, signal.SIGKILL)
        rerun.wait(30)
    assert rerun.returncode == 0, err
    assert journal_counts(sohoa_home).get("pending", 0) == 0
    left = catalog(sohoa_home, "SELECT COUNT(*) FROM documents WHERE state NOT IN "
                               "('stored', 'needs_review', 'failed')")[0][0]
    assert left >= 1  # the worker died mid-batch

    # 4. a fresh worker, and the import once more (what is done is skipped): the batch ends
    #    with every file accounted for
    worker.start()
    rerun = sohoa(env, *import_args(backlog), "--json")
    lines = {r["file"]: r for r in map(json.loads, rerun.stdout.splitlines())}
    assert len(lines) == SCANS + 3
    assert any(r.get("skipped") for r in lines.values())  # stored before: not handed over again
    batch_id = json.loads(sohoa(env, "batch", "status", "--json").stdout.splitlines()[0])["id"]

    def finished():
        report = json.loads(sohoa(env, "batch", "report", batch_id, "--json").stdout)
        return report if report["finished"] else None

    report = wait_for(finished, 420, "the batch to finish", worker)
    items = {i["name"]: i for i in report["items"]}
    counts = report["counts"]
    assert counts["pending"] == counts["queued"] == 0, counts
    outcomes = {name: (i["status"], i["reason"]) for name, i in items.items()}
    assert counts["stored"] + counts["needs_review"] == SCANS + 1, (outcomes, worker.tail())
    assert counts["refused"] == 2, outcomes
    for broken in ("hong.pdf", "hop-lon.pdf"):
        assert items[broken]["status"] == "refused" and broken in items[broken]["reason"]
    assert items["zz-ban-sao-qd-300.png"]["document_id"] == items["qd-300.png"]["document_id"]

    # exactly once: one document per distinct scan, one result and one `stored` event per
    # stored document, one signed object each
    docs = catalog(sohoa_home, "SELECT id, state, signed_key FROM documents")
    assert len(docs) == SCANS + 2  # + the broken files, kept (quarantined) with their failure
    states = sorted(state for _, state, _ in docs)
    assert states.count("failed") == 2
    stored = [(doc_id, key) for doc_id, state, key in docs if state == "stored"]
    assert len(stored) + states.count("needs_review") == SCANS
    assert catalog(sohoa_home, "SELECT COUNT(*) FROM results")[0][0] == len(stored)
    events = dict(catalog(sohoa_home, "SELECT document_id, COUNT(*) FROM audit_events "
                                      "WHERE action='stored' GROUP BY document_id"))
    assert events == {doc_id: 1 for doc_id, _ in stored}
    objects = sohoa_home / "objects"
    for _doc_id, key in stored:
        folder = (objects / key).parent
        assert len(list(folder.glob("signed-*.pdf"))) == 1, sorted(folder.iterdir())
    status = sohoa(env, "batch", "status").stdout
    assert f"{batch_id}  import done" in status
