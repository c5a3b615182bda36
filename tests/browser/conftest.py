"""Browser fixtures: the app on a live werkzeug server, driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from app import create_app
from app.db import db
from app.demo import DEMO_PASSWORD, seed_demo
from app.migrations import upgrade

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

expect.set_options(timeout=10_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)
            if not Path(CHROMIUM).exists():
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} not found: apt-get install -y chromium"))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch the Debian Chromium; `playwright install` cannot download browsers here."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found: apt-get install -y chromium")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@dataclass
class LiveServer:
    url: str
    app: Flask
    upload_dir: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A freshly migrated SQLite database with the demo data and an open round, served over HTTP."""
    url = f"sqlite:///{tmp_path / 'browser.sqlite'}"
    upgrade(url)
    upload_dir = tmp_path / "uploads"
    app = create_app(
        {
            "DATABASE_URL": url,
            "UPLOAD_DIR": str(upload_dir),
            "NOTICE_DIR": str(tmp_path / "notices"),
            "TESTING": False,
            "SCHEDULER_ENABLED": False,
            "SECRET_KEY": "browser-test-secret",
        }
    )
    with app.app_context(), db.transaction() as session:
        seed_demo(session, with_round=True)
    db.Session.remove()

    server = make_server("127.0.0.1", _free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.port}", app, upload_dir)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        db.Session.remove()
        assert db.engine is not None
        db.engine.dispose()


@pytest.fixture
def phone_page(browser: Browser) -> Iterator[Page]:
    """A page in a phone-sized touch context (390x844, like a current iPhone)."""
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login(live_server: LiveServer) -> Callable[[Page, str], None]:
    def do_login(page: Page, username: str) -> None:
        page.goto(f"{live_server.url}/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page).not_to_have_url(re.compile(r"/login"))
        expect(page.get_by_test_id("inbox-count")).to_be_attached()

    return do_login


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
