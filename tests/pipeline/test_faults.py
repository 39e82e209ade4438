"""Crash safety of the distributed pipeline, for real: worker processes on a real broker, a real
PostgreSQL and a real S3 store (SeaweedFS), and in each test one part fails mid-run:

- a worker SIGKILLed in the middle of OCR, then a fresh worker (Redis);
- the broker restarted (RabbitMQ `stop_app`/`start_app`; our own Redis with AOF);
- the object store frozen for a while (SeaweedFS SIGSTOP … SIGCONT);
- the database restarted (our own PostgreSQL cluster, `pg_ctl restart`).

Every submitted document must end stored exactly once (one catalog row, one result, one
searchable and one signed object, one `stored` audit event) or failed with a reason (a corrupt
file: failed at once, not retried). Nothing may be silently lost.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import service_unavailable
from tests.pipeline.conftest import DECISION, render_decision

pytestmark = [pytest.mark.services, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
TERMINAL = ("stored", "failed", "needs_review")
WORKER_ENV = {
    "SOHOA_LEASE_SECONDS": "4",
    "SOHOA_RETRY_MIN_BACKOFF_MS": "300",
    "SOHOA_RETRY_MAX_BACKOFF_MS": "3000",
    "SOHOA_MAX_ATTEMPTS": "40",
    "SOHOA_SWEEP_INTERVAL_S": "3",  # a message lost in a broker restart is re-sent quickly
    "SOHOA_STALE_AFTER_S": "8",
    "SOHOA_LOG_LEVEL": "INFO",
}
_counter = iter(range(1, 10_000))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


# --- our own PostgreSQL cluster (so it can be restarted) ------------------------------------
class PgCluster:
    def __init__(self, root: Path):
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not bins:
            raise FileNotFoundError("initdb not found under /usr/lib/postgresql")
        self.bin = bins[-1].parent
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str, check=True, timeout=60):
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout)

    def init(self) -> None:
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "pg.log"), "-w", "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                  "-c fsync=off -c max_connections=200", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture(scope="module")
def postgres():
    root = Path(tempfile.mkdtemp(prefix="sohoa-pg-"))
    os.chmod(root, 0o755)
    cluster = PgCluster(root)
    try:
        cluster.init()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        service_unavailable(f"cannot run a PostgreSQL cluster: {getattr(exc, 'stderr', exc)}")
    yield cluster
    cluster.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory):
    from tests.support.seaweedfs import SeaweedUnavailable, start_seaweedfs

    try:
        server = start_seaweedfs(tmp_path_factory.mktemp("seaweed"))
    except (SeaweedUnavailable, OSError) as exc:
        service_unavailable(f"SeaweedFS unavailable: {exc}")
    yield server
    server.stop()


class Redis:
    """Our own redis-server (append-only, fsync always, unless `persistent=False`) so it can be
    restarted mid-run."""

    def __init__(self, workdir: Path, persistent: bool = True):
        self.workdir, self.port, self.process = workdir, free_port(), None
        self.persistent = persistent

    def start(self) -> None:
        durability = (["--appendonly", "yes", "--appendfsync", "always"] if self.persistent
                      else ["--appendonly", "no"])
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             *durability, "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        if not wait_port(self.port):
            raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def url(self, namespace: str) -> str:
        # a dead worker's messages are requeued 2 s after its last heartbeat
        return (f"redis://127.0.0.1:{self.port}/0?namespace={namespace}"
                "&heartbeat_timeout=2000&maintenance_chance=1000000")

    def plain_url(self, namespace: str) -> str:
        """The URL an operator writes: the shipped heartbeat and maintenance defaults."""
        return f"redis://127.0.0.1:{self.port}/0?namespace={namespace}"


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    if shutil.which("redis-server") is None:
        service_unavailable("redis-server not installed")
    server = Redis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def rabbit_vhost():
    if shutil.which("rabbitmqctl") is None or not wait_port(5672, 2):
        service_unavailable("RabbitMQ not reachable on 127.0.0.1:5672")
    vhost = f"sohoa-test-{uuid.uuid4().hex[:8]}"
    made = subprocess.run(["rabbitmqctl", "add_vhost", vhost], capture_output=True, text=True,
                          timeout=60)
    if made.returncode != 0:
        service_unavailable(f"rabbitmqctl add_vhost failed: {made.stderr.strip()}")
    subprocess.run(["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                   check=True, capture_output=True, timeout=60)
    yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, postgres, seaweed):
    """SOHOA_HOME + PostgreSQL + a SeaweedFS bucket, warmed by one document run inline
    (schema, seed, TEST PKI and the unit's certificate exist before workers race for them)."""
    home = tmp_path_factory.mktemp("home")
    bucket = f"sohoa-faults-{uuid.uuid4().hex[:8]}"
    env = {
        "SOHOA_HOME": str(home),
        "SOHOA_DATABASE_URL": postgres.url,
        "SOHOA_STORAGE_URL": seaweed.bucket_url(bucket, tries=2, backoff=0.2, timeout=2),
        "SOHOA_BROKER_URL": "inline",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    from sohoa.runtime import get_runtime
    from sohoa.settings import get_settings

    get_settings.cache_clear()
    rt = get_runtime(get_settings())
    from pipeline.dispatch import InlineDispatcher
    from pipeline.submission import submit

    [warm] = submit(rt, InlineDispatcher(rt), [make_scan(home)], unit_code="00004")
    assert warm["status"] == "stored", warm
    yield {"env": env, "rt": rt, "home": home, "postgres": postgres, "seaweed": seaweed}
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()


def make_scan(folder: Path) -> Path:
    n = next(_counter)
    lines = list(DECISION)
    lines[2] = (f"Số: {100 + n}/QĐ-UBND", DECISION[2][1])
    return render_decision(Path(folder) / f"scan-{uuid.uuid4().hex[:6]}-{n}.png", dpi=200,
                           lines=lines)


class Workers:
    """`python -m sohoa.worker` in its own process group (so SIGKILL takes all of it)."""

    def __init__(self, env: dict, log_dir: Path):
        # the test tunables, unless a test asks for the shipped defaults (a value of None)
        merged = {**os.environ, **WORKER_ENV, **env}
        self.env = {k: v for k, v in merged.items() if v is not None}
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []

    def start(self, processes: int = 1, threads: int = 2) -> subprocess.Popen:
        log = open(self.log_dir / f"worker-{len(self.procs)}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [PY, "-m", "sohoa.worker", "--processes", str(processes), "--threads",
             str(threads)], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(20)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill(proc)

    def logs(self, tail: int | None = 3000) -> str:
        texts = [p.read_text(errors="replace") for p in sorted(self.log_dir.glob("worker-*.log"))]
        return "\n".join(t[-tail:] if tail else t for t in texts)


@pytest.fixture
def workers_factory(tmp_path):
    made = []

    def make(env):
        workers = Workers(env, tmp_path)
        made.append(workers)
        return workers

    yield make
    for workers in made:
        workers.stop_all()


def use_broker(stack, url: str):
    from pipeline.broker import get_broker, reset_broker

    reset_broker()
    env = {**stack["env"], "SOHOA_BROKER_URL": url}
    return env, get_broker(url)


def submit_scans(stack, broker, count: int, extra: list[Path] = ()) -> list[str]:
    from pipeline.dispatch import BrokerDispatcher
    from pipeline.submission import submit

    paths = [make_scan(stack["home"]) for _ in range(count)] + list(extra)
    records = submit(stack["rt"], BrokerDispatcher(stack["rt"], broker), paths, unit_code="00004",
                     procedure="1.001193")
    assert all(r["status"] == "queued" for r in records), records
    return [r["document_id"] for r in records]


def doc_states(rt, ids) -> dict[str, str]:
    """State per document; "leased" while a worker still holds it (a stage that has just
    committed its state releases the lease right after)."""
    from storage.catalog import Document

    with rt.session() as session:
        rows = session.execute(select(Document.id, Document.state, Document.lease_owner)
                               .where(Document.id.in_(ids))).all()
    return {doc_id: "leased" if owner else state for doc_id, state, owner in rows}


def wait_for(predicate, timeout: float, what: str, workers: Workers | None = None,
             interval: float = 0.2):
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - the database may be restarting
            last_error = exc
        time.sleep(interval)
    logs = workers.logs() if workers else ""
    raise AssertionError(f"timed out waiting for {what} (last error: {last_error})\n{logs}")


def wait_terminal(rt, ids, workers, timeout=90) -> dict[str, str]:
    return wait_for(lambda: (s := doc_states(rt, ids)) and all(v in TERMINAL for v in s.values())
                    and len(s) == len(ids) and s, timeout, "documents to finish", workers)


def assert_stored_once(rt, ids) -> None:
    from pipeline.outputs import object_prefix
    from storage.catalog import AuditEvent, Document, Result

    with rt.session() as session:
        for doc_id in ids:
            doc = session.get(Document, doc_id)
            assert doc.state == "stored", (doc_id, doc.state, doc.error)
            assert doc.lease_owner is None and doc.attempts == 0
            results = session.scalar(select(func.count()).select_from(Result)
                                     .where(Result.id == doc.result_id))
            assert results == 1
            stored_events = session.scalar(
                select(func.count()).select_from(AuditEvent)
                .where(AuditEvent.document_id == doc_id, AuditEvent.action == "stored"))
            assert stored_events == 1, f"{doc_id}: stored {stored_events} times"
            keys = list(rt.objects.iter_keys(object_prefix(doc) + "/"))
            names = sorted(k.rsplit("/", 1)[-1].split("-")[0] for k in keys)
            assert names == ["original.png", "searchable", "signed"], (doc_id, keys)
            assert doc.signed_key in keys and doc.pdf_key in keys
            assert rt.objects.get_bytes(doc.signed_key).startswith(b"%PDF-")
        # one document per scan, one result per document
        assert session.scalar(select(func.count()).select_from(Document)
                              .where(Document.id.in_(ids))) == len(ids)
        assert session.scalar(select(func.count(func.distinct(Document.result_id)))
                              .where(Document.id.in_(ids))) == len(ids)


def lease_taken(rt, ids, state="received") -> str | None:
    from storage.catalog import Document

    with rt.session() as session:
        return session.scalar(select(Document.id).where(
            Document.id.in_(ids), Document.state == state, Document.lease_owner.is_not(None)))


# --- the faults -----------------------------------------------------------------------------
def test_worker_sigkilled_mid_ocr_then_new_worker(stack, redis_server, workers_factory,
                                                  tmp_path):
    env, broker = use_broker(stack, redis_server.url(f"kill{uuid.uuid4().hex[:6]}"))
    rt = stack["rt"]
    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(3000))
    ids = submit_scans(stack, broker, 3, extra=[corrupt])
    workers = workers_factory(env)
    first = workers.start()
    victim = wait_for(lambda: lease_taken(rt, ids[:3]), 60, "OCR to start", workers,
                      interval=0.05)
    time.sleep(0.3)  # inside Tesseract
    workers.kill(first)  # SIGKILL the whole worker (dramatiq parent and its process)
    from storage.catalog import Document

    with rt.session() as session:  # it really died mid-OCR, holding the lease
        victim_doc = session.get(Document, victim)
        assert victim_doc.state == "received" and victim_doc.lease_owner
    workers.start()
    states = wait_terminal(rt, ids, workers)
    assert states[ids[3]] == "failed"
    assert_stored_once(rt, ids[:3])
    from pipeline.submission import document_history

    broken = document_history(rt, ids[3])
    assert broken["failed_stage"] == "ocr" and broken["error"] and broken["attempts"] == 1
    assert broken["original_key"].startswith("quarantine/")


def test_rabbitmq_restarted_mid_run(stack, rabbit_vhost, workers_factory):
    env, broker = use_broker(stack, rabbit_vhost)
    rt = stack["rt"]
    ids = submit_scans(stack, broker, 4)
    workers = workers_factory(env)
    workers.start()
    wait_for(lambda: "stored" in doc_states(rt, ids).values() or lease_taken(rt, ids, "ocr_done")
             or lease_taken(rt, ids, "classified"), 60, "the first document to move on", workers,
             interval=0.05)
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=60)
    try:
        time.sleep(3)
    finally:
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True,
                       timeout=120)
    wait_terminal(rt, ids, workers, timeout=120)
    assert_stored_once(rt, ids)


