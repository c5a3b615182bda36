"""The rectification process's handler (bpmn/rectification.bpmn): its service operations, and the
rectification's status kept in step with the process after each run."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from app.audit.operations import record as audit
from app.deadlines.recipients import stage_recipients
from app.notifications.operations import notify
from app.processes import RECTIFICATION_PROCESS
from app.processes.registry import ServiceOperation
from app.processes.runtime import ProcessRun, ready_elements
from app.rectification.models import Rectification
from app.rectification.operations import follow_process, mark_accepted, mark_overdue
from app.rounds.operations import district_page
from app.tasks.models import TaskRecord
from app.tasks.projection import TaskScope, sync_tasks
from workflows.definitions import ProcessDefinition
from workflows.store import ProcessInstance

READS = {"rectification_id": "整改记录"}


def _item(run: ProcessRun, data: dict[str, Any]) -> Rectification:
    item = run.session.get(Rectification, data["rectification_id"])
    assert item is not None
    return item


def _link(item: Rectification) -> str:
    return district_page(item.round_id, item.district_id)


def rectification_overdue(run: ProcessRun, data: dict[str, Any]) -> dict[str, Any]:
    item = _item(run, data)
    mark_overdue(item)
    audit(
        run.session,
        None,
        "rectification.overdue",
        ("rectification", item.id),
        f"{item.district.name} 整改逾期",
        round_id=item.round_id,
        district_id=item.district_id,
    )
    users = stage_recipients(run.session, ["liaison", "admin"], item.district_id)
    notify(
        run.session,
        users,
        f"{item.district.name} 整改逾期",
        "整改报告未在期限内报送，请尽快报送。",
        _link(item),
    )
    return {"overdue": True}


def close_rectification(run: ProcessRun, data: dict[str, Any]) -> dict[str, Any]:
    item = _item(run, data)
    mark_accepted(item)
    users = stage_recipients(run.session, ["liaison"], item.district_id)
    notify(run.session, users, f"{item.district.name} 整改已验收销号", item.review_comment, _link(item))
    return {"closed": True}


class RectificationProcess:
    key = RECTIFICATION_PROCESS
    label = "整改流程"
    operations = (
        ServiceOperation(
            "rectification_overdue", "整改逾期：标记逾期并通知联络员和管理员", READS, rectification_overdue
        ),
        ServiceOperation(
            "close_rectification", "整改销号：标记已验收并通知联络员", READS, close_rectification
        ),
    )

    def after_step(
        self,
        run: ProcessRun,
        instance: ProcessInstance,
        wf: BpmnWorkflow,
        definition: ProcessDefinition,
        completed_by: int | None,
    ) -> list[TaskRecord]:
        item = _item(run, wf.task_tree.data)
        scope = TaskScope(item.round_id, item.district_id, item.assessment_id)
        opened = sync_tasks(run.session, instance, wf, definition, scope, completed_by)
        follow_process(item, ready_elements(wf))
        return opened


HANDLER = RectificationProcess()
