"""A self-report deadline fires through the scheduler's due-timer query."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.db import db
from app.deadlines.scheduling import fire_overdue as fire_due
from app.rounds.issuing import issue_round
from app.rounds.models import DistrictAssessment
from app.schemes.models import Scheme
from app.scoring.models import Fact
from app.tasks.models import TaskRecord
from tests.helpers import district_ids, task_of
from workflows import clock
from workflows.deadlines import DeadlineRuleError, validate_rule
from workflows.store import ProcessInstance

pytestmark = pytest.mark.db


def test_fixed_deadline_in_the_past_is_refused() -> None:
    with pytest.raises(DeadlineRuleError, match="已过"):
        validate_rule("self_report", {"kind": "fixed", "at": "2020-01-01T17:00:00+08:00"})


def test_overdue_self_report_closes_and_counts_the_draft(app, demo, client_as) -> None:
    ids = district_ids()
    due = clock.now() + timedelta(seconds=2)
    with db.transaction() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        scheme = session.scalar(select(Scheme))
        rules = {
            "self_report": {"kind": "fixed", "at": due.isoformat()},
            "verification": {"kind": "days", "days": 7},
            "appeal": {"kind": "days", "days": 3},
            "review": {"kind": "days", "days": 5},
        }
        issue_round(session, admin, "逾期测试", "2026-11", scheme.id, [ids["gusu"], ids["sip"]], rules)
    record = task_of("self_report", ids["gusu"])
    assert record.due_at is not None
    assert abs((record.due_at - due).total_seconds()) < 1

    gusu = client_as("liaison_gusu")
    gusu.post(
        f"/tasks/{record.id}",
        data={"action": "draft", "f_DW03_occ1_desc": "未着制服", "reason_DW03": "暗访发现"},
    )
    assert fire_due() == 0  # nothing is due yet
    time.sleep(max(0.0, (due - clock.now()).total_seconds()) + 0.3)
    assert fire_due() == 2

    db.session.expire_all()
    assessment = db.session.scalar(
        select(DistrictAssessment).where(DistrictAssessment.district_id == ids["gusu"])
    )
    assert assessment.self_overdue
    assert assessment.stage == "verification"
    instance_id = assessment.instance_id
    fact = db.session.scalar(select(Fact))
    assert not fact.is_draft
    assert (fact.kind, fact.description) == ("occurrence", "未着制服")
    assert db.session.get(TaskRecord, record.id).state == "cancelled"
    assert task_of("verification", ids["gusu"]).due_at is not None
    late = gusu.post(f"/tasks/{record.id}", data={"action": "submit"}, follow_redirects=True)
    assert "已处理或已被取消" in late.get_data(as_text=True)
    # The district's liaison and the administrators are told; other districts are not.
    # (the round has 姑苏 and 园区, both overdue: the admin hears of both, each liaison of its own)
    for username, expected in (("liaison_gusu", 1), ("admin", 2), ("liaison_wujiang", 0)):
        page = client_as(username).get("/notifications").get_data(as_text=True)
        assert page.count("自评逾期未报") == expected, username
    # The next timer is now the verification deadline, days ahead.
    instance = db.session.get(ProcessInstance, instance_id)
    assert instance.next_timer_at > clock.now() + timedelta(days=6)
