"""Deadlines under a frozen clock (time-machine): what each stage's deadline does, on working days."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine
from sqlalchemy import func, select

from app.accounts.models import User
from app.audit.models import AuditRecord
from app.db import db
from app.deadlines.models import Reminder
from app.deadlines.reminders import send_due_reminders
from app.deadlines.scheduling import fire_overdue
from app.notifications.models import Notification
from app.rounds.models import Round
from app.scoring.models import Fact
from app.scoring.scores import load_scores
from app.tasks.models import TaskRecord
from tests.deadlines.support import assessments, issue
from tests.helpers import district_ids, full_marks, occurrence, task_of
from workflows import clock

pytestmark = pytest.mark.db
SH = clock.SHANGHAI


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SH)


def titles(username: str) -> list[str]:
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.username == username))
    return list(
        db.session.scalars(
            select(Notification.title).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


def test_self_report_closes_after_the_third_working_day_and_empty_indicators_score_zero(
    app, demo, client_as
) -> None:
    ids = district_ids()
    with time_machine.travel(at(2026, 9, 21, 10, 0), tick=False) as traveller:  # a Monday
        round_id = issue([ids["gusu"], ids["sip"]], settings={"self_report_empty": "zero"})
        record = task_of("self_report", ids["gusu"])
        assert record.due_at == at(2026, 9, 25, 0, 0)  # Tue, Wed, Thu → 24:00 on Thursday
        gusu = client_as("liaison_gusu")
        draft = {"action": "draft", **occurrence("DW03", 1, "未着制服"), "reason_DW03": "暗访发现"}
        assert gusu.post(f"/tasks/{record.id}", data=draft).status_code == 302

        traveller.move_to(at(2026, 9, 24, 23, 59, 59))
        assert fire_overdue() == 0
        traveller.move_to(at(2026, 9, 25, 0, 0, 1))
        assert fire_overdue() == 2
        assert fire_overdue() == 0  # exactly once

    gusu_assessment, sip_assessment = assessments(round_id)
    assert gusu_assessment.self_overdue
    assert gusu_assessment.stage == "verification"
    assert sip_assessment.self_overdue
    scores = load_scores(db.session, db.session.get(Round, round_id), gusu_assessment.id)
    assert scores.leaf("self", "ZF0301").score == 0  # left empty: 0 by the round's rule
    assert "逾期未报" in scores.leaf("self", "ZF0301").deductions[0].reason
    assert scores.leaf("self", "DW03").score > 0  # the draft counted as submitted
    assert not db.session.scalar(select(Fact).where(Fact.kind == "occurrence")).is_draft
    # The district's liaison hears of its own district only; the administrator of both.
    assert titles("liaison_gusu") == ["姑苏区 自评逾期未报"]
    assert sorted(titles("admin")) == sorted(["姑苏区 自评逾期未报", "苏州工业园区 自评逾期未报"])


def test_verified_rule_leaves_empty_indicators_to_the_inspector(app, demo) -> None:
    ids = district_ids()
    with time_machine.travel(at(2026, 9, 21, 10, 0), tick=False) as traveller:
        round_id = issue([ids["gusu"]], settings={"self_report_empty": "verified"})
        traveller.move_to(at(2026, 9, 25, 0, 0, 1))
        assert fire_overdue() == 1
    (assessment,) = assessments(round_id)
    assert assessment.self_overdue
    assert db.session.scalar(select(func.count()).select_from(Fact)) == 0


def test_appeal_window_closes_on_working_days_across_the_national_day_holiday(app, demo, client_as) -> None:
    ids = district_ids()
    with time_machine.travel(at(2026, 9, 28, 9, 0), tick=False) as traveller:
        round_id = issue([ids["gusu"]])
        gusu = client_as("liaison_gusu")
        gusu.post(f"/tasks/{task_of('self_report', ids['gusu']).id}", data=full_marks({"action": "submit"}))

        traveller.move_to(at(2026, 9, 30, 15, 0))  # the last working day before the holiday
        inspector = client_as("inspector1")
        inspector.post(f"/tasks/{task_of('verification', ids['gusu']).id}", data={"action": "submit"})
        confirmation = task_of("result_confirmation", ids["gusu"])
        # 10-01…10-07 rest; 10-08 (Thu), 10-09 (Fri) and 10-10 (Sat, 调休) are the three working days.
        assert confirmation.due_at == at(2026, 10, 11, 0, 0)

        traveller.move_to(at(2026, 10, 10, 23, 59, 59))
        assert fire_overdue() == 0
        traveller.move_to(at(2026, 10, 11, 0, 0, 1))
        assert fire_overdue() == 1
        (assessment,) = assessments(round_id)
        assert assessment.stage == "done"
        assert db.session.get(TaskRecord, confirmation.id).state == "cancelled"
        late = client_as("liaison_gusu").post(
            f"/tasks/{confirmation.id}", data={"action": "appeal"}, follow_redirects=True
        )
        assert "已处理或已被取消" in late.get_data(as_text=True)
    assert "姑苏区 申诉期已满" in titles("liaison_gusu")
    assert (
        db.session.scalar(select(func.count()).where(AuditRecord.action == "assessment.appeal_window_closed"))
        == 1
    )


def test_verification_deadline_follows_the_round_settings(app, demo, client_as) -> None:
    ids = district_ids()
    settings = {"escalate_verification": False, "notify": {"verification": ["holder"]}}
    with time_machine.travel(at(2026, 9, 21, 10, 0), tick=False) as traveller:
        issue([ids["gusu"]], settings=settings)
        client_as("liaison_gusu").post(
            f"/tasks/{task_of('self_report', ids['gusu']).id}", data=full_marks({"action": "submit"})
        )
        verification = task_of("verification", ids["gusu"])
        traveller.move_to(verification.due_at.astimezone(SH).replace(second=1))
        assert fire_overdue() == 1
    db.session.expire_all()
    assert not db.session.get(TaskRecord, verification.id).escalated
    assert "姑苏区 核查超期" in titles("inspector1")  # the people holding the task
    assert "姑苏区 核查超期" not in titles("admin")


def test_reminders_go_to_the_holders_before_the_deadline_and_skip_finished_tasks(
    app, demo, client_as
) -> None:
    ids = district_ids()
    with time_machine.travel(at(2026, 9, 21, 10, 0), tick=False) as traveller:
        issue([ids["gusu"], ids["sip"]])  # self-report due 09-25 00:00; reminders 24 h and 2 h before
        planned = db.session.scalars(select(Reminder.remind_at).order_by(Reminder.remind_at)).all()
        assert sorted(set(planned)) == [at(2026, 9, 24, 0, 0), at(2026, 9, 24, 22, 0)]

        traveller.move_to(at(2026, 9, 23, 23, 59))
        with db.transaction() as session:
            assert send_due_reminders(session) == ""
        traveller.move_to(at(2026, 9, 24, 0, 0, 30))
        with db.transaction() as session:
            assert send_due_reminders(session) == "发送提醒 2 条"
        assert titles("liaison_gusu") == ["截止提醒：区自评填报（姑苏区）"]

        traveller.move_to(at(2026, 9, 24, 10, 0))
        client_as("liaison_gusu").post(
            f"/tasks/{task_of('self_report', ids['gusu']).id}", data=full_marks({"action": "submit"})
        )
        traveller.move_to(at(2026, 9, 24, 22, 0, 30))
        with db.transaction() as session:
            assert send_due_reminders(session) == "发送提醒 1 条，跳过已办结 1 条"
    assert len(titles("liaison_gusu")) == 1
    assert len(titles("liaison_sip")) == 2
