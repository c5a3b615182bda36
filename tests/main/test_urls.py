"""A URL's first segment names the package that serves it (the table in docs/architecture.md), and
the pages that moved for it still answer their old address."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.db

# First path segment → the package under app/ whose routes serve it.
PACKAGE_OF_PREFIX = {
    "": "main",
    "healthz": "main",
    "admin": "main",  # only the redirects of pages that moved
    "login": "accounts",
    "logout": "accounts",
    "account": "accounts",  # one's own password and contact details
    "accounts": "accounts",  # the administrator's user and token management
    "api": "api",
    "calendar": "calendar",
    "deadlines": "deadlines",
    "evidence": "evidence",
    "notices": "notices",
    "verify": "notices",  # printed on issued PDFs: it cannot move
    "notifications": "notifications",
    "rounds": "rounds",
    "schemes": "schemes",
    "tasks": "tasks",
}


def test_every_url_is_served_by_the_package_its_first_segment_names(app) -> None:
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "api-docs.openapi_json"):
            continue
        first = rule.rule.strip("/").split("/")[0]
        module = app.view_functions[rule.endpoint].__module__
        expected = PACKAGE_OF_PREFIX.get(first)
        assert expected is not None, f"{rule.rule}: no package is named for /{first}"
        assert module.startswith(f"app.{expected}."), f"{rule.rule} is served by {module}, not app.{expected}"


def test_moved_pages_answer_their_old_address(app, demo, client_as) -> None:
    admin = client_as("admin")
    for old, new, heading in (
        ("/admin/users", "/accounts/users", "用户管理"),
        ("/admin/calendar", "/calendar", "工作日历"),
        ("/admin/jobs", "/deadlines", "定时任务"),
    ):
        moved = admin.get(old)
        assert moved.status_code == 301, old
        assert moved.headers["Location"].endswith(new), old
        assert heading in admin.get(old, follow_redirects=True).get_data(as_text=True), old
