"""A real worker process (`python -m sohoa.worker`, what `sohoa worker` forks) boots from the
composition root, takes a document submitted with `sohoa submit` off Redis and stores it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import service_unavailable
from tests.pipeline.conftest import render_decision

ROOT = Path(__file__).resolve().parents[2]
SOHOA = str(Path(sys.executable).with_name("sohoa"))


@pytest.fixture
def redis_env(sohoa_home):
    import redis

    namespace = f"sohoa-worker-{uuid.uuid4().hex[:8]}"
    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        service_unavailable(f"Redis unreachable on 127.0.0.1:6379: {exc}")
    yield {**os.environ, "SOHOA_HOME": str(sohoa_home), "SOHOA_LOG_FORMAT": "json",
           "SOHOA_BROKER_URL": f"redis://127.0.0.1:6379/0?namespace={namespace}",
           "SOHOA_SWEEP_INTERVAL_S": "3600"}
    for key in client.scan_iter(f"{namespace}*"):
        client.delete(key)
    client.close()


def test_worker_process_stores_a_submitted_scan(redis_env, tmp_path):
    scan = render_decision(tmp_path / "qd.png", dpi=200)
    submitted = subprocess.run([SOHOA, "submit", str(scan), "--unit", "00004", "--json"],
                               env=redis_env, capture_output=True, text=True, timeout=120)
    assert submitted.returncode == 0, submitted.stderr
    doc_id = json.loads(submitted.stdout)["document_id"]
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen([sys.executable, "-m", "sohoa.worker", "--processes", "1",
                                   "--threads", "1"], cwd=ROOT, env=redis_env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, state = time.monotonic() + 120, None
        while time.monotonic() < deadline and state not in ("stored", "failed", "needs_review"):
            time.sleep(1)
            shown = subprocess.run([SOHOA, "show", doc_id, "--json"], env=redis_env,
                                   capture_output=True, text=True, timeout=60)
            state = json.loads(shown.stdout)["state"]
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
    text = log.read_text(errors="replace")
    assert state == "stored", text[-3000:]
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert {(r.get("stage"), r["msg"].split(" ")[0]) for r in lines
            if r.get("document_id") == doc_id} >= {("ocr", "ocr"), ("sign", "sign")}
