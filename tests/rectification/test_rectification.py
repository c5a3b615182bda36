"""整改: a district with a deduction marked 逾期未整改 gets a rectification task at publication;
it reports with evidence, the inspector sends it back, then accepts it. Through HTTP."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditRecord
from app.db import db
from app.deadlines.models import Reminder
from app.evidence.models import EvidenceFile
from app.rectification.models import Rectification
from app.tasks.models import TaskRecord
from tests.evidence.builders import jpeg
from tests.helpers import complete_round, district_ids, inbox_ids, issue_round, occurrence, task_of

pytestmark = pytest.mark.db
UNRECTIFIED = {
    "f_DW03_present": "1",
    **occurrence("DW03", 1, "执勤人员未着制服", "superior"),
    "f_DW03_occ1_unrectified": "1",
    "reason_DW03": "省厅督查发现，逾期未整改",
}


def rectification() -> Rectification:
    db.session.expire_all()
    item = db.session.scalar(select(Rectification))
    assert item is not None
    return item


def test_rectification_round_trip(app, demo, client_as) -> None:
    round_id = complete_round(client_as, ["gusu", "sip"], {"gusu": UNRECTIFIED})
    ids = district_ids()
    assert db.session.scalar(select(func.count()).select_from(Rectification)) == 1  # only 姑苏
    item = rectification()
    assert item.district_id == ids["gusu"]
    assert item.status == "open"
    assert "DW03" in item.reasons[0]
    assert "须整改" in item.reasons[0]

    gusu = client_as("liaison_gusu")
    report = task_of("rectification_report", ids["gusu"])
    assert report.due_at is not None
    assert report.id in inbox_ids(gusu)
    reminders = select(func.count()).where(Reminder.task_record_id == report.id)
    assert db.session.scalar(reminders) == 2  # 24 h and 2 h before, like every task with a deadline
    assert client_as("liaison_sip").get(f"/tasks/{report.id}").status_code in (403, 404)
    empty = gusu.post(f"/tasks/{report.id}", data={"report": ""})
    assert "请填写整改情况报告" in empty.get_data(as_text=True)  # the form again, with the message
    assert rectification().status == "open"
    sent = gusu.post(
        f"/tasks/{report.id}",
        data={
            "report": "已对涉事队员批评教育，全员着装检查。",
            "evidence": (io.BytesIO(jpeg(size=(40, 30), colour="green")), "整改后.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    assert rectification().status == "submitted"
    assert (
        db.session.scalar(select(EvidenceFile.original_name).where(EvidenceFile.stage == "rectify"))
        == "整改后.jpg"
    )

    inspector = client_as("inspector1")
    review = task_of("rectification_review", ids["gusu"])
    refused = inspector.post(f"/tasks/{review.id}", data={"decision": "return", "comment": ""})
    assert "退回时请写明" in refused.get_data(as_text=True)
    inspector.post(f"/tasks/{review.id}", data={"decision": "return", "comment": "请补充整改前后对比照片"})
    item = rectification()
    assert item.status == "returned"
    assert item.review_comment == "请补充整改前后对比照片"

    again = task_of("rectification_report", ids["gusu"])
    assert again.id != report.id
    gusu.post(f"/tasks/{again.id}", data={"report": "已补充对比照片。"})
    inspector.post(
        f"/tasks/{task_of('rectification_review', ids['gusu']).id}",
        data={"decision": "accept", "comment": "整改到位"},
    )
    item = rectification()
    assert item.status == "accepted"
    assert item.accepted_at is not None
    assert (
        db.session.scalar(
            select(func.count()).where(
                TaskRecord.state == "ready", TaskRecord.form_key.like("rectification%")
            )
        )
        == 0
    )
    actions = set(
        db.session.scalars(select(AuditRecord.action).where(AuditRecord.action.like("rectification.%")))
    )
    assert actions == {
        "rectification.order",
        "rectification.report",
        "rectification.return",
        "rectification.accept",
    }

    page = gusu.get(f"/rounds/{round_id}/districts/{ids['gusu']}").get_data(as_text=True)
    assert "已销号" in page
    assert "执勤人员未着制服" in page


def test_an_open_rectification_shows_in_the_next_round(app, demo, client_as) -> None:
    complete_round(client_as, ["gusu"], {"gusu": UNRECTIFIED})
    issue_round(client_as("admin"), title="下一轮", district_ids=[district_ids()["gusu"]])
    rounds = sorted(db.session.scalars(select(TaskRecord.round_id).distinct()))
    overview = client_as("admin").get(f"/rounds/{rounds[-1]}").get_data(as_text=True)
    assert "上期整改待整改" in overview


def test_the_rectification_process_diagram_is_shown_to_those_who_see_the_district(
    app, demo, client_as
) -> None:
    round_id = complete_round(client_as, ["gusu", "sip"], {"gusu": UNRECTIFIED})
    ids = district_ids()
    item = rectification()
    url = f"/rounds/{round_id}/instances/{item.instance_id}/diagram"
    for who in ("liaison_gusu", "inspector1", "admin", "ops"):
        response = client_as(who).get(url)
        assert response.status_code == 200, who
        body = response.get_json()
        assert "rectification" in body["xml"], who
        assert body["active"] == ["submit_rectification"], who
    assert client_as("liaison_sip").get(url).status_code == 404
    assert (
        client_as("admin").get(f"/rounds/{round_id + 1}/instances/{item.instance_id}/diagram").status_code
        == 404
    )
    page = client_as("liaison_gusu").get(f"/rounds/{round_id}/districts/{ids['gusu']}").get_data(as_text=True)
    assert f'data-url="{url}"' in page
    assert "整改" in page
