"""A whole round for the six districts through HTTP, logged in as each role, scored by the rules."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.appeals.models import Appeal
from app.audit.models import AuditRecord
from app.db import db
from app.evidence.models import EvidenceFile
from app.rounds.models import DistrictAssessment, Round, RoundResult
from app.rounds.operations import scores_of
from app.scoring.models import Fact, IndicatorRevision
from tests.evidence.builders import jpeg
from tests.helpers import (
    appeal_adjustment,
    district_ids,
    full_marks,
    inbox_ids,
    issue_round,
    occurrence,
    task_of,
)

pytestmark = pytest.mark.db

CODES = ["wujiang", "wuzhong", "xiangcheng", "gusu", "sip", "snd"]


def stage_totals(code: str) -> tuple[Decimal, Decimal, Decimal]:
    db.session.expire_all()
    assessment = db.session.scalar(
        select(DistrictAssessment).where(DistrictAssessment.district_id == district_ids()[code])
    )
    scores = scores_of(db.session, assessment.round, assessment)
    return scores.total("self"), scores.total("verified"), scores.total("final")


def test_full_round_scored_from_facts_with_upheld_and_rejected_appeals(app, demo, client_as):
    ids = district_ids()
    admin = client_as("admin")
    response = issue_round(admin)
    assert response.status_code == 302, response.get_data(as_text=True)
    round_ = db.session.scalar(select(Round))
    assert round_.status == "running"
    assert round_.districts_total == 6

    # Self-report: district i handled (95 − i) % of its cases on time (0.3 lost per point below 95);
    # 相城 claims a bonus; 吴江 attaches a photo.
    for i, code in enumerate(CODES):
        liaison = client_as(f"liaison_{code}")
        record = task_of("self_report", ids[code])
        assert inbox_ids(liaison) == [record.id], "a liaison sees exactly their own district's self-report"
        page = liaison.get(f"/tasks/{record.id}").get_data(as_text=True)
        assert "ZF0101" in page
        assert "新增违建发现与制止" in page
        assert "f_ZF0301_numerator" in page
        assert "平台数据·手工录入" in page  # ZF0301 comes from the big-data platform, typed in for now
        data = {"action": "submit", "f_ZF0301_numerator": str(95 - i), "f_ZF0301_denominator": "100"}
        if i:
            data["reason_ZF0301"] = f"按期处置率 {95 - i}%，低于 95%"
        if code == "xiangcheng":
            data.update({"f_BONUS_item_promotion": "1", "reason_BONUS": "经验做法获省级推广"})
        if code == "wujiang":
            data["evidence_ZF0101"] = (io.BytesIO(jpeg(colour=(200, 80, 40))), "现场.jpg")
        response = liaison.post(
            f"/tasks/{record.id}", data=full_marks(data), content_type="multipart/form-data"
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert db.session.scalar(select(EvidenceFile)).original_name == "现场.jpg"
    assert stage_totals("gusu")[0] == Decimal("74.10")
    assert stage_totals("xiangcheng")[0] == Decimal("75.00")  # 74.40 + 1 bonus, capped at the scheme total

    # Verification: inspector1 records a media-found case on ZF0101 for 吴江 (1 × 2 = 2 points) and a
    # case found by the higher level on DW03 for 吴中 (0.5 × 2); the others are confirmed unchanged.
    inspector = client_as("inspector1")
    assert len(inbox_ids(inspector)) == 6
    adjustments = {
        "wujiang": {
            "f_ZF0101_present": "1",
            **occurrence("ZF0101", 1, "新增违建未制止", "media", "松陵镇"),
            "reason_ZF0101": "暗访发现新增违建，媒体已曝光",
        },
        "wuzhong": {
            "f_DW03_present": "1",
            **occurrence("DW03", 1, "执勤人员未着制服", "superior"),
            "reason_DW03": "省厅督查发现",
        },
    }
    for code in CODES:
        record = task_of("verification", ids[code])
        assert inspector.post(f"/tasks/{record.id}/claim").status_code == 302
        page = inspector.get(f"/tasks/{record.id}").get_data(as_text=True)
        assert "自评事实" in page
        response = inspector.post(
            f"/tasks/{record.id}", data={"action": "submit", **adjustments.get(code, {})}
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert stage_totals("wujiang")[:2] == (Decimal("75.00"), Decimal("73.00"))
    assert stage_totals("wuzhong")[:2] == (Decimal("74.70"), Decimal("73.70"))
    assert stage_totals("gusu")[:2] == (Decimal("74.10"), Decimal("74.10"))

    # Confirmation: 吴江 and 吴中 appeal their adjustment; the others accept.
    for code in CODES:
        liaison = client_as(f"liaison_{code}")
        if code in adjustments:
            response = appeal_adjustment(liaison, ids[code], "检查前已整改")
        else:
            record = task_of("result_confirmation", ids[code])
            response = liaison.post(f"/tasks/{record.id}", data={"decision": "accept"})
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]

    # Review (回避): inspector1 made the adjustments and must not see or decide them.
    review_ids = [task_of("appeal_review", ids[c]).id for c in adjustments]
    assert not set(review_ids) & set(inbox_ids(inspector))
    assert inspector.get(f"/tasks/{review_ids[0]}").status_code == 404
    appeals = db.session.scalars(select(Appeal).order_by(Appeal.id)).all()
    reviewer = client_as("inspector2")
    response = reviewer.post(
        f"/tasks/{review_ids[0]}",
        data={
            f"decision_{appeals[0].id}": "upheld",
            f"decision_reason_{appeals[0].id}": "整改照片早于检查时间",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    response = admin.post(
        f"/tasks/{review_ids[1]}",
        data={
            f"decision_{appeals[1].id}": "rejected",
            f"decision_reason_{appeals[1].id}": "督查照片证据充分",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert stage_totals("wujiang") == (Decimal("75.00"), Decimal("73.00"), Decimal("75.00"))
    assert stage_totals("wuzhong") == (Decimal("74.70"), Decimal("73.70"), Decimal("73.70"))
    db.session.expire_all()
    assert [a.withdrawn for a in db.session.scalars(select(Appeal).order_by(Appeal.id))] == [
        Decimal("2.00"),
        Decimal("0.00"),
    ]

    # Every district done: the round moves to 汇总定分; nothing is visible to districts yet.
    db.session.expire_all()
    round_ = db.session.get(Round, round_.id)
    assert round_.districts_done == 6
    assert round_.status == "finalising"
    liaison = client_as("liaison_gusu")
    assert liaison.get(f"/rounds/{round_.id}/results").status_code == 403

    record = task_of("finalise")
    assert admin.post(f"/tasks/{record.id}", data={"confirm": "1"}).status_code == 302
    leader = client_as("leader")
    record = task_of("approval")
    assert record.id in inbox_ids(leader)
    response = leader.post(f"/tasks/{record.id}", data={"decision": "approve", "comment": "同意发布"})
    assert response.status_code == 302

    db.session.expire_all()
    round_ = db.session.get(Round, round_.id)
    assert round_.status == "published"
    results = {r.district.code: (r.total, r.rank, r.grade) for r in db.session.scalars(select(RoundResult))}
    assert results == {
        "wujiang": (Decimal("75.00"), 1, "优"),
        "xiangcheng": (Decimal("75.00"), 1, "优"),
        "gusu": (Decimal("74.10"), 3, "优"),
        "sip": (Decimal("73.80"), 4, "优"),
        "wuzhong": (Decimal("73.70"), 5, "优"),
        "snd": (Decimal("73.50"), 6, "优"),
    }
    page = liaison.get(f"/rounds/{round_.id}/results").get_data(as_text=True)
    assert "苏州高新区" in page
    assert "73.50" in page
    assert "75.00" in page
    # Published totals are public to districts; another district's detail is not.
    assert liaison.get(f"/rounds/{round_.id}/districts/{ids['wujiang']}").status_code == 404
    own = (
        client_as("liaison_wuzhong")
        .get(f"/rounds/{round_.id}/districts/{ids['wuzhong']}")
        .get_data(as_text=True)
    )
    assert "执勤人员未着制服" in own
    assert "省厅督查发现" in own
    assert "上级督查" in own
    actions = set(db.session.scalars(select(AuditRecord.action)))
    assert {
        "round.issue",
        "score.self_submit",
        "score.verify_submit",
        "appeal.decide",
        "round.publish",
    } <= actions
    # Upholding 吴江's appeal restored its self-reported facts for ZF0101 (none) as the review's facts.
    review = db.session.scalar(select(IndicatorRevision).where(IndicatorRevision.stage == "appeal"))
    assert review.indicator.code == "ZF0101"
    assert db.session.scalar(select(Fact).where(Fact.stage == "appeal")) is None

    # Recomputing the published round from its stored facts gives exactly the published scores.
    runner = app.test_cli_runner()
    result = runner.invoke(args=["round", "recompute", str(round_.id)])
    assert result.exit_code == 0
    assert "一致" in result.output
    with db.transaction() as session:
        fact = session.scalar(
            select(Fact).where(Fact.kind == "rate", Fact.stage == "self").order_by(Fact.id.desc())
        )
        fact.numerator -= 1  # tampering with a stored record
    result = runner.invoke(args=["round", "recompute", str(round_.id)])
    assert result.exit_code != 0
    assert "总分 已存" in result.output

    # The year's result for the comprehensive assessment (one published round: its totals).
    annual = liaison.get("/rounds/annual/2026").get_data(as_text=True)
    assert "各轮得分折算为总分制后取平均" in annual
    assert "74.10" in annual
    assert "2026-12" in annual
