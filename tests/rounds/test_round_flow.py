"""Parts of a round the full-round test does not walk: return at 审定, overdue marks, diagram states."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.appeals.models import Appeal
from app.db import db
from app.rounds.models import DistrictAssessment, Round, RoundResult
from app.rounds.operations import scores_of
from app.tasks.models import TaskRecord
from tests.helpers import district_ids, full_marks, inbox_ids, issue_round, occurrence, task_of
from workflows import clock

pytestmark = pytest.mark.db


def _complete_districts(client_as, codes: list[str]) -> None:
    ids = district_ids()
    inspector = client_as("inspector1")
    for code in codes:
        liaison = client_as(f"liaison_{code}")
        liaison.post(f"/tasks/{task_of('self_report', ids[code]).id}", data=full_marks({"action": "submit"}))
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
        f"/tasks/{task_of('self_report', ids['gusu']).id}", data=full_marks({"action": "submit"})
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
        f"/tasks/{task_of('self_report', ids['gusu']).id}", data=full_marks({"action": "submit"})
    )
    record = task_of("verification", ids["gusu"])
    first, second = client_as("inspector1"), client_as("inspector2")
    first.post(f"/tasks/{record.id}/claim")
    assert record.id not in inbox_ids(second)
    first.post(f"/tasks/{record.id}/release")
    assert record.id in inbox_ids(second)
    db.session.expire_all()
    assert db.session.get(TaskRecord, record.id).claimed_by is None


def test_appeal_upheld_in_part_keeps_some_of_the_adjustment(app, demo, client_as) -> None:
    ids = district_ids()
    issue_round(client_as("admin"), district_ids=[ids["gusu"]])
    gusu = client_as("liaison_gusu")
    gusu.post(f"/tasks/{task_of('self_report', ids['gusu']).id}", data=full_marks({"action": "submit"}))
    two_cases = {
        "f_DW03_present": "1",
        **occurrence("DW03", 1, "未着制服"),
        **occurrence("DW03", 2, "脱岗"),
        "reason_DW03": "暗访发现两人次",
    }
    client_as("inspector1").post(
        f"/tasks/{task_of('verification', ids['gusu']).id}", data={"action": "submit", **two_cases}
    )
    page = gusu.get(f"/tasks/{task_of('result_confirmation', ids['gusu']).id}").get_data(as_text=True)
    assert "自评 5.00 → 核查 4.00" in page
    revision_id = int(page.split('name="appeal_')[1].split('"')[0])
    gusu.post(
        f"/tasks/{task_of('result_confirmation', ids['gusu']).id}",
        data={
            "decision": "appeal",
            f"appeal_{revision_id}": "1",
            f"appeal_reason_{revision_id}": "脱岗系外勤",
        },
    )
    review = task_of("appeal_review", ids["gusu"])
    appeal_id = db.session.scalar(select(Appeal.id))
    reviewer = client_as("inspector2")
    unchanged = {f"decision_{appeal_id}": "partly", f"decision_reason_{appeal_id}": "部分属实", **two_cases}
    refused = reviewer.post(f"/tasks/{review.id}", data=unchanged).get_data(as_text=True)
    assert "部分成立时复核后的得分须高于核查分 4.00、低于自评分 5.00" in refused
    one_case = {**unchanged, "f_DW03_occ2_desc": ""}
    assert reviewer.post(f"/tasks/{review.id}", data=one_case).status_code == 302
    db.session.expire_all()
    appeal = db.session.get(Appeal, appeal_id)
    assert (appeal.decision, appeal.withdrawn) == ("partly", Decimal("0.50"))
    assessment = db.session.scalar(select(DistrictAssessment))
    scores = scores_of(db.session, assessment.round, assessment)
    assert [scores.leaf(s, "DW03").score for s in ("self", "verified", "final")] == [
        Decimal("5.00"),
        Decimal("4.00"),
        Decimal("4.50"),
    ]


def test_configured_tie_break_orders_equal_totals_and_is_stated(app, demo, client_as) -> None:
    ids = district_ids()
    admin = client_as("admin")
    issue_round(admin, district_ids=[ids["gusu"], ids["sip"]])
    with db.transaction() as session:
        session.scalar(select(Round)).scheme.tie_break = "DW"
    # Both lose 1 point: 姑苏 on 执法实效 (ZF0103), 园区 on 队伍管理 (two cases on DW03); DW decides.
    lost = {
        "gusu": {**occurrence("ZF0103", 1, "逾期未销号"), "reason_ZF0103": "已督办"},
        "sip": {
            **occurrence("DW03", 1, "未着制服"),
            **occurrence("DW03", 2, "脱岗"),
            "reason_DW03": "已整改",
        },
    }
    inspector = client_as("inspector1")
    for code in ("gusu", "sip"):
        liaison = client_as(f"liaison_{code}")
        liaison.post(
            f"/tasks/{task_of('self_report', ids[code]).id}",
            data=full_marks({"action": "submit", **lost[code]}),
        )
        inspector.post(f"/tasks/{task_of('verification', ids[code]).id}", data={"action": "submit"})
        liaison.post(f"/tasks/{task_of('result_confirmation', ids[code]).id}", data={"decision": "accept"})
    admin.post(f"/tasks/{task_of('finalise').id}", data={"confirm": "1"})
    results = {r.district.code: (r.total, r.rank) for r in db.session.scalars(select(RoundResult))}
    assert results == {"gusu": (Decimal("74.00"), 1), "sip": (Decimal("74.00"), 2)}
    page = admin.get(f"/rounds/{db.session.scalar(select(Round.id))}/results").get_data(as_text=True)
    assert "同分时队伍管理得分高者排名在前" in page


def test_a_month_assesses_only_the_indicators_due_in_it(app, demo, client_as) -> None:
    ids = district_ids()
    issue_round(client_as("admin"), "2026年11月城管执法考核", [ids["gusu"]], period="2026-11")
    gusu = client_as("liaison_gusu")
    record = task_of("self_report", ids["gusu"])
    page = gusu.get(f"/tasks/{record.id}").get_data(as_text=True)
    assert "ZF0301" in page  # monthly
    assert "ZF0401" not in page and "DW04" not in page and "f_BONUS_" not in page  # quarterly, annual
    # Facts sent for an indicator the month does not assess are neither asked for nor scored.
    data = full_marks({"action": "submit", "f_DW04_numerator": "1", "f_DW04_denominator": "10"})
    assert gusu.post(f"/tasks/{record.id}", data=data).status_code == 302
    assessment = db.session.scalar(select(DistrictAssessment))
    scores = scores_of(db.session, assessment.round, assessment)
    assert scores.leaf("self", "DW04").score == Decimal("3.00") and "DW04" in scores.not_assessed
    assert scores.total("self") == Decimal("75.00")
    detail = gusu.get(f"/rounds/{assessment.round_id}/districts/{ids['gusu']}").get_data(as_text=True)
    assert "本期不考核" in detail
