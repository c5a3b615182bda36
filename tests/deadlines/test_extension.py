"""Extending one district's deadline: the BPMN timer itself moves, audited, and nothing else does."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine
from sqlalchemy import func, select

from app.audit.models import AuditRecord
from app.db import db
from app.deadlines.models import Reminder
from app.deadlines.scheduling import fire_overdue
from app.tasks.models import TaskRecord
from tests.deadlines.support import assessments, issue
from tests.helpers import district_ids, task_of
from workflows import clock
from workflows.store import ProcessInstance, TimerChange

pytestmark = pytest.mark.db
SH = clock.SHANGHAI


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SH)


def extensions() -> int:
    return db.session.scalar(select(func.count()).where(AuditRecord.action == "deadline.extend"))


def test_extended_deadline_fires_at_the_new_time_and_not_the_old(app, demo, client_as) -> None:
    ids = district_ids()
    with time_machine.travel(at(2026, 9, 21, 10, 0), tick=False) as traveller:
        round_id = issue([ids["gusu"], ids["sip"]])  # self-report due 09-25 00:00
        record = task_of("self_report", ids["gusu"])
        admin = client_as("admin")
        url = f"/tasks/{record.id}/deadline"
        assert "2026-09-24 24:00" in admin.get(url).get_data(as_text=True)

        refused = [
            ({"new_due": "2026-09-24T18:00", "reason": "系统故障"}, "须晚于原截止时间"),
            ({"new_due": "2026-09-28T18:00", "reason": "  "}, "请填写延期理由"),
            ({"new_due": "不是时间", "reason": "系统故障"}, "请填写新的截止时间"),
        ]
        for data, message in refused:
            response = admin.post(url, data=data)
            assert response.status_code == 422
            assert message in response.get_data(as_text=True)
        assert extensions() == 0
        assert task_of("self_report", ids["gusu"]).due_at == at(2026, 9, 25, 0, 0)
        assert (
            client_as("liaison_gusu")
            .post(url, data={"new_due": "2026-09-28T18:00", "reason": "x"})
            .status_code
            == 403
        )

        instance_id = record.instance_id
        db.session.execute(TimerChange.__table__.delete())
        db.session.commit()
        response = admin.post(url, data={"new_due": "2026-09-28T18:00", "reason": "区里系统故障两天"})
        assert response.status_code == 302
        db.session.expire_all()
        moved = db.session.get(TaskRecord, record.id)
        assert moved.due_at == at(2026, 9, 28, 18, 0)
        assert db.session.get(ProcessInstance, instance_id).next_timer_at == at(2026, 9, 28, 18, 0)
        # The scheduler (perhaps another process) learns of it from the change feed.
        assert db.session.scalar(select(TimerChange.instance_id)) == instance_id
        assert sorted(
            db.session.scalars(select(Reminder.remind_at).where(Reminder.task_record_id == record.id))
        ) == [
            at(2026, 9, 27, 18, 0),
            at(2026, 9, 28, 16, 0),
        ]
        audit = db.session.scalar(select(AuditRecord).where(AuditRecord.action == "deadline.extend"))
        assert audit.after["reason"] == "区里系统故障两天"
        assert "2026-09-24 24:00 → 2026-09-28 18:00" in audit.summary

        traveller.move_to(at(2026, 9, 25, 0, 0, 1))
        assert fire_overdue() == 1  # only 园区: 姑苏's old deadline is gone
        gusu, sip = assessments(round_id)
        assert sip.self_overdue
        assert not gusu.self_overdue
        assert gusu.stage == "self_report"

        traveller.move_to(at(2026, 9, 28, 17, 59, 59))
        assert fire_overdue() == 0
        traveller.move_to(at(2026, 9, 28, 18, 0, 1))
        assert fire_overdue() == 1
        gusu, _ = assessments(round_id)
        assert gusu.self_overdue
        assert gusu.stage == "verification"


def test_a_finished_task_cannot_be_extended(app, demo, client_as) -> None:
    ids = district_ids()
    with time_machine.travel(at(2026, 9, 21, 10, 0), tick=False) as traveller:
        issue([ids["gusu"]])
        record = task_of("self_report", ids["gusu"])
        traveller.move_to(at(2026, 9, 25, 0, 0, 1))
        fire_overdue()
        response = client_as("admin").post(
            f"/tasks/{record.id}/deadline", data={"new_due": "2026-09-28T18:00", "reason": "补报"}
        )
    assert response.status_code == 422
    assert "已办结或没有截止时间" in response.get_data(as_text=True)
    assert extensions() == 0
