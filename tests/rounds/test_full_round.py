"""A whole round for the six districts through HTTP, logged in as each role."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select

from app.appeals.models import Appeal
from app.audit.models import AuditRecord
from app.db import db
from app.evidence.models import EvidenceFile
from app.rounds.models import DistrictAssessment, Round, RoundResult
from app.scoring.models import ScoreEntry
from tests.helpers import district_ids, inbox_ids, issue_round, task_of

pytestmark = pytest.mark.db

CODES = ["wujiang", "wuzhong", "xiangcheng", "gusu", "sip", "snd"]


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_full_round_with_upheld_and_rejected_appeals(app, demo, client_as):
    ids = district_ids()
    admin = client_as("admin")
    response = issue_round(admin)
    assert response.status_code == 302, response.get_data(as_text=True)
    round_ = db.session.scalar(select(Round))
    assert round_.status == "running" and round_.districts_total == 6

    # Self-report: district i loses i * 0.5 on ZF0301; 吴江 attaches a photo.
    for i, code in enumerate(CODES):
        liaison = client_as(f"liaison_{code}")
        tasks = inbox_ids(liaison)
        record = task_of("self_report", ids[code])
        assert tasks == [record.id], "a liaison sees exactly their own district's self-report"
        page = liaison.get(f"/tasks/{record.id}").get_data(as_text=True)
        assert "ZF0101" in page and "新增违建发现与制止" in page
        data = {"action": "submit"}
        if i:
            data.update(
                {"lost_ZF0301": str(Decimal("0.5") * i), "reason_ZF0301": f"按期处置率低于 95%（{i}）"}
            )
        if code == "wujiang":
            data["evidence_ZF0101"] = (io.BytesIO(jpeg_bytes()), "现场.jpg")
        response = liaison.post(f"/tasks/{record.id}", data=data, content_type="multipart/form-data")
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert db.session.scalar(select(EvidenceFile)).original_name == "现场.jpg"

    # Verification: inspector1 adds 1.0 on ZF0101 for 吴江 and 2.0 on DW03 for 吴中; confirms the rest.
    inspector = client_as("inspector1")
    assert len(inbox_ids(inspector)) == 6
    adjustments = {"wujiang": ("ZF0101", "1.00"), "wuzhong": ("DW03", "2.00")}
    for code in CODES:
        record = task_of("verification", ids[code])
        assert inspector.post(f"/tasks/{record.id}/claim").status_code == 302
        data = {"action": "submit"}
        if code in adjustments:
            indicator, amount = adjustments[code]
            data.update({f"lost_{indicator}": amount, f"reason_{indicator}": "暗访发现问题"})
        response = inspector.post(f"/tasks/{record.id}", data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]

    # Confirmation: 吴江 and 吴中 appeal their adjustment; the others accept.
    for code in CODES:
        liaison = client_as(f"liaison_{code}")
        record = task_of("result_confirmation", ids[code])
        if code in adjustments:
            db.session.expire_all()
            assessment = db.session.get(DistrictAssessment, record.assessment_id)
            page = liaison.get(f"/tasks/{record.id}").get_data(as_text=True)
            entry_id = int(page.split('name="appeal_')[1].split('"')[0])
            data = {
                "decision": "appeal",
                f"appeal_{entry_id}": "1",
                f"appeal_reason_{entry_id}": "该处已于检查前整改完毕",
            }
            assert assessment.released_at is not None
        else:
            data = {"decision": "accept"}
        response = liaison.post(f"/tasks/{record.id}", data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]

    # Review (回避): inspector1 made the adjustments and must not see or decide them.
    review_ids = [task_of("appeal_review", ids[c]).id for c in adjustments]
    assert not set(review_ids) & set(inbox_ids(inspector))
    assert inspector.get(f"/tasks/{review_ids[0]}").status_code == 404
    reviewer = client_as("inspector2")
    appeal = db.session.scalar(select(Appeal).where(Appeal.adjustment.has()).order_by(Appeal.id))
    response = reviewer.post(
        f"/tasks/{review_ids[0]}",
        data={f"decision_{appeal.id}": "upheld", f"decision_reason_{appeal.id}": "整改照片早于检查时间"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    second = db.session.scalars(select(Appeal).order_by(Appeal.id)).all()[1]
    response = admin.post(
        f"/tasks/{review_ids[1]}",
        data={f"decision_{second.id}": "rejected", f"decision_reason_{second.id}": "现场照片证据充分"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]

    # Every district done: the round moves to 汇总定分; nothing is visible to districts yet.
    db.session.expire_all()
    round_ = db.session.get(Round, round_.id)
    assert round_.districts_done == 6 and round_.status == "finalising"
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
    results = {r.district.code: (r.total, r.rank) for r in db.session.scalars(select(RoundResult))}
    assert results == {
        "wujiang": (Decimal("75.00"), 1),
        "xiangcheng": (Decimal("74.00"), 2),
        "gusu": (Decimal("73.50"), 3),
        "sip": (Decimal("73.00"), 4),
        "wuzhong": (Decimal("72.50"), 5),
        "snd": (Decimal("72.50"), 5),
    }
    page = liaison.get(f"/rounds/{round_.id}/results").get_data(as_text=True)
    assert "苏州高新区" in page and "72.50" in page and "75.00" in page
    # Published totals are public to districts; another district's detail is not.
    assert liaison.get(f"/rounds/{round_.id}/districts/{ids['wujiang']}").status_code == 404
    assert liaison.get(f"/rounds/{round_.id}/districts/{ids['gusu']}").status_code == 200
    actions = set(db.session.scalars(select(AuditRecord.action)))
    assert {"round.issue", "score.self_submit", "appeal.decide", "round.publish", "task.complete"} <= actions

    # Recomputing the published round from its records gives exactly the published scores.
    runner = app.test_cli_runner()
    result = runner.invoke(args=["round", "recompute", str(round_.id)])
    assert result.exit_code == 0 and "一致" in result.output
    with db.transaction() as session:
        entry = session.scalar(select(ScoreEntry).where(ScoreEntry.stage == "self"))
        entry.amount += 1  # tampering with a stored record
    result = runner.invoke(args=["round", "recompute", str(round_.id)])
    assert result.exit_code != 0 and "总分 已存" in result.output
