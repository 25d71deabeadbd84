"""Shared helpers for tests in real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright; never ``playwright install``).  Without chromium the tests skip, except under
``CIVIC_REQUIRE_SERVICES=1`` (CI), where they fail."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

needs_chromium = pytest.mark.skipif(
    not shutil.which(CHROMIUM) and os.environ.get("CIVIC_REQUIRE_SERVICES") != "1",
    reason="needs Debian's chromium at /usr/bin/chromium (scripts/setup --test installs it)",
)


@contextlib.contextmanager
def served(app):
    """The app on a free loopback port, in a thread; yields its base URL."""
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        t.join(5)


@contextlib.contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
