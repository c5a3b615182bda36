"""The production entry point starts under gunicorn and serves pages."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from app.migrations import upgrade

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_serves_the_app(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'prod.sqlite'}"
    upgrade(url)
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "UPLOAD_DIR": str(tmp_path / "up"), "SECRET_KEY": "x" * 40}
    gunicorn = Path(sys.executable).parent / "gunicorn"
    process = subprocess.Popen(
        [str(gunicorn), "-w", "2", "-b", f"127.0.0.1:{port}", "app:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = ""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    body = response.read().decode()
                    headers = response.headers
                break
            except OSError:
                time.sleep(0.1)
        assert "苏州市城管执法考核系统" in body
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    finally:
        process.terminate()
        process.wait(10)
