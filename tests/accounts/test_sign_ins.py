"""Sign-ins are server-side records: signing out ends one, a credential change ends them all, and
tokens never open a page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import ApiToken, SignIn, User
from app.db import db
from app.demo import DEMO_PASSWORD
from tests.csrf_client import Browser
from tests.helpers import district_ids, integration_token
from workflows import clock

pytestmark = pytest.mark.db

NEW_PASSWORD = "Fresh#Start2026"


def user(username: str) -> User:
    db.session.expire_all()
    found = db.session.scalar(select(User).where(User.username == username))
    assert found is not None
    return found


def cookie_copy(app, browser: Browser) -> Browser:
    """A second client carrying the same session cookie, as if copied off the machine."""
    thief = Browser(app.test_client())
    cookie = browser.client.get_cookie("session")
    assert cookie is not None
    thief.client.set_cookie("session", cookie.value)
    return thief


def api_token(app, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    response = app.test_client().post("/api/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_a_cookie_copied_before_logout_is_worthless_after_it(app, demo, client_as) -> None:
    gusu = client_as("liaison_gusu")
    thief = cookie_copy(app, gusu)
    assert thief.get("/tasks").status_code == 200  # the copy works while the sign-in lasts
    gusu.post("/logout")
    for url in ("/tasks", "/rounds", "/account/password"):
        response = thief.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"], url
    # No CSRF token comes with a page for the replayed cookie either: it only reaches the login page.
    assert "/login" in thief.get("/", follow_redirects=True).request.path
    ended = db.session.scalar(select(SignIn).where(SignIn.end_reason == "logout"))
    assert ended is not None
    assert ended.ended_at is not None


def test_logging_out_on_the_phone_keeps_the_desk_signed_in(app, demo, client_as) -> None:
    phone, desk = client_as("inspector1"), client_as("inspector1")
    phone.post("/logout")
    assert phone.get("/tasks").status_code == 302
    assert desk.get("/tasks").status_code == 200


def test_last_seen_is_written_at_most_once_a_minute(app, demo, client_as, monkeypatch) -> None:
    browser = client_as("inspector1")
    first = db.session.scalar(select(SignIn.last_seen_at))
    for _ in range(3):
        assert browser.get("/tasks").status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(SignIn.last_seen_at)) == first
    later = clock.now() + timedelta(minutes=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert browser.get("/tasks").status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(SignIn.last_seen_at)) == later


def test_a_token_opens_no_page_whatever_its_scopes(app, demo, client_as) -> None:
    headers = api_token(app, "liaison_gusu")
    client = app.test_client()
    assert client.get("/api/tasks", headers=headers).status_code == 200
    for url in ("/tasks", "/rounds", "/notifications", "/account/password", "/accounts/users"):
        response = client.get(url, headers=headers)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"], url


def test_an_export_token_reaches_only_the_export(app, demo, client_as) -> None:
    plain = integration_token(client_as("admin"))
    headers = {"Authorization": f"Bearer {plain}"}
    client = app.test_client()
    assert client.get("/api/rounds/1/export", headers=headers).status_code == 404  # reached: no round 1
    assert client.get("/api/tasks", headers=headers).status_code == 403
    assert client.get("/accounts/users", headers=headers).status_code == 302
    assert client.get("/deadlines", headers=headers).status_code == 302


def test_a_password_change_ends_every_other_sign_in_and_revokes_tokens(app, demo, client_as) -> None:
    desk, phone = client_as("inspector1"), client_as("inspector1")
    headers = api_token(app, "inspector1")
    response = desk.post(
        "/account/password", data={"current": DEMO_PASSWORD, "password": NEW_PASSWORD}, follow_redirects=True
    )
    assert "密码已修改" in response.get_data(as_text=True)
    assert desk.get("/tasks").status_code == 200  # the person who changed it carries on
    assert phone.get("/tasks").status_code == 302
    assert app.test_client().get("/api/tasks", headers=headers).status_code == 401
    revoked = db.session.scalar(select(ApiToken))
    assert revoked.revoked_at is not None
    assert revoked.revoke_reason == "password_change"


@pytest.mark.parametrize("action", ["reset", "disable", "move"])
def test_reset_disable_or_move_ends_sign_ins_and_revokes_tokens_for_good(
    app, demo, client_as, action
) -> None:
    ids = district_ids()
    liaison = client_as("liaison_gusu")
    headers = api_token(app, "liaison_gusu")
    admin = client_as("admin")
    target = user("liaison_gusu").id
    if action == "reset":
        admin.post(f"/accounts/users/{target}/password", data={"password": "Reset#Pass2026"})
    elif action == "disable":
        admin.post(f"/accounts/users/{target}/active", data={"active": "0"})
        admin.post(f"/accounts/users/{target}/active", data={"active": "1"})  # re-enabling revives nothing
    else:
        admin.post(f"/accounts/users/{target}/district", data={"district_id": str(ids["sip"])})
    assert liaison.get("/tasks").status_code == 302
    assert app.test_client().get("/api/tasks", headers=headers).status_code == 401
    open_sign_ins = (
        select(func.count()).select_from(SignIn).where(SignIn.user_id == target, SignIn.ended_at.is_(None))
    )
    assert db.session.scalar(open_sign_ins) == 0


def test_after_a_reset_the_password_is_changed_before_anything_else(app, demo, client_as) -> None:
    admin = client_as("admin")
    admin.post(f"/accounts/users/{user('inspector1').id}/password", data={"password": "Reset#Pass2026"})
    refused = app.test_client().post(
        "/api/auth/token", json={"username": "inspector1", "password": "Reset#Pass2026"}
    )
    assert refused.status_code == 403
    assert "请先登录网页设置新密码" in refused.get_json()["message"]
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0

    browser = Browser(app.test_client())
    response = browser.login("inspector1", "Reset#Pass2026")
    assert response.headers["Location"].endswith("/account/password")
    browser.refresh_token("/account/password")
    for url in ("/tasks", "/rounds", "/notifications"):
        response = browser.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].endswith("/account/password"), url
    api = browser.client.get("/api/tasks")
    assert api.status_code == 403
    assert api.get_json()["error"] == "password_change_required"
    browser.post("/account/password", data={"current": "Reset#Pass2026", "password": NEW_PASSWORD})
    assert browser.get("/tasks").status_code == 200
    assert not user("inspector1").must_change_password


def test_an_integration_account_has_no_password_and_no_page_sign_in(app, demo, client_as) -> None:
    admin = client_as("admin")
    admin.post(
        "/accounts/users",
        data={"username": "zhkh", "display_name": "综合考核", "role": "integration", "district_id": "0"},
    )
    integration = user("zhkh")
    assert integration.role_label == "接口账号"
    assert integration.password_hash == "!"
    for password in ("!", "", DEMO_PASSWORD):
        response = Browser(app.test_client()).login("zhkh", password or "x")
        assert response.status_code == 200, password
    token = app.test_client().post("/api/auth/token", json={"username": "zhkh", "password": "!"})
    assert token.status_code == 422
    assert token.get_json()["message"] == "用户名或密码错误"
    reset = admin.post(
        f"/accounts/users/{integration.id}/password",
        data={"password": "Reset#Pass2026"},
        follow_redirects=True,
    )
    assert "接口账号没有密码" in reset.get_data(as_text=True)
    # Its tokens export, and only export; a person's tokens cannot export.
    personal = admin.post(
        "/accounts/tokens",
        data={"user_id": user("leader").id, "scopes": "export", "days": "30"},
        follow_redirects=True,
    )
    assert "综合考核数据导出须签发给接口账号" in personal.get_data(as_text=True)
    wrong = admin.post(
        "/accounts/tokens",
        data={"user_id": integration.id, "scopes": "tasks", "days": "30"},
        follow_redirects=True,
    )
    assert "接口账号的令牌只能用于综合考核数据导出" in wrong.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_a_persons_password_change_leaves_the_integration_running(app, demo, client_as) -> None:
    admin = client_as("admin")
    plain = integration_token(admin)
    admin.post("/account/password", data={"current": DEMO_PASSWORD, "password": NEW_PASSWORD})
    response = app.test_client().get("/api/rounds/1/export", headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 404  # authorised; there is simply no round 1
