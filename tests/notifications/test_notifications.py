"""The in-app notification centre: who is told what, the unread badge, marking read."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db import db
from app.notifications.models import Notification
from tests.helpers import district_ids, full_marks, issue_round, task_of

pytestmark = pytest.mark.db


def test_released_results_reach_the_districts_liaison_only(app, demo, client_as) -> None:
    ids = district_ids()
    issue_round(client_as("admin"), district_ids=[ids["gusu"], ids["sip"]])
    client_as("liaison_gusu").post(
        f"/tasks/{task_of('self_report', ids['gusu']).id}", data=full_marks({"action": "submit"})
    )
    client_as("inspector1").post(
        f"/tasks/{task_of('verification', ids['gusu']).id}", data={"action": "submit"}
    )

    gusu = client_as("liaison_gusu")
    page = gusu.get("/tasks").get_data(as_text=True)
    assert 'data-testid="unread-count">1<' in page
    listing = gusu.get("/notifications").get_data(as_text=True)
    assert "核查结果已发布" in listing
    assert "未读" in listing
    assert "核查结果已发布" not in client_as("liaison_sip").get("/notifications").get_data(as_text=True)

    notification = db.session.scalar(
        select(Notification).where(Notification.title.contains("核查结果已发布"))
    )
    other = client_as("liaison_sip")
    other.post(f"/notifications/{notification.id}/read")  # someone else's: nothing changes
    db.session.expire_all()
    assert db.session.get(Notification, notification.id).read_at is None
    response = gusu.post(f"/notifications/{notification.id}/read")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/rounds/")
    db.session.expire_all()
    assert db.session.get(Notification, notification.id).read_at is not None
    assert "unread-count" not in gusu.get("/tasks").get_data(as_text=True)
