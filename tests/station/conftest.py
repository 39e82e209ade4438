"""Station fixtures: SANE test device, an in-process station server, a central API server."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn

from tests.scanners.conftest import sane_document, sane_test  # noqa: F401 - re-exported fixtures

UNIT = "00004"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """Run an ASGI app with uvicorn in a thread on 127.0.0.1 (start/stop at will)."""

    def __init__(self, app, port: int | None = None):
        self.app, self.port = app, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = None
        self.thread = None

    def start(self, wait_path: str = "/"):
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + wait_path, timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"server on {self.url} did not start")

    def stop(self):
        if self.server is not None:
            self.server.should_exit = True
            self.thread.join(timeout=15)
            self.server = None


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture
def chromium_path():
    import shutil

    from tests.conftest import service_unavailable

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        service_unavailable("Debian package chromium is not installed")
    try:
        import playwright  # noqa: F401
    except ImportError:
        service_unavailable("playwright (Python) is not installed")
    return path


CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def module_browser():
    """One Chromium for a module's tests (each opens its own context): saves a launch per test."""
    import shutil

    from playwright.sync_api import sync_playwright

    from tests.conftest import service_unavailable

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        service_unavailable("Debian package chromium is not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1360, "height": 900}, locale="vi-VN")
    pg = ctx.new_page()
    yield pg
    ctx.close()


@pytest.fixture
def artifacts():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "test-artifacts" / "station"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
