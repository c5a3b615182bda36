"""The scheduler lease, and the round's deadline settings as the issue form takes them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.db import db
from app.deadlines.settings import SettingsError, describe, parse_hours, settings_of, validate_settings
from app.rounds.models import Round
from tests.helpers import issue_round
from workflows import clock
from workflows.lease import Lease
from workflows.store import SchedulerLease

pytestmark = pytest.mark.db


def test_one_holder_at_a_time_and_a_standby_takes_an_expired_lease(app) -> None:
    ttl = timedelta(seconds=6)
    first = Lease(db.transaction, "deadlines", "A", ttl)
    second = Lease(db.transaction, "deadlines", "B", ttl)
    start = clock.now()
    with time_machine.travel(start, tick=False) as traveller:
        assert first.acquire_or_renew()
        assert first.held
        assert not second.acquire_or_renew()
        assert not second.held
        traveller.shift(timedelta(seconds=4))
        assert first.acquire_or_renew()  # renewed: good for another six seconds
        traveller.shift(timedelta(seconds=4))
        assert not second.acquire_or_renew()
        traveller.shift(timedelta(seconds=3))  # A stopped renewing seven seconds ago
        assert not first.held
        assert second.acquire_or_renew()
        assert not first.acquire_or_renew()
        lease = db.session.get(SchedulerLease, "deadlines")
        assert lease.holder == "B"
        assert lease.acquired_at == clock.now()
        second.release()
        assert db.session.scalar(select(func.count()).select_from(SchedulerLease)) == 0
        assert first.acquire_or_renew()


def test_settings_are_completed_from_defaults_and_validated() -> None:
    assert settings_of({})["reminder_hours"] == [24, 2]
    assert settings_of({"notify": {"review": []}})["notify"]["self_report"] == ["liaison", "admin"]
    assert parse_hours("2，24 24") == [24.0, 2.0]
    for bad, field in [
        ({"reminder_hours": "明天"}, "reminder_hours"),
        ({"reminder_hours": "0"}, "reminder_hours"),
        ({"self_report_empty": "half"}, "self_report_empty"),
        ({"notify": {"appeal": ["everyone"]}}, "notify_appeal"),
    ]:
        with pytest.raises(SettingsError) as caught:
            validate_settings(bad)
        assert caught.value.field == field
    lines = dict(describe(validate_settings({"self_report_empty": "zero", "reminder_hours": "48"})))
    assert "按 0 分计" in lines["自评截止"]
    assert "48 小时" in lines["截止前提醒"]


def test_issue_form_takes_the_deadline_settings(app, demo, client_as) -> None:
    admin = client_as("admin")
    form = admin.get("/rounds/new").get_data(as_text=True)
    assert "截止后的处理与提醒" in form
    assert 'value="24,2"' in form
    # The helper posts the stage rules; add the settings fields a browser would send.
    original = admin.post

    def post_with(extra: dict) -> object:
        def post(url: str, data: dict | None = None, **kwargs: object) -> object:
            return original(url, data={**(data or {}), **extra}, **kwargs)

        admin.post = post  # type: ignore[method-assign]
        try:
            return issue_round(admin)
        finally:
            admin.post = original  # type: ignore[method-assign]

    refused = post_with({"reminder_hours": "明天", "self_report_empty": "zero"})
    assert refused.status_code == 200
    assert "提醒时间须为小时数" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Round)) == 0

    accepted = post_with(
        {
            "reminder_hours": "48, 4",
            "self_report_empty": "zero",
            "escalate_verification": "",
            "notify_self_report": ["admin"],
            "notify_verification": ["holder", "admin"],
        }
    )
    assert accepted.status_code == 302
    settings = db.session.scalar(select(Round)).deadline_settings
    assert settings["reminder_hours"] == [48.0, 4.0]
    assert settings["self_report_empty"] == "zero"
    assert settings["escalate_verification"] is False  # an unticked box
    assert settings["notify"]["self_report"] == ["admin"]
    assert settings["notify"]["verification"] == ["holder", "admin"]
    overview = admin.get(accepted.headers["Location"]).get_data(as_text=True)
    assert "截止前 48 小时、4 小时提醒任务办理人" in overview
