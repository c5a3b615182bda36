"""Incidents: a deadline whose service task fails is rolled back whole and recorded, retried with
back-off, then left to the administrators (told once), whose retry fires it after the fix."""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import time_machine
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from sqlalchemy import func, select

from app.accounts.models import User
from app.audit.models import AuditRecord
from app.db import db
from app.deadlines.scheduling import fire_overdue, start_scheduler
from app.errors import ValidationFailed
from app.notifications.models import Notification
from app.processes.runtime import registry
from app.rounds.models import DistrictAssessment
from app.scoring.models import Fact
from app.tasks.models import TaskRecord
from tests.deadlines.support import assessments, fixed, issue
from tests.deadlines.test_live_scheduler import wait_until
from tests.helpers import district_ids, full_marks, task_of
from workflows import clock
from workflows.incidents import describe, task_failure
from workflows.store import ProcessIncident, ProcessInstance, SchedulerRun

pytestmark = pytest.mark.db
SH = clock.SHANGHAI
MESSAGE = "服务任务“逾期未报处理”执行失败：系统内部错误（RuntimeError）"


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SH)


class Breakdown:
    """A service operation that fails for some districts after doing its writes, so only the
    rollback keeps them out; ``fix()`` puts it right."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        districts: Iterable[int],
        operation: str = "self_report_overdue",
        error: Exception | None = None,
    ) -> None:
        self.failing = set(districts)
        key, real = registry.operations[operation]

        def run(process_run: Any, data: dict[str, Any]) -> dict[str, Any]:
            result = real.run(process_run, data)
            assessment = process_run.session.get(DistrictAssessment, data["assessment_id"])
            if assessment.district_id in self.failing:
                raise error or RuntimeError("SMTP gateway timed out")
            return result

        monkeypatch.setitem(registry.operations, operation, (key, dataclasses.replace(real, run=run)))

    def fix(self) -> None:
        self.failing.clear()


def incidents() -> list[ProcessIncident]:
    db.session.expire_all()
    found = list(db.session.scalars(select(ProcessIncident).order_by(ProcessIncident.id)))
    db.session.rollback()
    return found


def titles(username: str) -> list[str]:
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.username == username))
    return list(
        db.session.scalars(
            select(Notification.title).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


def user_id(username: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == username))


def audits(action: str) -> list[AuditRecord]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditRecord).where(AuditRecord.action == action)))


def test_a_failing_deadline_is_rolled_back_and_recorded_while_the_others_fire(
    app, demo, client_as, monkeypatch
) -> None:
    ids = district_ids()
    with time_machine.travel(at(2026, 9, 21, 10, 0), tick=False) as traveller:  # due 09-25 00:00
        round_id = issue([ids["gusu"], ids["sip"]], settings={"self_report_empty": "zero"})
        Breakdown(monkeypatch, [ids["gusu"]])
        gusu, sip = assessments(round_id)
        before = db.session.get(ProcessInstance, gusu.instance_id)
        version, state = before.version, before.state
        db.session.rollback()
        traveller.move_to(at(2026, 9, 25, 0, 0, 1))
        assert fire_overdue() == 1  # 苏州工业园区's deadline fired beside 姑苏区's failure
        failed_at = clock.now()
        page = client_as("admin").get("/deadlines").get_data(as_text=True)

    gusu, sip = assessments(round_id)
    assert sip.self_overdue
    assert db.session.scalar(select(func.count()).where(Fact.assessment_id == sip.id)) > 0
    # 姑苏区: what the operation wrote before failing was rolled back with the whole firing.
    assert not gusu.self_overdue
    assert gusu.stage == "self_report"
    assert db.session.scalar(select(func.count()).where(Fact.assessment_id == gusu.id)) == 0
    assert titles("liaison_gusu") == []
    instance = db.session.get(ProcessInstance, gusu.instance_id)
    assert (instance.version, instance.state) == (version, state)
    assert task_of("self_report", ids["gusu"]).state == "ready"

    (incident,) = incidents()
    assert incident.instance_id == gusu.instance_id
    assert incident.process_key == "district_assessment"
    assert (incident.element, incident.element_name) == ("mark_self_report_overdue", "逾期未报处理")
    assert incident.message == MESSAGE
    assert "SMTP gateway timed out" in incident.detail  # the technical text, for operators
    assert (incident.status, incident.attempts) == ("retrying", 1)
    assert incident.first_failed_at == incident.last_failed_at == failed_at
    assert incident.next_retry_at == failed_at + timedelta(seconds=30)
    failed = db.session.scalars(select(SchedulerRun).where(SchedulerRun.outcome == "failed")).all()
    assert [(r.instance_id, r.detail) for r in failed] == [(gusu.instance_id, MESSAGE)]
    # The jobs page shows it, with the district and round.
    assert MESSAGE in page
    assert "姑苏区" in page
    assert "自动重试中" in page


def test_retries_back_off_then_wait_for_the_administrators_who_are_told_once(app, demo, monkeypatch) -> None:
    ids = district_ids()
    with time_machine.travel(at(2026, 9, 21, 10, 0), tick=False) as traveller:
        issue([ids["gusu"]])
        Breakdown(monkeypatch, [ids["gusu"]])
        traveller.move_to(at(2026, 9, 25, 0, 0, 1))
        assert fire_overdue() == 0
        delays = []
        for attempt in range(1, 6):
            (incident,) = incidents()
            assert (incident.status, incident.attempts) == ("retrying", attempt)
            delays.append((incident.next_retry_at - incident.last_failed_at).total_seconds())
            traveller.move_to(incident.next_retry_at - timedelta(seconds=1))
            fire_overdue()
            assert incidents()[0].attempts == attempt  # not before its time
            traveller.move_to(incident.next_retry_at)
            fire_overdue()
        assert delays == [30, 60, 120, 240, 480]
        (incident,) = incidents()
        assert (incident.status, incident.attempts, incident.next_retry_at) == ("waiting", 6, None)
        assert titles("admin") == ["定时任务异常待处理：逾期未报处理（姑苏区，截止测试）"]

        traveller.shift(timedelta(days=2))  # no automatic retry any more
        assert fire_overdue() == 0
    (incident,) = incidents()
    assert (incident.status, incident.attempts) == ("waiting", 6)
    assert len(titles("admin")) == 1
    assert titles("liaison_gusu") == []
    body = db.session.scalar(select(Notification.body).where(Notification.user_id == user_id("admin")))
    assert body.startswith(MESSAGE) and "已自动重试 5 次" in body


def test_an_administrator_retries_after_the_fix_and_the_firing_resolves_the_incident(
    app, demo, client_as, monkeypatch
) -> None:
    config = {**app.config, "INCIDENT_MAX_RETRIES": 0}  # straight to the administrator
    ids = district_ids()
    breakdown = Breakdown(monkeypatch, [ids["gusu"]], error=ValidationFailed("本轮截止设置缺少自评规则"))
    with time_machine.travel(at(2026, 9, 21, 10, 0), tick=False) as traveller:
        round_id = issue([ids["gusu"]])
        traveller.move_to(at(2026, 9, 25, 0, 0, 1))
        fire_overdue(config=config)
        (incident,) = incidents()
        # An application's refusal is the reason people read.
        assert incident.message == "服务任务“逾期未报处理”执行失败：本轮截止设置缺少自评规则"
        assert incident.status == "waiting"
        retry = f"/deadlines/incidents/{incident.id}/retry"

        ops = client_as("ops")
        page = ops.get("/deadlines").get_data(as_text=True)
        assert "等待管理员处理" in page
        assert retry not in page  # 运维 sees it; the administrator retries
        assert ops.post(retry).status_code == 403
        assert client_as("liaison_gusu").post(retry).status_code == 403
        assert incidents()[0].status == "waiting"

        breakdown.fix()
        admin = client_as("admin")
        assert retry in admin.get("/deadlines").get_data(as_text=True)
        answer = admin.post(retry, follow_redirects=True).get_data(as_text=True)
        assert "已安排立即重试" in answer
        (incident,) = incidents()
        assert (incident.status, incident.next_retry_at) == ("retrying", clock.now())
        assert fire_overdue(config=config) == 1

        (incident,) = incidents()
        assert (incident.status, incident.resolution) == ("resolved", "fired")
        assert incident.resolved_by == user_id("admin")
        (assessment,) = assessments(round_id)
        assert assessment.self_overdue
        page = admin.get("/deadlines").get_data(as_text=True)
        assert "没有未解除的异常" in page
        again = admin.post(retry, follow_redirects=True).get_data(as_text=True)
        assert "该异常已解除，无需重试" in again

    (asked,) = audits("incident.retry")
    assert asked.actor_id == user_id("admin")
    assert asked.summary == "重试定时任务：逾期未报处理（姑苏区，截止测试）"
    assert (asked.round_id, asked.district_id) == (round_id, ids["gusu"])
    (resolved,) = audits("incident.resolved")
    assert resolved.actor_id == user_id("admin")
    assert "重试成功" in resolved.summary


def test_a_click_whose_service_task_fails_fails_and_records_no_incident(
    app, demo, client_as, monkeypatch
) -> None:
    ids = district_ids()
    issue([ids["gusu"]])
    client_as("liaison_gusu").post(
        f"/tasks/{task_of('self_report', ids['gusu']).id}", data=full_marks({"action": "submit"})
    )
    Breakdown(monkeypatch, [ids["gusu"]], operation="release_verified_results")
    verification = task_of("verification", ids["gusu"])
    answer = client_as("inspector1").post(f"/tasks/{verification.id}", data={"action": "submit"})
    # The task page again, telling the inspector which step failed; nothing is written.
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "执行失败" in page
    assert "本次办理未保存" in page
    db.session.expire_all()
    assert db.session.get(TaskRecord, verification.id).state == "ready"
    assert incidents() == []


def test_the_running_scheduler_backs_off_keeps_firing_the_others_and_takes_the_retry(
    app, demo, client_as, monkeypatch
) -> None:
    app.config.update(
        SCHEDULER_LEASE_SECONDS=3.0,
        SCHEDULER_RENEW_SECONDS=1.0,
        INCIDENT_RETRY_SECONDS=0.5,
        INCIDENT_MAX_RETRIES=2,
    )
    ids = district_ids()
    breakdown = Breakdown(monkeypatch, [ids["gusu"]])
    scheduler = start_scheduler(app, holder="only")
    try:
        wait_until(lambda: scheduler.leading, 5, "the lease")
        round_id = issue(
            [ids["gusu"], ids["sip"]], rules={"self_report": fixed(clock.now() + timedelta(seconds=2))}
        )
        gusu_instance, sip_instance = (a.instance_id for a in assessments(round_id))
        wait_until(lambda: assessments(round_id)[1].self_overdue, 8, "苏州工业园区's deadline")
        wait_until(lambda: [i.status for i in incidents()] == ["waiting"], 10, "the retries to run out")
        time.sleep(2)  # nothing retries by itself any more
        (incident,) = incidents()
        assert incident.attempts == 3
        incident_id = incident.id
        db.session.expire_all()
        runs = db.session.scalars(
            select(SchedulerRun.started_at)
            .where(SchedulerRun.instance_id == gusu_instance, SchedulerRun.outcome == "failed")
            .order_by(SchedulerRun.id)
        ).all()
        db.session.rollback()
        gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(runs)]
        assert len(gaps) == 2
        assert gaps[0] >= 0.45 and gaps[1] >= 0.95, gaps  # 0.5 s, then 1 s

        breakdown.fix()
        client_as("admin").post(f"/deadlines/incidents/{incident_id}/retry")
        wait_until(lambda: assessments(round_id)[0].self_overdue, 5, "the retried deadline")
        wait_until(lambda: incidents()[0].status == "resolved", 3, "the incident to resolve")
    finally:
        scheduler.shutdown()
    fired = db.session.scalar(
        select(func.count()).where(SchedulerRun.instance_id == sip_instance, SchedulerRun.outcome == "fired")
    )
    assert fired == 1


def test_cancelling_the_round_closes_its_open_incident(app, demo, client_as, monkeypatch) -> None:
    ids = district_ids()
    Breakdown(monkeypatch, [ids["gusu"]])
    with time_machine.travel(at(2026, 9, 21, 10, 0), tick=False) as traveller:
        round_id = issue([ids["gusu"]])
        traveller.move_to(at(2026, 9, 25, 0, 0, 1))
        fire_overdue()
        assert [i.status for i in incidents()] == ["retrying"]
        admin = client_as("admin")
        admin.post(f"/rounds/{round_id}/cancel", data={"reason": "细则版本选错，重新下发"})
        traveller.shift(timedelta(hours=1))
        assert fire_overdue() == 0  # nothing left to retry
        page = client_as("admin").get("/deadlines").get_data(as_text=True)
    (incident,) = incidents()
    assert (incident.status, incident.resolution, incident.attempts) == ("resolved", "gone", 1)
    assert "没有未解除的异常" in page


def test_a_script_error_names_the_script_task_and_its_line() -> None:
    spec = type(
        "ScriptTask", (), {"bpmn_id": "compute_total", "bpmn_name": "计算总分", "name": "compute_total"}
    )()
    workflow = SimpleNamespace(spec=SimpleNamespace(file="district_assessment.bpmn"))
    workflow.top_workflow = workflow
    task = SimpleNamespace(task_spec=spec, workflow=workflow, data={})
    try:
        try:
            _ = 1 / 0
        except ZeroDivisionError as err:
            raise WorkflowTaskException("ZeroDivisionError:division by zero", task, err, 2) from err
    except WorkflowTaskException as exc:
        failure = task_failure(None, exc)  # the exception carries its task; no workflow needed
    assert failure is not None
    element, name, message, detail = describe(failure)
    assert (element, name) == ("compute_total", "计算总分")
    assert message == "脚本任务“计算总分”执行失败：脚本或表达式出错（ZeroDivisionError，第 2 行）"
    assert "division by zero" in detail