def test_redis_restarted_mid_run(stack, redis_server, workers_factory):
    env, broker = use_broker(stack, redis_server.url(f"restart{uuid.uuid4().hex[:6]}"))
    rt = stack["rt"]
    ids = submit_scans(stack, broker, 3)
    workers = workers_factory(env)
    workers.start()
    wait_for(lambda: lease_taken(rt, ids), 60, "OCR to start", workers, interval=0.05)
    redis_server.stop()
    time.sleep(2)
    redis_server.start()
    wait_terminal(rt, ids, workers)
    assert_stored_once(rt, ids)


def test_object_store_frozen_for_a_while(stack, redis_server, workers_factory):
    env, broker = use_broker(stack, redis_server.url(f"s3{uuid.uuid4().hex[:6]}"))
    rt, seaweed = stack["rt"], stack["seaweed"]
    ids = submit_scans(stack, broker, 3)
    workers = workers_factory(env)
    workers.start()
    wait_for(lambda: lease_taken(rt, ids), 60, "OCR to start", workers, interval=0.05)
    seaweed.pause()
    try:
        time.sleep(8)  # several stage attempts meet the outage
    finally:
        seaweed.resume()
    wait_terminal(rt, ids, workers)
    assert_stored_once(rt, ids)
    from storage.catalog import AuditEvent

    with rt.session() as session:  # the outage was met, and not recorded as a failure
        assert not session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.document_id.in_(ids), AuditEvent.action == "failed"))
    assert "will retry: S3 endpoint" in workers.logs(tail=None)  # the outage was met


