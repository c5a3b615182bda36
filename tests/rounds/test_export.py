"""Export for the comprehensive assessment (综合考核): Excel, CSV and the scoped JSON API."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.accounts.models import ApiToken
from app.db import db
from app.rounds.models import RoundResult
from tests.helpers import complete_round, district_ids, integration_token, issue_round, occurrence

pytestmark = pytest.mark.db
LOSS = {"f_DW03_present": "1", **occurrence("DW03", 1, "着装不规范", "superior"), "reason_DW03": "省厅督查"}


def test_nothing_is_exported_before_publication(app, demo, client_as) -> None:
    admin = client_as("admin")
    issue_round(admin)
    response = admin.get("/rounds/1/export.csv")
    assert response.status_code == 409
    assert "尚未发布" in response.get_data(as_text=True)
    token = integration_token(admin)
    api = app.test_client().get("/api/rounds/1/export", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 409
    assert api.get_json()["error"] == "conflict"


def test_a_published_round_exports_as_csv_excel_and_json(app, demo, client_as) -> None:
    round_id = complete_round(client_as, ["gusu", "sip"], {"gusu": LOSS})
    ids = district_ids()
    results = {r.district_id: r for r in db.session.scalars(select(RoundResult))}
    gusu, sip = results[ids["gusu"]], results[ids["sip"]]
    admin = client_as("admin")

    csv_text = admin.get(f"/rounds/{round_id}/export.csv").data.decode("utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("区代码,区,名次,总分,等次,一票否决,")
    assert lines[1].startswith(f"sip,苏州工业园区,1,{sip.total},")
    assert lines[2].startswith(f"gusu,姑苏区,2,{gusu.total},")

    book = load_workbook(io.BytesIO(admin.get(f"/rounds/{round_id}/export.xlsx").data))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[1][:4] == ("区代码", "区", "名次", "总分")
    assert rows[3][1] == "姑苏区"
    assert rows[3][3] == float(gusu.total)

    token = integration_token(admin)
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    body = api.get(f"/api/rounds/{round_id}/export", headers=headers).get_json()
    assert [r["district"] for r in body["results"]] == ["苏州工业园区", "姑苏区"]
    assert body["results"][1]["total"] == str(gusu.total)
    assert set(body["results"][1]["first_level"]) == set(gusu.first_level)
    db.session.expire_all()
    assert db.session.scalar(select(ApiToken.last_used_at).where(ApiToken.scopes == "export")) is not None

    # The token reaches nothing outside its scope, and a task token cannot export.
    refused = api.get("/api/tasks", headers=headers)
    assert refused.status_code == 403
    assert "无权" in refused.get_json()["message"]
    signed_in = api.post(
        "/api/auth/token", json={"username": "inspector1", "password": "Szcg#2026demo"}
    ).get_json()
    other = api.get(
        f"/api/rounds/{round_id}/export", headers={"Authorization": f"Bearer {signed_in['token']}"}
    )
    assert other.status_code == 403
    assert "综合考核数据导出" in other.get_json()["message"]

    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.scopes == "export"))
    admin.post(f"/accounts/tokens/{token_id}/revoke")
    assert api.get(f"/api/rounds/{round_id}/export", headers=headers).status_code == 401
    assert client_as("liaison_gusu").get(f"/rounds/{round_id}/export.csv").status_code == 403


def test_a_token_needs_a_scope(app, demo, client_as) -> None:
    admin = client_as("admin")
    page = admin.post(
        "/accounts/tokens", data={"user_id": "1", "name": "x", "days": "30"}, follow_redirects=True
    )
    assert "请选择令牌的权限范围" in page.get_data(as_text=True)
    assert db.session.scalar(select(ApiToken.id)) is None
