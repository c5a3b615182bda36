"""The JSON API: token sign-in, inbox, claim, complete with the form's validation, round status."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db import db
from app.demo import DEMO_PASSWORD
from app.rounds.models import Round
from tests.helpers import district_ids, full_marks, issue_round, occurrence, task_of

pytestmark = pytest.mark.db


def token_for(client, username: str) -> dict[str, str]:
    response = client.post("/api/auth/token", json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_openapi_document_lists_the_endpoints(app) -> None:
    spec = app.test_client().get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/auth/token",
        "/api/tasks",
        "/api/tasks/{task_id}",
        "/api/tasks/{task_id}/claim",
        "/api/tasks/{task_id}/complete",
        "/api/rounds/{round_id}",
        "/api/rounds/{round_id}/scores",
    ):
        assert path in spec["paths"], path


def test_wrong_password_and_bad_token_are_refused(app, demo) -> None:
    client = app.test_client()
    response = client.post("/api/auth/token", json={"username": "admin", "password": "nope"})
    assert response.status_code == 422
    assert response.get_json()["message"] == "用户名或密码错误"
    response = client.get("/api/tasks", headers={"Authorization": "Bearer szcg_forged"})
    assert response.status_code == 401
    assert "令牌" in response.get_json()["message"]
    assert client.post("/api/auth/token", json={"username": "admin"}).status_code == 422


def test_liaison_completes_self_report_through_the_api(app, demo, client_as) -> None:
    ids = district_ids()
    issue_round(client_as("admin"))
    client = app.test_client()
    headers = token_for(client, "liaison_gusu")
    inbox = client.get("/api/tasks", headers=headers).get_json()
    assert inbox["count"] == "1"
    assert inbox["items"][0]["form_key"] == "self_report"
    task_id = inbox["items"][0]["id"]
    detail = client.get(f"/api/tasks/{task_id}", headers=headers).get_json()
    names = {f["name"] for f in detail["fields"]}
    assert {"f_ZF0301_numerator", "f_ZF0301_denominator", "reason_ZF0301", "evidence_ZF0301"} <= names
    assert "f_ZF0101_occ{n}_desc|_place|_date|_found_by|_unrectified" in names
    assert {"f_DW05_item_rules", "f_DW05_extra_late_report"} <= names
    assert not any(name.startswith("f_VETO_") for name in names)  # veto items are the inspectors' to record

    values = {"f_ZF0301_numerator": "101", "f_ZF0301_denominator": "100"}
    bad = client.post(f"/api/tasks/{task_id}/complete", json={"values": values}, headers=headers)
    assert bad.status_code == 422
    assert bad.get_json()["fields"]["f_ZF0301_numerator"] == "按期处置率：分子不能大于分母"

    values = full_marks({**occurrence("ZF0101", 1, "卫片发现未制止", "city"), "reason_ZF0101": "已整改"})
    good = client.post(f"/api/tasks/{task_id}/complete", json={"values": values}, headers=headers)
    assert good.status_code == 200
    assert good.get_json()["state"] == "completed"
    again = client.post(f"/api/tasks/{task_id}/complete", json={"values": {}}, headers=headers)
    assert again.status_code == 409

    round_id = db.session.scalar(select(Round.id))
    status = client.get(f"/api/rounds/{round_id}", headers=headers).get_json()
    assert [d["district"] for d in status["districts"]] == ["姑苏区"]
    assert status["districts"][0]["stage"] == "verification"
    scores = client.get(f"/api/rounds/{round_id}/scores", headers=headers).get_json()
    zf0101 = next(s for s in scores["district_detail"] if s["code"] == "ZF0101")
    assert zf0101["scores"] == {"self": "5.00"}  # verified and final stay hidden until released/published
    assert scores["results"] == []

    inspector = token_for(client, "inspector1")
    record = task_of("verification", ids["gusu"])
    assert (
        client.post(f"/api/tasks/{record.id}/claim", headers=inspector).get_json()["claimed_by"] is not None
    )
    other = token_for(client, "inspector2")
    assert client.post(f"/api/tasks/{record.id}/claim", headers=other).status_code == 409


def test_cookie_session_posts_need_the_csrf_header(app, demo, client_as) -> None:
    ids = district_ids()
    issue_round(client_as("admin"))
    inspector = client_as("inspector1")
    gusu = client_as("liaison_gusu")
    gusu.post(f"/tasks/{task_of('self_report', ids['gusu']).id}", data=full_marks({"action": "submit"}))
    record = task_of("verification", ids["gusu"])
    refused = inspector.client.post(f"/api/tasks/{record.id}/claim")
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "csrf"
    accepted = inspector.client.post(
        f"/api/tasks/{record.id}/claim", headers={"X-CSRFToken": inspector.token}
    )
    assert accepted.status_code == 200


def test_admin_revokes_a_token_and_it_stops_working(app, demo, client_as) -> None:
    client = app.test_client()
    headers = token_for(client, "liaison_gusu")
    assert client.get("/api/tasks", headers=headers).status_code == 200
    admin = client_as("admin")
    page = admin.get("/accounts/users").get_data(as_text=True)
    assert "liaison_gusu" in page
    assert "吊销" in page
    token_id = int(page.split("/accounts/tokens/")[1].split("/")[0])
    assert admin.post(f"/accounts/tokens/{token_id}/revoke").status_code == 302
    assert client.get("/api/tasks", headers=headers).status_code == 401
