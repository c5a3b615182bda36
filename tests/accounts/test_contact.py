"""Users keep their own addresses for the outside notification channels."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.audit.models import AuditRecord
from app.db import db


def contact_of(username: str) -> tuple[str, str]:
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.username == username))
    return user.email, user.mobile


@pytest.mark.db
def test_a_user_sets_and_is_refused_bad_contact_details(app, demo, client_as) -> None:
    gusu = client_as("liaison_gusu")
    page = gusu.get("/account/password").get_data(as_text=True)
    assert "联系方式" in page
    response = gusu.post("/account/contact", data={"email": "gusu@example.cn", "mobile": "13800000000"})
    assert response.status_code == 302
    assert contact_of("liaison_gusu") == ("gusu@example.cn", "13800000000")

    refused = gusu.post("/account/contact", data={"email": "不是邮箱", "mobile": "12345"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "邮箱格式不正确" in text
    assert "手机号应为 11 位数字" in text
    assert contact_of("liaison_gusu") == ("gusu@example.cn", "13800000000")
    actions = db.session.scalars(
        select(AuditRecord.action).where(AuditRecord.action == "account.contact")
    ).all()
    assert len(actions) == 1