def test_database_restarted_mid_run(stack, redis_server, workers_factory):
    env, broker = use_broker(stack, redis_server.url(f"db{uuid.uuid4().hex[:6]}"))
    rt, postgres = stack["rt"], stack["postgres"]
    ids = submit_scans(stack, broker, 3)
    workers = workers_factory(env)
    workers.start()
    wait_for(lambda: lease_taken(rt, ids), 60, "OCR to start", workers, interval=0.05)
    postgres.stop()
    try:
        time.sleep(4)
    finally:
        postgres.start()
    wait_terminal(rt, ids, workers)
    assert_stored_once(rt, ids)


# --- recovery bounds with the shipped defaults (docs/operations.md states them) --------------
SHIPPED_DEFAULTS = {"SOHOA_LEASE_SECONDS": None, "SOHOA_SWEEP_INTERVAL_S": None,
                    "SOHOA_STALE_AFTER_S": None}


def taken_over(rt, doc_id: str, dead_owner: str) -> bool:
    from storage.catalog import Document

    with rt.session() as session:
        doc = session.get(Document, doc_id)
        return doc.state != "received" or bool(doc.lease_owner and doc.lease_owner != dead_owner)


def test_sigkilled_worker_taken_over_within_a_minute_by_default(stack, redis_server,
                                                                 workers_factory):
    env, broker = use_broker(stack, redis_server.plain_url(f"bound{uuid.uuid4().hex[:6]}"))
    env = {**env, **SHIPPED_DEFAULTS}
    rt = stack["rt"]
    [doc_id] = submit_scans(stack, broker, 1)
    workers = workers_factory(env)
    first = workers.start()
    wait_for(lambda: lease_taken(rt, [doc_id]), 60, "OCR to start", workers, interval=0.05)
    from storage.catalog import Document

    with rt.session() as session:
        dead_owner = session.get(Document, doc_id).lease_owner
    workers.kill(first)
    killed = time.monotonic()
    workers.start()
    wait_for(lambda: taken_over(rt, doc_id, dead_owner), 75, "another worker to take over",
             workers, interval=0.2)
    elapsed = time.monotonic() - killed
    print(f"\nSIGKILLed worker's document taken over after {elapsed:.1f} s")
    assert elapsed <= 60, f"taken over after {elapsed:.1f} s"
    wait_terminal(rt, [doc_id], workers)
    assert_stored_once(rt, [doc_id])


