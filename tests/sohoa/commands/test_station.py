"""`sohoa station` checks its set-up before the counter opens: an unknown unit, a server that
cannot be reached and a key the server refuses each stop it with a one-line message (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.station.conftest import free_port
from tests.station.test_browser_outage import central  # noqa: F401 - fixture


def test_wrong_setup_stops_the_station_with_a_clear_message(central, tmp_path):  # noqa: F811
    api, _key = central
    api.start(wait_path="/healthz")
    base = [sys.executable, "-m", "sohoa.cli", "station", "--port", str(free_port()),
            "--no-recognize"]
    cases = {
        "unit": (base + ["--unit", "99999", "--spool", str(tmp_path / "s1")], {}),
        "server": (base + ["--unit", "00004", "--server", f"http://127.0.0.1:{free_port()}",
                           "--spool", str(tmp_path / "s2")], {"SOHOA_STATION_API_KEY": "x"}),
        "key": (base + ["--unit", "00004", "--server", api.url, "--spool", str(tmp_path / "s3")],
                {"SOHOA_STATION_API_KEY": "sai-khoa"}),
    }
    procs = {name: subprocess.Popen(cmd, env={**os.environ, "SOHOA_HOME": str(tmp_path / name),
                                               **extra},
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, (cmd, extra) in cases.items()}  # together: one interpreter start of wait
    out = {}
    for name, proc in procs.items():
        try:
            _stdout, stderr = proc.communicate(timeout=90)
        finally:
            proc.kill()
        out[name] = (proc.returncode, stderr.strip())
    for name, (code, stderr) in out.items():
        assert code == 2, (name, stderr)
        assert len(stderr.splitlines()) == 1 and "Traceback" not in stderr, (name, stderr)
    assert "unknown unit code '99999'" in out["unit"][1]
    assert "is not reachable" in out["server"][1]
    assert "refused the API key" in out["key"][1] and "HTTP 401" in out["key"][1]
