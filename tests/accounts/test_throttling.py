"""Wrong passwords are counted atomically per account and address; messages reveal nothing; every
failure is recorded with its address; the address comes from the configured proxy hops."""

from __future__ import annotations

import threading

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from app import create_app
from app.accounts import passwords
from app.accounts.models import SignIn, SignInFailure, User
from app.db import db
from app.demo import DEMO_PASSWORD
from app.notifications.models import Notification
from tests.csrf_client import CSRF_META, Browser

pytestmark = pytest.mark.db

LOCKED = "登录失败次数过多"


def from_address(app, address: str) -> Browser:
    browser = Browser(app.test_client())
    browser.client.environ_base["REMOTE_ADDR"] = address
    return browser


def failures() -> list[SignInFailure]:
    db.session.expire_all()
    return list(db.session.scalars(select(SignInFailure).order_by(SignInFailure.id)))


def test_concurrent_wrong_passwords_get_exactly_the_limit_of_guesses(app, demo, monkeypatch) -> None:
    # The production hash cost: checking a password takes as long as it does in service, which
    # is the window a read-modify-write counter lets concurrent guesses through.
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher())
    answers: list[str] = []
    start = threading.Barrier(20)

    def guess() -> None:
        client = app.test_client()
        start.wait()
        response = client.post(
            "/api/auth/token",
            json={"username": "leader", "password": "wrong-password"},
            environ_base={"REMOTE_ADDR": "203.0.113.9"},
        )
        answers.append(response.get_json()["message"])

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 20
    assert answers.count("用户名或密码错误") == 5, answers
    assert sum(LOCKED in a for a in answers) == 15


def test_a_lock_holds_only_the_guessing_address_and_the_owner_is_told(app, demo) -> None:
    attacker = from_address(app, "198.51.100.7")
    for _ in range(5):
        assert "用户名或密码错误" in attacker.login("leader", "wrong-password").get_data(as_text=True)
    refused = attacker.login("leader")  # the right password, but this address is locked out
    assert refused.status_code == 200
    assert LOCKED in refused.get_data(as_text=True)

    leader = from_address(app, "10.0.0.2")  # the leader at the desk on 审定 day
    assert leader.login("leader").status_code == 302
    notes = db.session.scalars(select(Notification).where(Notification.title == "账号登录异常提醒")).all()
    assert len(notes) == 1
    assert "198.51.100.7" in notes[0].body
    assert [f.reason for f in failures()] == ["wrong_password"] * 5 + ["throttled"]


def test_the_administrators_reset_lifts_the_lock(app, demo, client_as) -> None:
    attacker = from_address(app, "198.51.100.7")
    for _ in range(5):
        attacker.login("inspector1", "wrong-password")
    admin = client_as("admin")
    target = db.session.scalar(select(User.id).where(User.username == "inspector1"))
    admin.post(f"/accounts/users/{target}/password", data={"password": "Reset#Pass2026"})
    assert from_address(app, "198.51.100.7").login("inspector1", "Reset#Pass2026").status_code == 302


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("nobody", "whatever", "unknown_user"),
        ("inspector1", "wrong-password", "wrong_password"),
        ("disabled_one", DEMO_PASSWORD, "disabled"),  # the right password of a disabled account
    ],
)
def test_every_failure_reads_the_same_and_is_recorded(app, demo, username, password, reason) -> None:
    with db.transaction() as session:
        donor = session.scalar(select(User).where(User.username == "inspector2"))
        session.add(
            User(
                username="disabled_one",
                display_name="停用者",
                role="inspector",
                password_hash=donor.password_hash,
                active=False,
            )
        )
    page = from_address(app, "192.0.2.44").login(username, password).get_data(as_text=True)
    assert "用户名或密码错误" in page
    assert "停用" not in page
    assert "不存在" not in page
    api = app.test_client().post(
        "/api/auth/token",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": "192.0.2.44"},
    )
    assert api.get_json()["message"] == "用户名或密码错误"
    recorded = failures()
    assert [(f.username, f.address, f.reason, f.channel) for f in recorded] == [
        (username, "192.0.2.44", reason, "page"),
        (username, "192.0.2.44", reason, "api"),
    ]


def test_locks_of_unknown_names_look_like_those_of_real_ones(app, demo) -> None:
    pages = {}
    for name in ("leader", "no_such_person"):
        browser = from_address(app, "198.51.100.8")
        for _ in range(5):
            browser.login(name, "wrong-password")
        pages[name] = browser.login(name, "wrong-password").get_data(as_text=True)
    assert LOCKED in pages["leader"]
    assert LOCKED in pages["no_such_person"]


@pytest.fixture
def proxied_app(app, database_url, tmp_path):
    """An app on the same database, configured to sit behind one reverse proxy."""
    return create_app({**app.config, "REVERSE_PROXY_HOPS": 1})


def test_behind_the_proxy_the_address_and_https_come_from_its_headers(proxied_app, demo) -> None:
    client = proxied_app.test_client()
    headers = {"X-Forwarded-For": "1.2.3.4, 203.0.113.50", "X-Forwarded-Proto": "https"}
    client.post("/api/auth/token", json={"username": "leader", "password": "wrong-password"}, headers=headers)
    # One trusted hop: the address the proxy saw, not what the client wrote in front of it.
    assert failures()[-1].address == "203.0.113.50"
    page = client.get("/login", headers=headers)
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    token = CSRF_META.search(page.get_data(as_text=True)).group(1)
    response = client.post(
        "/login",
        data={"username": "leader", "password": DEMO_PASSWORD, "csrf_token": token},
        headers={**headers, "Referer": "https://localhost/login"},
    )
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]
    assert db.session.scalar(select(SignIn.address)) == "203.0.113.50"


def test_over_plain_http_the_cookie_is_not_secure_and_no_hsts(app, demo, client_as) -> None:
    browser = Browser(app.test_client())
    browser.refresh_token("/login")
    response = browser.client.post(
        "/login", data={"username": "leader", "password": DEMO_PASSWORD, "csrf_token": browser.token}
    )
    assert "Secure" not in response.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in response.headers
    page = browser.get("/rounds")
    assert page.headers["Cache-Control"] == "no-store"
