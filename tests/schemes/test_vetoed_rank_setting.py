"""The scheme setting 'vetoed units rank after all others': on for every new version, changed on
drafts only, stated on the scheme page and audited."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from app.audit.models import AuditRecord
from app.db import db
from app.schemes.models import Scheme

pytestmark = pytest.mark.db

RULE = "一票否决（当期不达标）的单位排在其他单位之后"
SETTINGS = {
    "rounding_places": "2",
    "rounding_mode": "half_up",
    "grade_bands": "优 90，良 80，中 60，差 0",
    "tie_break": "",
    "annual_rule": "mean_scaled",
}


def scheme(label: str) -> Scheme:
    db.session.expire_all()
    found = db.session.scalar(select(Scheme).where(Scheme.label == label))
    assert found is not None
    return found


def test_new_versions_rank_vetoed_units_last_and_a_draft_may_change_it(app, demo, client_as) -> None:
    admin = client_as("admin")
    source = scheme("2026版")
    admin.post(f"/schemes/{source.id}/clone", data={"year": "2027", "label": "2027版", "name": ""})
    exported = json.loads(admin.get(f"/schemes/{source.id}/export.json").data)
    exported["label"] = "2026版导入"
    upload = io.BytesIO(json.dumps(exported, ensure_ascii=False).encode())
    admin.post("/schemes/import", data={"file": (upload, "s.json")}, content_type="multipart/form-data")
    draft = scheme("2027版")
    assert draft.vetoed_rank_last is True and scheme("2026版导入").vetoed_rank_last is True
    page = admin.get(f"/schemes/{draft.id}").get_data(as_text=True)
    assert f"同分名次并列 · {RULE} · 年度汇总" in page
    assert '<input checked id="vetoed_rank_last" name="vetoed_rank_last" type="checkbox"' in page

    saved = admin.post(f"/schemes/{draft.id}/settings", data=SETTINGS, follow_redirects=True)
    body = saved.get_data(as_text=True)
    assert "计分设置已保存" in body and "同分名次并列 · 一票否决的单位按总分排名 · 年度汇总" in body
    assert '<input id="vetoed_rank_last" name="vetoed_rank_last" type="checkbox"' in body  # unticked
    assert scheme("2027版").vetoed_rank_last is False
    record = db.session.scalar(
        select(AuditRecord).where(AuditRecord.action == "scheme.settings").order_by(AuditRecord.id.desc())
    )
    assert record.before["vetoed_rank_last"] is True and record.after["vetoed_rank_last"] is False
    after = scheme("2027版")
    assert (after.rounding_places, after.rounding_mode, after.tie_break, after.annual_rule) == (
        2,
        "half_up",
        None,
        "mean_scaled",
    )

    admin.post(f"/schemes/{draft.id}/settings", data={**SETTINGS, "vetoed_rank_last": "y"})
    assert scheme("2027版").vetoed_rank_last is True
    assert scheme("2026版").vetoed_rank_last is True  # the source version is untouched
