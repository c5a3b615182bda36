"""A task runs only when READY, for the right role and district, and only once."""

from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from app.db import db
from app.scoring.models import Fact
from app.tasks.models import TaskRecord
from tests.helpers import district_ids, full_marks, issue_round, occurrence, task_of
from workflows.definitions import ProcessLibrary
from workflows.runner import Actor, TaskRefused, find_ready_task

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
RULES = {s: {"kind": "days", "days": 3} for s in ("self_report", "verification", "appeal", "review")}


def _district_workflow():
    library = ProcessLibrary(BPMN_DIR)
    definition = library.current_file("district_assessment")
    return library.new_workflow(definition, {"deadline_rules": RULES, "district_id": 7}, services=None)


def test_future_task_is_refused_by_the_engine_layer() -> None:
    wf = _district_workflow()
    verification = next(
        t for t in wf.get_tasks(state=TaskState.ANY_MASK) if t.task_spec.bpmn_id == "verification"
    )
    assert verification.state == TaskState.FUTURE
    with pytest.raises(TaskRefused) as excinfo:
        find_ready_task(wf, str(verification.id), Actor(1, "inspector", None), 7)
    assert excinfo.value.code == "not_ready"
    assert "尚未开始" in excinfo.value.reason


def test_wrong_role_and_wrong_district_are_refused_by_the_engine_layer() -> None:
    wf = _district_workflow()
    self_report = wf.get_tasks(state=TaskState.READY, manual=True)[0]
    with pytest.raises(TaskRefused, match="角色"):
        find_ready_task(wf, str(self_report.id), Actor(1, "inspector", None), 7)
    with pytest.raises(TaskRefused, match="其他区"):
        find_ready_task(wf, str(self_report.id), Actor(1, "liaison", 8), 7)
    assert find_ready_task(wf, str(self_report.id), Actor(1, "liaison", 7), 7) is self_report


def test_completed_task_in_the_engine_is_stale() -> None:
    wf = _district_workflow()
    self_report = wf.get_tasks(state=TaskState.READY, manual=True)[0]
    self_report.run()
    wf.do_engine_steps()
    with pytest.raises(TaskRefused) as excinfo:
        find_ready_task(wf, str(self_report.id), Actor(1, "liaison", 7), 7)
    assert excinfo.value.code == "stale"


@pytest.mark.db
def test_stale_post_is_refused_with_a_clear_message_and_changes_nothing(app, demo, client_as) -> None:
    ids = district_ids()
    issue_round(client_as("admin"))
    liaison = client_as("liaison_gusu")
    record = task_of("self_report", ids["gusu"])
    form = full_marks(
        {
            "action": "submit",
            "f_ZF0301_numerator": "90",
            "f_ZF0301_denominator": "100",
            "reason_ZF0301": "逾期",
        }
    )
    assert liaison.post(f"/tasks/{record.id}", data=form).status_code == 302
    entries_before = db.session.scalar(select(func.count(Fact.id)))
    # The same form posted again (a second tab, a double click after a slow response).
    again = liaison.post(f"/tasks/{record.id}", data=form, follow_redirects=True)
    page = again.get_data(as_text=True)
    assert "该任务已处理或已被取消" in page
    assert db.session.scalar(select(func.count(Fact.id))) == entries_before
    db.session.expire_all()
    assert db.session.get(TaskRecord, record.id).state == "completed"


@pytest.mark.db
def test_other_districts_task_is_not_found_for_a_liaison(app, demo, client_as) -> None:
    ids = district_ids()
    issue_round(client_as("admin"))
    record = task_of("self_report", ids["gusu"])
    intruder = client_as("liaison_wujiang")
    assert intruder.get(f"/tasks/{record.id}").status_code == 404
    response = intruder.post(f"/tasks/{record.id}", data={"action": "submit"})
    assert response.status_code == 404
    assert db.session.scalar(select(func.count(Fact.id))) == 0


@pytest.mark.db
def test_invalid_points_get_chinese_messages_and_nothing_is_written(app, demo, client_as) -> None:
    ids = district_ids()
    issue_round(client_as("admin"))
    liaison = client_as("liaison_gusu")
    record = task_of("self_report", ids["gusu"])
    response = liaison.post(
        f"/tasks/{record.id}",
        data={
            "action": "submit",
            "f_ZF0301_numerator": "120",
            "f_ZF0301_denominator": "100",
            "f_ZF0102_numerator": "abc",
            "f_ZF0102_denominator": "10",
            **occurrence("ZF0103", 1, "逾期未销号"),
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "分子不能大于分母" in page
    assert "分子须为数字" in page
    assert "有失分时须填写说明" in page
    assert db.session.scalar(select(func.count(Fact.id))) == 0
    db.session.expire_all()
    assert db.session.get(TaskRecord, record.id).state == "ready"


@pytest.mark.db
def test_draft_is_kept_and_prefilled(app, demo, client_as) -> None:
    ids = district_ids()
    issue_round(client_as("admin"))
    liaison = client_as("liaison_gusu")
    record = task_of("self_report", ids["gusu"])
    response = liaison.post(
        f"/tasks/{record.id}", data={"action": "draft", **occurrence("DW03", 1, "未着制服")}
    )
    assert response.status_code == 302
    page = liaison.get(f"/tasks/{record.id}").get_data(as_text=True)
    assert 'value="未着制服"' in page
    assert "当前 4.50" in page
    draft = db.session.scalar(select(Fact))
    assert draft.is_draft
    assert draft.kind == "occurrence"
    assert draft.description == "未着制服"
