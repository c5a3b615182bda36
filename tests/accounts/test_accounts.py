"""Sign-in, lockout, idle expiry, and the administrator's account management."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.accounts.passwords import password_problems
from app.db import db
from app.tasks.models import TaskRecord
from tests.helpers import district_ids, full_marks, issue_round, task_of
from workflows import clock

pytestmark = pytest.mark.db


def user(username: str) -> User:
    db.session.expire_all()
    found = db.session.scalar(select(User).where(User.username == username))
    assert found is not None
    return found


def test_password_rule() -> None:
    assert password_problems("short") == [
        "密码至少 10 位",
        "密码须包含大写字母、小写字母、数字、符号中的至少三类",
    ]
    assert password_problems("alllowercaseletters") != []
    assert password_problems("Zhangsan#2026", "zhangsan") == ["密码不能包含用户名"]
    assert password_problems("Good#Pass2026") == []


def test_idle_session_expires(app, demo, client_as, monkeypatch) -> None:
    client = client_as("inspector1")
    assert client.get("/tasks").status_code == 200
    later = clock.now() + timedelta(minutes=31)
    monkeypatch.setattr(clock, "now", lambda: later)
    response = client.get("/tasks")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert "长时间未操作" in client.get("/login").get_data(as_text=True)


def test_admin_creates_disables_and_resets(app, demo, client_as) -> None:
    admin = client_as("admin")
    ids = district_ids()
    weak = admin.post(
        "/accounts/users",
        data={
            "username": "newbie",
            "display_name": "新人",
            "role": "liaison",
            "district_id": str(ids["gusu"]),
            "password": "weak",
        },
    )
    assert "密码至少 10 位" in weak.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "newbie")) is None
    created = admin.post(
        "/accounts/users",
        data={
            "username": "newbie",
            "display_name": "新人",
            "role": "liaison",
            "district_id": str(ids["gusu"]),
            "password": "Fresh#Start2026",
        },
    )
    assert created.status_code == 302
    newbie = client_as()
    assert newbie.login("newbie", "Fresh#Start2026").status_code == 302
    assert newbie.get("/tasks").status_code == 200

    admin.post(f"/accounts/users/{user('newbie').id}/active", data={"active": "0"})
    assert not user("newbie").active
    # The disabled user's open session ends at once.
    response = newbie.get("/tasks")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]

    admin.post(f"/accounts/users/{user('newbie').id}/active", data={"active": "1"})
    admin.post(f"/accounts/users/{user('newbie').id}/password", data={"password": "Another#2026y"})
    assert client_as().login("newbie", "Another#2026y").status_code == 302
    assert user("newbie").must_change_password


def test_moving_a_liaison_changes_what_they_see_and_releases_claims(app, demo, client_as) -> None:
    ids = district_ids()
    admin = client_as("admin")
    issue_round(admin)
    liaison = user("liaison_gusu")
    record = task_of("self_report", ids["gusu"])
    with db.transaction() as session:
        session.get(TaskRecord, record.id).claimed_by = liaison.id
    admin.post(f"/accounts/users/{liaison.id}/district", data={"district_id": str(ids["sip"])})
    assert user("liaison_gusu").district_id == ids["sip"]
    db.session.expire_all()
    assert db.session.get(TaskRecord, record.id).claimed_by is None
    moved = client_as("liaison_gusu")
    assert moved.get(f"/tasks/{record.id}").status_code == 404
    assert moved.get(f"/tasks/{task_of('self_report', ids['sip']).id}").status_code == 200


def test_admin_reassigns_a_claimed_task(app, demo, client_as) -> None:
    ids = district_ids()
    admin = client_as("admin")
    issue_round(admin)
    gusu = client_as("liaison_gusu")
    gusu.post(f"/tasks/{task_of('self_report', ids['gusu']).id}", data=full_marks({"action": "submit"}))
    record = task_of("verification", ids["gusu"])
    inspector1 = client_as("inspector1")
    assert inspector1.post(f"/tasks/{record.id}/claim").status_code == 302
    inspector2 = client_as("inspector2")
    page = inspector2.get(f"/tasks/{record.id}").get_data(as_text=True)
    assert "认领人：张海峰" in page
    refused = inspector2.post(f"/tasks/{record.id}", data={"action": "submit"}, follow_redirects=True)
    assert "已被他人认领" in refused.get_data(as_text=True)
    admin.post(f"/tasks/{record.id}/reassign", data={"user_id": str(user("inspector2").id)})
    db.session.expire_all()
    assert db.session.get(TaskRecord, record.id).claimed_by == user("inspector2").id
    assert inspector2.post(f"/tasks/{record.id}", data={"action": "submit"}).status_code == 302
