"""Shared bench helpers: start gunicorn on a free loopback port, a bounded HTTP load generator."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """``gunicorn -w 2 <app>`` on 127.0.0.1 with the given environment; stopped on exit."""

    def __init__(self, app: str, env: dict, workers: int = 2, chdir: str | None = None, threads: int = 1):
        self.port = free_port()
        self.cmd = [str(VENV_BIN / "gunicorn"), "-w", str(workers), "--threads", str(threads), "-b",
                    f"127.0.0.1:{self.port}", "--log-level", "warning", "--timeout", "120", app]
        self.env = {**os.environ, **env}
        self.chdir = chdir or str(REPO)

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, cwd=self.chdir, env=self.env)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.1)
        self.proc.kill()
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=20)


def load(port: int, make_request, *, total: int, concurrency: int, seconds: float = 120.0):
    """Send ``total`` requests from ``concurrency`` keep-alive connections (bounded in count and
    time).  ``make_request(i) -> (method, path, body, headers)``.  Returns (ok, errors, elapsed s)."""
    counter = iter(range(total))
    lock = threading.Lock()
    stats = {"ok": 0, "err": 0, "codes": {}}
    stop_at = time.time() + seconds

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.time() < stop_at:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            method, path, body, headers = make_request(i)
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                code = resp.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                code = 0
            with lock:
                stats["codes"][code] = stats["codes"].get(code, 0) + 1
                stats["ok" if 200 <= code < 300 else "err"] += 1
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return stats, time.perf_counter() - t0
