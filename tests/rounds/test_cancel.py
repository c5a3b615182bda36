"""Cancelling a round before publication: processes stop, inboxes empty, deadlines never fire."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.audit.models import AuditRecord
from app.db import db
from app.deadlines.scheduling import fire_overdue
from app.rounds.models import Round
from app.tasks.models import TaskRecord
from tests.helpers import complete_round, inbox_ids, issue_round
from workflows import clock
from workflows.store import ProcessInstance

pytestmark = pytest.mark.db


def test_an_open_round_is_cancelled_with_a_reason(app, demo, client_as) -> None:
    admin = client_as("admin")
    issue_round(admin)
    round_id = db.session.scalar(select(Round.id))
    assert inbox_ids(client_as("liaison_gusu"))

    refused = admin.post(f"/rounds/{round_id}/cancel", data={"reason": "  "}, follow_redirects=True)
    assert "撤销失败：请填写撤销理由" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Round, round_id).status == "running"
    assert (
        client_as("liaison_gusu").post(f"/rounds/{round_id}/cancel", data={"reason": "x"}).status_code == 403
    )

    done = admin.post(
        f"/rounds/{round_id}/cancel", data={"reason": "细则版本选错，重新下发"}, follow_redirects=True
    )
    assert "本轮考核已撤销" in done.get_data(as_text=True)
    db.session.expire_all()
    round_ = db.session.get(Round, round_id)
    assert round_.status == "cancelled"
    assert round_.cancel_reason == "细则版本选错，重新下发"
    assert inbox_ids(client_as("liaison_gusu")) == []
    assert db.session.scalar(select(func.count()).where(TaskRecord.state == "ready")) == 0
    statuses = set(db.session.scalars(select(ProcessInstance.status)))
    assert statuses == {"cancelled"}
    assert db.session.scalar(select(func.count()).where(ProcessInstance.next_timer_at.is_not(None))) == 0
    audit = db.session.scalar(select(AuditRecord).where(AuditRecord.action == "round.cancel"))
    assert "细则版本选错" in audit.summary
    page = admin.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "理由：细则版本选错，重新下发" in page
    assert "确认撤销" not in page
    with time_machine.travel(clock.now() + timedelta(days=60), tick=False):
        assert fire_overdue() == 0  # its deadlines are gone


def test_a_published_round_cannot_be_cancelled(app, demo, client_as) -> None:
    round_id = complete_round(client_as, ["gusu"])
    page = client_as("admin").post(
        f"/rounds/{round_id}/cancel", data={"reason": "想撤销"}, follow_redirects=True
    )
    assert "只能以更正通知更正" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Round, round_id).status == "published"