@pytest.fixture
def volatile_redis(tmp_path):
    if shutil.which("redis-server") is None:
        service_unavailable("redis-server not installed")
    server = Redis(tmp_path / "volatile", persistent=False)
    server.workdir.mkdir()
    server.start()
    yield server
    server.stop()


def test_redis_restart_without_persistence_recovers_within_two_minutes(stack, volatile_redis,
                                                                       workers_factory):
    env, broker = use_broker(stack, volatile_redis.plain_url(f"vol{uuid.uuid4().hex[:6]}"))
    env = {**env, **SHIPPED_DEFAULTS}
    rt = stack["rt"]
    ids = submit_scans(stack, broker, 2)
    workers = workers_factory(env)
    workers.start(processes=1, threads=1)  # one at a time: the second waits in the queue
    wait_for(lambda: lease_taken(rt, ids), 60, "OCR to start", workers, interval=0.05)
    volatile_redis.stop()  # every queued message is gone
    volatile_redis.start()
    restarted = time.monotonic()
    wait_terminal(rt, ids, workers, timeout=150)
    elapsed = time.monotonic() - restarted
    print(f"\nRedis restarted without persistence: all in-flight documents stored after "
          f"{elapsed:.1f} s")
    assert elapsed <= 120, f"stored after {elapsed:.1f} s"
    assert_stored_once(rt, ids)
