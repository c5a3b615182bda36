"""A test client that carries the page's CSRF token like a real browser.

Shared by the tests (the ``client_as`` fixture in ``tests/conftest.py``, and tests that make
their own) and by the benchmarks, so it needs Flask and the app only: no pytest, no fixtures.
"""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from app.demo import DEMO_PASSWORD

CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


class Browser:
    """A test client, logged in or not, that sends back the CSRF token of the last page it read."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token = ""

    def refresh_token(self, url: str = "/login") -> None:
        page = self.client.get(url).get_data(as_text=True)
        match = CSRF_META.search(page)
        if not match:
            raise AssertionError(f"{url} has no CSRF token")
        self.token = match.group(1)

    def login(self, username: str, password: str = DEMO_PASSWORD) -> Any:
        """Sign in through the login form; on success, take the token from the page it leads to."""
        self.refresh_token("/login")
        response = self.client.post(
            "/login", data={"username": username, "password": password, "csrf_token": self.token}
        )
        if response.status_code == 302:
            self.refresh_token(response.headers["Location"])
        return response

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        payload = dict(data or {})
        payload.setdefault("csrf_token", self.token)
        return self.client.post(url, data=payload, **kwargs)
