"""Every route and API endpoint refuses users without the role or district (403/404)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.accounts.operations import create_api_token, create_user
from app.api.routes import ENDPOINT_SCOPES
from app.db import db
from app.demo import DEMO_PASSWORD
from tests.csrf_client import Browser

pytestmark = pytest.mark.db

ANON = "anonymous"
USERS = [ANON, "liaison_wujiang", "liaison_gusu", "inspector1", "leader", "ops", "admin"]
CITY = {"inspector1", "leader", "ops", "admin"}
CASE = CITY - {"ops"}  # 运维 runs the system and reads no district's case files
LOGGED_IN = set(USERS) - {ANON}
REFUSED = {401, 403, 404}
# Identities beside the signed-in users: bearer tokens (which reach only the API endpoints their
# scopes name, and no page), and a session cookie copied before its owner signed out.
TOKENS = {
    "token:liaison_gusu": ("liaison_gusu", {"tasks", "rounds"}),
    "token:admin": ("admin", {"tasks", "rounds"}),
    "token:integration": ("zhkh_export", {"export"}),
}
REPLAYED = "replayed:admin"


# (method, url template, who may pass). Every rule of the URL map must appear here.
def access_table(w: dict) -> list[tuple[str, str, str, set[str]]]:
    r, t = w["round"], w["task"]
    return [
        ("main.healthz", "GET", "/healthz", set(USERS)),
        ("accounts.login", "GET", "/login", set(USERS)),
        ("accounts.login", "POST", "/login", set()),  # credentials decide; tested in the account tests
        ("accounts.change_password", "POST", "/account/password", LOGGED_IN),
        ("accounts.users", "POST", "/accounts/users", {"admin"}),
        ("rounds.new", "POST", "/rounds/new", {"admin"}),
        ("accounts.logout", "POST", "/logout", set()),  # harmless for anyone; not asserted
        ("accounts.change_password", "GET", "/account/password", LOGGED_IN),
        ("accounts.contact", "POST", "/account/contact", LOGGED_IN),
        ("accounts.users", "GET", "/accounts/users", {"admin"}),
        ("accounts.revoke_token", "POST", "/accounts/tokens/1/revoke", {"admin"}),
        ("accounts.create_token", "POST", "/accounts/tokens", {"admin"}),
        ("rounds.cancel", "POST", f"/rounds/{r}/cancel", {"admin"}),
        ("rounds.export", "GET", f"/rounds/{r}/export.csv", {"admin", "leader"}),
        ("api.export_round", "GET", f"/api/rounds/{r}/export", LOGGED_IN | {"zhkh_export"}),
        ("calendar.index", "GET", "/calendar", {"admin"}),
        ("notifications.index", "GET", "/notifications", LOGGED_IN),
        ("notifications.read", "POST", "/notifications/1/read", LOGGED_IN),
        ("notifications.read_all", "POST", "/notifications/read-all", LOGGED_IN),
        ("calendar.index", "POST", "/calendar", {"admin"}),
        ("calendar.delete", "POST", "/calendar/2026-10-01/delete", {"admin"}),
        ("deadlines.index", "GET", "/deadlines", {"admin", "ops"}),
        ("notices.verify", "GET", "/verify", set(USERS)),
        ("notices.numbering", "GET", "/notices/numbering", {"admin"}),
        ("notices.numbering", "POST", "/notices/numbering", {"admin"}),
        ("rounds.correct", "GET", f"/rounds/{r}/districts/{w['gusu']}/correct", {"admin"}),
        ("rounds.correct", "POST", f"/rounds/{r}/districts/{w['gusu']}/correct", {"admin"}),
        ("rounds.notice_progress", "GET", f"/rounds/{r}/notices/progress", CITY),
        ("rounds.retry_notices", "POST", f"/rounds/{r}/notices/retry", {"admin"}),
        ("notices.verify", "POST", "/verify", set(USERS)),  # public and rate-limited; see the notice tests
        ("notices.download", "GET", f"/notices/{w['notice']}.pdf", {"inspector1", "admin", "liaison_gusu"}),
        ("deadlines.retry_outbox", "POST", "/deadlines/outbox/retry", {"admin", "ops"}),
        ("deadlines.retry_incident", "POST", "/deadlines/incidents/1/retry", {"admin"}),
        ("tasks.extend_deadline", "GET", f"/tasks/{t}/deadline", {"admin"}),
        ("tasks.extend_deadline", "POST", f"/tasks/{t}/deadline", {"admin"}),
        ("accounts.set_active", "POST", f"/accounts/users/{w['user']}/active", {"admin"}),
        ("accounts.reset_password", "POST", f"/accounts/users/{w['user']}/password", {"admin"}),
        ("accounts.move_district", "POST", f"/accounts/users/{w['user']}/district", {"admin"}),
        ("main.home", "GET", "/", LOGGED_IN),
        # Moved pages answer their old GET address with a redirect, for bookmarks.
        ("main.moved_accounts_users", "GET", "/admin/users", set(USERS)),
        ("main.moved_calendar_index", "GET", "/admin/calendar", set(USERS)),
        ("main.moved_deadlines_index", "GET", "/admin/jobs", set(USERS)),
        ("tasks.inbox", "GET", "/tasks", LOGGED_IN),
        ("tasks.show", "GET", f"/tasks/{t}", {"inspector1", "admin"}),
        ("tasks.show", "POST", f"/tasks/{t}", {"inspector1", "admin"}),
        ("tasks.claim", "POST", f"/tasks/{t}/claim", {"inspector1", "admin"}),
        ("tasks.release", "POST", f"/tasks/{t}/release", {"inspector1", "admin"}),
        ("tasks.reassign", "POST", f"/tasks/{t}/reassign", {"admin"}),
        ("rounds.index", "GET", "/rounds", LOGGED_IN),
        ("rounds.new", "GET", "/rounds/new", {"admin"}),
        ("rounds.overview", "GET", f"/rounds/{r}", CITY | {"liaison_wujiang", "liaison_gusu"}),
        ("rounds.diagram", "GET", f"/rounds/{r}/instances/{w['instance']}/diagram", CITY | {"liaison_gusu"}),
        ("rounds.annual", "GET", "/rounds/annual/2026", LOGGED_IN),
        ("rounds.results", "GET", f"/rounds/{r}/results", {"admin"}),
        ("rounds.district", "GET", f"/rounds/{r}/districts/{w['gusu']}", CASE | {"liaison_gusu"}),
        (
            "rounds.district_notice_progress",
            "GET",
            f"/rounds/{r}/districts/{w['gusu']}/notices/progress",
            CASE | {"liaison_gusu"},
        ),
        ("evidence.download", "GET", f"/evidence/{w['evidence']}", CASE | {"liaison_gusu"}),
        ("evidence.view", "GET", f"/evidence/{w['evidence']}/view", CASE | {"liaison_gusu"}),
        ("api-docs.openapi_json", "GET", "/api/openapi.json", set(USERS)),
        ("api.token", "POST", "/api/auth/token", set()),  # credentials decide; tested in the API tests
        ("api.list_tasks", "GET", "/api/tasks", LOGGED_IN),
        ("api.get_task", "GET", f"/api/tasks/{t}", {"inspector1", "admin"}),
        ("api.claim", "POST", f"/api/tasks/{t}/claim", {"inspector1", "admin"}),
        ("api.release", "POST", f"/api/tasks/{t}/release", {"inspector1", "admin"}),
        ("api.complete", "POST", f"/api/tasks/{t}/complete", {"inspector1", "admin"}),
        ("api.draft", "POST", f"/api/tasks/{t}/draft", {"inspector1", "admin"}),
        ("api.get_round", "GET", f"/api/rounds/{r}", LOGGED_IN),
        ("api.get_scores", "GET", f"/api/rounds/{r}/scores", LOGGED_IN),
        *scheme_routes(w["scheme"], w["indicator"]),
    ]


def scheme_routes(s: int, i: int) -> list[tuple[str, str, str, set[str]]]:
    """考核细则: city staff read, the administrator changes (the world's scheme is locked by its round)."""
    indicator = f"/schemes/{s}/indicators/{i}"
    return [
        ("schemes.index", "GET", "/schemes", CITY),
        ("schemes.show", "GET", f"/schemes/{s}", CITY),
        ("schemes.export", "GET", f"/schemes/{s}/export.xlsx", CITY),
        ("schemes.export", "GET", f"/schemes/{s}/export.json", CITY),
        ("schemes.import_scheme", "POST", "/schemes/import", {"admin"}),
        ("schemes.clone", "POST", f"/schemes/{s}/clone", {"admin"}),
        ("schemes.activate", "POST", f"/schemes/{s}/activate", {"admin"}),
        ("schemes.settings", "POST", f"/schemes/{s}/settings", {"admin"}),
        ("schemes.new_indicator", "GET", f"/schemes/{s}/indicators/new", {"admin"}),
        ("schemes.new_indicator", "POST", f"/schemes/{s}/indicators/new", {"admin"}),
        ("schemes.edit_indicator", "GET", f"{indicator}/edit", {"admin"}),
        ("schemes.edit_indicator", "POST", f"{indicator}/edit", {"admin"}),
        ("schemes.shift_indicator", "POST", f"{indicator}/shift", {"admin"}),
        ("schemes.move_indicator", "POST", f"{indicator}/move", {"admin"}),
        ("schemes.delete_indicator", "POST", f"{indicator}/delete", {"admin"}),
    ]


def test_access_table_covers_every_route(app, world) -> None:
    listed = {(endpoint, method) for endpoint, method, _url, _who in access_table(world)}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (rule.endpoint, method) in listed, f"{rule.endpoint} {method} has no access expectation"


def _refused(response) -> bool:
    if response.status_code in REFUSED:
        return True
    return response.status_code == 302 and "/login" in response.headers.get("Location", "")


class Identity:
    """Who sends the request: a signed-in browser, a bearer token (riding on an anonymous browser
    that holds a valid CSRF token, so the login check is what refuses a page), or a cookie replayed
    after its owner signed out."""

    def __init__(self, browser: Browser, bearer: str = "") -> None:
        self.browser, self.bearer = browser, bearer
        # An API client sends no cookie (with one, Flask-Login's strong session protection would
        # read the request as a tampered session before looking at the token).
        self.api_client = browser.client.application.test_client()

    def send(self, method: str, url: str) -> Any:
        headers = {"Authorization": f"Bearer {self.bearer}"} if self.bearer else {}
        if self.bearer and url.startswith("/api/"):
            if method == "GET":
                return self.api_client.get(url, headers=headers)
            return self.api_client.post(url, json={"values": {}}, headers=headers)
        if method == "GET":
            return self.browser.client.get(url, headers=headers)
        if url.startswith("/api/"):
            if self.browser.token and not self.bearer:
                headers["X-CSRFToken"] = self.browser.token
            return self.browser.client.post(url, json={"values": {}}, headers=headers)
        return self.browser.post(url, data={}, headers=headers)


def identities(app, client_as) -> dict[str, tuple[Identity, Callable[[str, set[str]], bool]]]:
    """Each identity with the rule that says whether it may pass a row (endpoint, who may pass)."""
    anonymous = client_as(None)
    anonymous.refresh_token("/login")
    out: dict[str, tuple[Identity, Callable[[str, set[str]], bool]]] = {}
    for name in USERS:
        browser = anonymous if name == ANON else client_as(name)
        out[name] = (Identity(browser), lambda _endpoint, allowed, name=name: name in allowed)
    with db.transaction() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        integration = create_user(session, admin, "zhkh_export", "综合考核接口", "integration", "")
        _token, export_plain = create_api_token(session, admin, integration, "综合考核", 30, ["export"])
    for name, (owner, scopes) in TOKENS.items():
        if owner == "zhkh_export":
            plain = export_plain
        else:
            answer = app.test_client().post(
                "/api/auth/token", json={"username": owner, "password": DEMO_PASSWORD}
            )
            plain = answer.get_json()["token"]

        def token_may(
            endpoint: str, allowed: set[str], owner: str = owner, scopes: set[str] = scopes
        ) -> bool:
            if allowed == set(USERS):
                return True  # public
            needed = ENDPOINT_SCOPES.get(endpoint)
            return needed in scopes and owner in allowed

        out[name] = (Identity(anonymous, plain), token_may)
    signed_out = client_as("admin")
    replayed = Browser(app.test_client())
    replayed.client.set_cookie("session", signed_out.client.get_cookie("session").value)
    replayed.token = signed_out.token
    signed_out.post("/logout")
    out[REPLAYED] = (Identity(replayed), lambda _endpoint, allowed: ANON in allowed)
    return out


def test_every_route_refuses_the_wrong_role_district_token_or_replayed_cookie(app, world, client_as) -> None:
    who = identities(app, client_as)
    for endpoint, method, url, allowed in access_table(world):
        if endpoint in ("accounts.logout", "api.token", "accounts.login", "notices.verify"):
            continue
        for name, (identity, may) in who.items():
            passes = may(endpoint, allowed)
            if method == "POST" and passes:
                continue  # the allowed POSTs change state; their own tests cover them
            response = identity.send(method, url)
            if passes:
                if method == "GET":
                    assert not _refused(response), f"{name} refused {method} {url}: {response.status_code}"
            else:
                assert _refused(response), f"{name} was not refused {method} {url}: {response.status_code}"


def test_a_liaison_sees_no_other_districts_data(world, client_as) -> None:
    wujiang = client_as("liaison_wujiang")
    for url in (
        "/tasks",
        "/rounds",
        f"/rounds/{world['round']}",
        f"/api/rounds/{world['round']}",
        f"/api/rounds/{world['round']}/scores?district_id={world['gusu']}",
        "/api/tasks",
    ):
        response = wujiang.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert "姑苏区" not in body, url
        assert "着装不规范" not in body, url
    scores = wujiang.get(f"/api/rounds/{world['round']}/scores?district_id={world['gusu']}").get_json()
    assert scores["results"] == []
    assert scores["district_detail"] == []
