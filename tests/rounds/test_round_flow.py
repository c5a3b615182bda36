"""Parts of a round the full-round test does not walk: return at 审定, overdue marks, diagram states."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import db
from app.rounds.models import DistrictAssessment, Round
from app.tasks.models import TaskRecord
from tests.helpers import district_ids, inbox_ids, issue_round, task_of
from workflows import clock

pytestmark = pytest.mark.db


def _complete_districts(client_as, codes: list[str]) -> None:
    ids = district_ids()
    inspector = client_as("inspector1")
    for code in codes:
        liaison = client_as(f"liaison_{code}")
        liaison.post(f"/tasks/{task_of('self_report', ids[code]).id}", data={"action": "submit"})
        inspector.post(f"/tasks/{task_of('verification', ids[code]).id}", data={"action": "submit"})
        liaison.post(f"/tasks/{task_of('result_confirmation', ids[code]).id}", data={"decision": "accept"})


def test_leader_returns_the_results_and_the_admin_finalises_again(app, demo, client_as) -> None:
    ids = district_ids()
    admin = client_as("admin")
    issue_round(admin, district_ids=[ids["gusu"], ids["sip"]])
    _complete_districts(client_as, ["gusu", "sip"])
    admin.post(f"/tasks/{task_of('finalise').id}", data={"confirm": "1"})
    leader = client_as("leader")
    approval = task_of("approval")
    missing = leader.post(f"/tasks/{approval.id}", data={"decision": "return"})
    assert "退回时请填写意见" in missing.get_data(as_text=True)
    leader.post(f"/tasks/{approval.id}", data={"decision": "return", "comment": "请复核相城区数据"})
    db.session.expire_all()
    round_ = db.session.scalar(select(Round))
    assert round_.status == "finalising" and not round_.is_published
    again = task_of("finalise")
    assert again.id in inbox_ids(admin)
    admin.post(f"/tasks/{again.id}", data={"confirm": "1"})
    leader.post(f"/tasks/{task_of('approval').id}", data={"decision": "approve", "comment": ""})
    db.session.expire_all()
    assert db.session.scalar(select(Round)).status == "published"


def test_overdue_tasks_are_marked_in_the_inbox(app, demo, client_as) -> None:
    ids = district_ids()
    issue_round(client_as("admin"))
    record = task_of("self_report", ids["gusu"])
    with db.transaction() as session:
        session.get(TaskRecord, record.id).due_at = clock.now() - timedelta(hours=1)
    page = client_as("liaison_gusu").get("/tasks").get_data(as_text=True)
    assert "已逾期" in page and "task-item overdue" in page
    other = client_as("liaison_sip").get("/tasks").get_data(as_text=True)
    assert "已逾期" not in other and "截止" in other


def test_diagram_marks_completed_and_active_steps(app, demo, client_as) -> None:
    ids = district_ids()
    admin = client_as("admin")
    issue_round(admin)
    client_as("liaison_gusu").post(
        f"/tasks/{task_of('self_report', ids['gusu']).id}", data={"action": "submit"}
    )
    assessment = db.session.scalar(
        select(DistrictAssessment).where(DistrictAssessment.district_id == ids["gusu"])
    )
    round_id = assessment.round_id
    data = admin.get(f"/rounds/{round_id}/instances/{assessment.instance_id}/diagram").get_json()
    assert data["completed"] == ["self_report"] and data["active"] == ["verification"]
    assert "<bpmn:definitions" in data["xml"]
    overview = admin.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert overview.count("自评填报") >= 5 and "核查" in overview
    assert "流程版本" in overview


def test_inspector_releases_a_claimed_task_back_to_the_pool(app, demo, client_as) -> None:
    ids = district_ids()
    issue_round(client_as("admin"))
    client_as("liaison_gusu").post(
        f"/tasks/{task_of('self_report', ids['gusu']).id}", data={"action": "submit"}
    )
    record = task_of("verification", ids["gusu"])
    first, second = client_as("inspector1"), client_as("inspector2")
    first.post(f"/tasks/{record.id}/claim")
    assert record.id not in inbox_ids(second)
    first.post(f"/tasks/{record.id}/release")
    assert record.id in inbox_ids(second)
    db.session.expire_all()
    assert db.session.get(TaskRecord, record.id).claimed_by is None
