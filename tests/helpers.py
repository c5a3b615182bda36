"""Steps of a round through HTTP, shared by the end-to-end tests."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from app.db import db
from app.deadlines.settings import DEFAULTS
from app.districts.models import District
from app.schemes.models import Scheme
from app.scoring.scores import indicator_rules
from app.tasks.models import TaskRecord

TASK_LINK = re.compile(r'href="/tasks/(\d+)"')


def issue_round(
    admin: Any,
    title: str = "2026年12月城管执法考核",
    district_ids: list[int] | None = None,
    period: str = "2026-12",
) -> Any:
    """Issue a round through the admin page; December assesses every indicator (monthly to annual)."""
    scheme = db.session.scalar(select(Scheme))
    districts = district_ids or [
        d.id for d in db.session.scalars(select(District).order_by(District.sort_order))
    ]
    data: dict[str, Any] = {
        "title": title,
        "period": period,
        "scheme_id": scheme.id,
        "district_ids": districts,
    }
    for stage, days in {"self_report": 7, "verification": 7, "appeal": 3, "review": 5}.items():
        data[f"kind_{stage}"] = "working_days"
        data[f"days_{stage}"] = str(days)
    # What the form's defaults send from a browser (ticked boxes included).
    data.update({"reminder_hours": "24,2", "self_report_empty": "verified", "escalate_verification": "y"})
    for stage, who in DEFAULTS["notify"].items():
        data[f"notify_{stage}"] = who
    return admin.post("/rounds/new", data=data)


def inbox_ids(browser: Any) -> list[int]:
    page = browser.get("/tasks").get_data(as_text=True)
    return [int(i) for i in TASK_LINK.findall(page)]


def task_of(form_key: str, district_id: int | None = None) -> TaskRecord:
    query = select(TaskRecord).where(TaskRecord.form_key == form_key, TaskRecord.state == "ready")
    if district_id is not None:
        query = query.where(TaskRecord.district_id == district_id)
    db.session.expire_all()
    record = db.session.scalar(query)
    assert record is not None, f"no ready {form_key} task for district {district_id}"
    return record


def district_ids() -> dict[str, int]:
    return {d.code: d.id for d in db.session.scalars(select(District))}


def full_marks(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A self-report that earns every point: each checklist item ticked (blank rates count as met)."""
    scheme = db.session.scalar(select(Scheme))
    payload: dict[str, Any] = {}
    parents = {i.parent_id for i in scheme.indicators}
    for indicator in scheme.indicators:
        if indicator.id in parents or indicator.kind != "scored":
            continue
        rules = indicator_rules(indicator)
        if rules.method == "checklist":
            for item in rules.items:
                payload[f"f_{indicator.code}_item_{item.key}"] = "1"
    payload.update(extra or {})
    return payload


def occurrence(code: str, n: int, description: str, found_by: str = "", place: str = "") -> dict[str, str]:
    return {
        f"f_{code}_occ{n}_desc": description,
        f"f_{code}_occ{n}_found_by": found_by,
        f"f_{code}_occ{n}_place": place,
    }


def complete_round(
    client_as: Any, codes: list[str], adjustments: dict[str, dict[str, Any]] | None = None
) -> int:
    """Issue a round to *codes*, self-report full marks, verify (with *adjustments* per district),
    accept, finalise and approve: the round is published. Returns its id."""
    from app.rounds.models import Round

    ids = district_ids()
    admin = client_as("admin")
    issue_round(admin, district_ids=[ids[c] for c in codes])
    inspector = client_as("inspector1")
    for code in codes:
        liaison = client_as(f"liaison_{code}")
        liaison.post(f"/tasks/{task_of('self_report', ids[code]).id}", data=full_marks({"action": "submit"}))
        change = (adjustments or {}).get(code, {})
        inspector.post(f"/tasks/{task_of('verification', ids[code]).id}", data={"action": "submit", **change})
        liaison.post(f"/tasks/{task_of('result_confirmation', ids[code]).id}", data={"decision": "accept"})
    admin.post(f"/tasks/{task_of('finalise').id}", data={"confirm": "1"})
    client_as("leader").post(f"/tasks/{task_of('approval').id}", data={"decision": "approve", "comment": ""})
    db.session.expire_all()
    round_ = db.session.scalar(select(Round).order_by(Round.id.desc()))
    assert round_ is not None
    assert round_.is_published
    return round_.id


def appeal_adjustment(liaison: Any, district_id: int, reason: str) -> Any:
    """The liaison appeals the (first) verification adjustment shown on its confirmation task."""
    record = task_of("result_confirmation", district_id)
    page = liaison.get(f"/tasks/{record.id}").get_data(as_text=True)
    revision_id = int(page.split('name="appeal_')[1].split('"')[0])
    data = {"decision": "appeal", f"appeal_{revision_id}": "1", f"appeal_reason_{revision_id}": reason}
    return liaison.post(f"/tasks/{record.id}", data=data)


TOKEN_VALUE = re.compile(r"szcg_[A-Za-z0-9_-]+")


def integration_token(admin: Any, username: str = "zhkh") -> str:
    """The administrator creates an 接口账号 (once) and issues it an export token; its value."""
    from app.accounts.models import User

    if db.session.scalar(select(User.id).where(User.username == username)) is None:
        admin.post(
            "/accounts/users",
            data={
                "username": username,
                "display_name": "综合考核系统",
                "role": "integration",
                "district_id": "0",
            },
        )
    user_id = db.session.scalar(select(User.id).where(User.username == username))
    assert user_id is not None, "the integration account was not created"
    page = admin.post(
        "/accounts/tokens",
        data={"user_id": str(user_id), "name": "综合考核系统", "days": "30", "scopes": ["export"]},
        follow_redirects=True,
    ).get_data(as_text=True)
    match = TOKEN_VALUE.search(page)
    assert match, page[:2000]
    return match.group(0)


def correct_dw03(admin, round_id: int, district: int, reason: str, present: bool = False):
    """The administrator restates 姑苏's DW03: no occurrence (the deduction falls), or one again."""
    from app.schemes.models import Indicator

    dw03 = db.session.scalar(select(Indicator.id).where(Indicator.code == "DW03"))
    data = {"indicator_id": str(dw03), "f_DW03_present": "1", "reason": reason}
    if present:
        data.update(occurrence("DW03", 1, "执勤着装不规范", "superior"))
    return admin.post(f"/rounds/{round_id}/districts/{district}/correct", data=data)
