"""What the processes call back into: BPMN service tasks, and the step after each run.

Service tasks name an operation (``spiffworkflow:serviceTaskOperator``); the
handler runs it inside the transaction of the click or timer that reached it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.calendar.operations import calendar_for
from app.deadlines.recipients import stage_recipients
from app.deadlines.reminders import plan_reminders
from app.deadlines.settings import settings_of
from app.notices.jobs import enqueue_results
from app.notices.operations import issue_notice
from app.notifications.operations import notify
from app.processes import DISTRICT_PROCESS, RECTIFICATION_PROCESS, store
from app.rectification.models import Rectification
from app.rectification.operations import order_rectifications
from app.rounds.models import DistrictAssessment, Round
from app.rounds.operations import publish_round
from app.scoring.operations import close_overdue_self_report
from app.tasks.models import TaskRecord
from app.tasks.projection import TaskScope, sync_tasks
from workflows import clock
from workflows.deadlines import due_date
from workflows.engine import ProcessDefinition
from workflows.runner import send_message
from workflows.store import ProcessInstance

DISTRICT_STAGE_BY_ELEMENT = {
    "self_report": "self_report",
    "verification": "verification",
    "result_confirmation": "confirmation",
    "appeal_review": "review",
}
ROUND_STATUS_BY_ELEMENT = {"finalise": "finalising", "approval": "approving"}
DISTRICTS_COMPLETED = "districts_completed"


class ProcessServices:
    """Service-task handler bound to one transaction and the user (or timer) acting."""

    def __init__(self, session: Session, actor_id: int | None) -> None:
        self.session = session
        self.actor_id = actor_id
        # Deadlines computed in this transaction count working days with the current corrections.
        self.calendar = calendar_for(session)
        self.operations: dict[str, Callable[[dict[str, Any]], Any]] = {
            "self_report_overdue": self._self_report_overdue,
            "verification_overdue": self._verification_overdue,
            "release_verified_results": self._release_verified_results,
            "appeal_window_closed": self._appeal_window_closed,
            "review_overdue": self._review_overdue,
            "publish_round_results": self._publish_round_results,
            "rectification_overdue": self._rectification_overdue,
            "close_rectification": self._close_rectification,
        }

    def __call__(self, operation_name: str, task: Any, params: dict[str, Any]) -> Any:
        operation = self.operations.get(operation_name)
        if operation is None:
            raise LookupError(f"未知的服务任务 {operation_name}")
        return operation(task.data)

    def _assessment(self, data: dict[str, Any]) -> DistrictAssessment:
        assessment = self.session.get(DistrictAssessment, data["assessment_id"])
        assert assessment is not None
        return assessment

    def _notify(
        self, assessment: DistrictAssessment, stage: str, element: str, title: str, body: str
    ) -> None:
        """To the people the round's settings name for *stage* (liaisons only of this district)."""
        who = settings_of(assessment.round.deadline_settings)["notify"].get(stage, [])
        task = self.session.scalars(
            select(TaskRecord)
            .where(TaskRecord.assessment_id == assessment.id, TaskRecord.element == element)
            .order_by(TaskRecord.id.desc())
            .limit(1)
        ).first()
        users = stage_recipients(self.session, who, assessment.district_id, task)
        link = f"/rounds/{assessment.round_id}/districts/{assessment.district_id}"
        notify(self.session, users, title, body, link)

    def _self_report_overdue(self, data: dict[str, Any]) -> dict[str, Any]:
        assessment = self._assessment(data)
        rule = settings_of(assessment.round.deadline_settings)["self_report_empty"]
        empty = close_overdue_self_report(self.session, assessment, rule)
        how = "按 0 分计" if rule == "zero" else "以核查数据为准"
        self._notify(
            assessment,
            "self_report",
            "self_report",
            f"{assessment.district.name} 自评逾期未报",
            f"自评填报已截止，已暂存的内容视为提交，该区标记为逾期未报；未填报的 {empty} 项指标{how}。",
        )
        return {"overdue": True, "empty_indicators": empty}

    def _verification_overdue(self, data: dict[str, Any]) -> dict[str, Any]:
        assessment = self._assessment(data)
        escalate = settings_of(assessment.round.deadline_settings)["escalate_verification"]
        if escalate:
            assessment.verification_escalated = True
            self.session.execute(
                update(TaskRecord)
                .where(
                    TaskRecord.assessment_id == assessment.id,
                    TaskRecord.element == "verification",
                    TaskRecord.state == "ready",
                )
                .values(escalated=True)
            )
        audit(
            self.session,
            None,
            "assessment.verification_overdue",
            ("assessment", assessment.id),
            f"{assessment.district.name} 核查超期" + ("，已督办" if escalate else ""),
            scope=assessment,
        )
        self._notify(
            assessment,
            "verification",
            "verification",
            f"{assessment.district.name} 核查超期",
            "核查任务已超过截止时间" + ("，已标记督办，可转派。" if escalate else "。"),
        )
        return {"escalated": escalate}

    def _release_verified_results(self, data: dict[str, Any]) -> dict[str, Any]:
        assessment = self._assessment(data)
        assessment.released_at = clock.now()
        audit(
            self.session,
            self.actor_id,
            "assessment.release",
            ("assessment", assessment.id),
            f"发布 {assessment.district.name} 核查结果",
            scope=assessment,
        )
        link = f"/rounds/{assessment.round_id}/districts/{assessment.district_id}"
        notify(
            self.session,
            stage_recipients(self.session, ["liaison"], assessment.district_id),
            f"{assessment.round.title} 核查结果已发布",
            "请在申诉期内确认结果或对核查调整提出申诉。",
            link,
        )
        # 告知书 with the appeal rights: the window is computed as the timer will compute it.
        appeal_due = due_date(data["deadline_rules"], "appeal", calendar=self.calendar)
        issue_notice(
            self.session,
            self.actor_id,
            "letter",
            assessment.round,
            assessment,
            "verified",
            appeal_deadline=clock.deadline_text(datetime.fromisoformat(appeal_due)),
        )
        return {"released_at": assessment.released_at.isoformat()}

    def _appeal_window_closed(self, data: dict[str, Any]) -> dict[str, Any]:
        assessment = self._assessment(data)
        audit(
            self.session,
            None,
            "assessment.appeal_window_closed",
            ("assessment", assessment.id),
            f"{assessment.district.name} 申诉期满，视为确认核查结果",
            scope=assessment,
        )
        self._notify(
            assessment,
            "appeal",
            "result_confirmation",
            f"{assessment.district.name} 申诉期已满",
            "申诉期已结束，不再受理申诉，核查结果视为确认。",
        )
        return {"closed": True}

    def _review_overdue(self, data: dict[str, Any]) -> dict[str, Any]:
        assessment = self._assessment(data)
        audit(
            self.session,
            None,
            "assessment.review_overdue",
            ("assessment", assessment.id),
            f"{assessment.district.name} 申诉复核超期",
            scope=assessment,
        )
        self._notify(
            assessment,
            "review",
            "appeal_review",
            f"{assessment.district.name} 申诉复核超期",
            "申诉复核已超过截止时间。",
        )
        return {"notified": True}

    def _rectification(self, data: dict[str, Any]) -> Rectification:
        item = self.session.get(Rectification, data["rectification_id"])
        assert item is not None
        return item

    def _rectification_overdue(self, data: dict[str, Any]) -> dict[str, Any]:
        item = self._rectification(data)
        item.overdue = True
        audit(
            self.session,
            None,
            "rectification.overdue",
            ("rectification", item.id),
            f"{item.district.name} 整改逾期",
            round_id=item.round_id,
            district_id=item.district_id,
        )
        users = stage_recipients(self.session, ["liaison", "admin"], item.district_id)
        notify(
            self.session,
            users,
            f"{item.district.name} 整改逾期",
            "整改报告未在期限内报送，请尽快报送。",
            f"/rounds/{item.round_id}/districts/{item.district_id}",
        )
        return {"overdue": True}

    def _close_rectification(self, data: dict[str, Any]) -> dict[str, Any]:
        item = self._rectification(data)
        item.status, item.accepted_at = "accepted", clock.now()
        users = stage_recipients(self.session, ["liaison"], item.district_id)
        notify(
            self.session,
            users,
            f"{item.district.name} 整改已验收销号",
            item.review_comment,
            f"/rounds/{item.round_id}/districts/{item.district_id}",
        )
        return {"closed": True}

    def _publish_round_results(self, data: dict[str, Any]) -> dict[str, Any]:
        round_ = self.session.get(Round, data["round_id"])
        assert round_ is not None
        publish_round(self.session, self.actor_id, round_)
        # The circular and every district's letter are generated in the background (a large
        # round takes minutes); the round page shows their progress.
        enqueue_results(self.session, self.actor_id, round_)
        order_rectifications(self.session, self.actor_id, round_, self)
        return {"published": True}


def after_instance_step(
    session: Session,
    services: ProcessServices,
    instance: ProcessInstance,
    wf: BpmnWorkflow,
    definition: ProcessDefinition,
    completed_by: int | None = None,
) -> None:
    """Save the instance, refresh its task projection, and move the round on when due."""
    store().save(session, instance, wf)
    round_id = wf.task_tree.data["round_id"]
    if definition.key == DISTRICT_PROCESS:
        assessment = session.get(DistrictAssessment, wf.task_tree.data["assessment_id"])
        assert assessment is not None
        scope = TaskScope(
            round_id, assessment.district_id, assessment.id, excluded_user_id=assessment.verified_by
        )
        opened = sync_tasks(session, instance, wf, definition, scope, completed_by)
        _update_district_stage(session, services, assessment, instance, wf)
    elif definition.key == RECTIFICATION_PROCESS:
        item = session.get(Rectification, wf.task_tree.data["rectification_id"])
        assert item is not None
        scope = TaskScope(round_id, item.district_id, item.assessment_id)
        opened = sync_tasks(session, instance, wf, definition, scope, completed_by)
        ready = _ready_elements(wf)
        if item.status != "accepted":
            if "review_rectification" in ready:
                item.status = "submitted"
            elif "submit_rectification" in ready and item.submitted_at is not None:
                item.status = "returned"
    else:
        round_ = session.get(Round, round_id)
        assert round_ is not None
        opened = sync_tasks(session, instance, wf, definition, TaskScope(round_id), completed_by)
        ready = _ready_elements(wf)
        for element, status in ROUND_STATUS_BY_ELEMENT.items():
            if element in ready and round_.status not in ("published", "cancelled"):
                round_.status = status
    _plan_reminders(session, round_id, opened)


def _plan_reminders(session: Session, round_id: int, opened: list[TaskRecord]) -> None:
    """Reminders for every task that opened with a deadline, whichever process it belongs to."""
    due = [task for task in opened if task.due_at is not None]
    if not due:
        return
    round_ = session.get(Round, round_id)
    assert round_ is not None
    hours = settings_of(round_.deadline_settings)["reminder_hours"]
    for task in due:
        plan_reminders(session, task, hours)


def _ready_elements(wf: BpmnWorkflow) -> set[str]:
    return {t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.READY, manual=True)}


def _update_district_stage(
    session: Session,
    services: ProcessServices,
    assessment: DistrictAssessment,
    instance: ProcessInstance,
    wf: BpmnWorkflow,
) -> None:
    if instance.status == "completed":
        if assessment.stage == "done":
            return
        assessment.stage = "done"
        assessment.completed_at = clock.now()
        _district_completed(session, services, assessment)
        return
    ready = _ready_elements(wf)
    for element, stage in DISTRICT_STAGE_BY_ELEMENT.items():
        if element in ready:
            assessment.stage = stage


def _district_completed(session: Session, services: ProcessServices, assessment: DistrictAssessment) -> None:
    """Count the district done; the one that completes the round sends the round its message."""
    # An atomic increment: concurrent completions serialise on the round row and each sees the new count.
    done = session.execute(
        update(Round)
        .where(Round.id == assessment.round_id)
        .values(districts_done=Round.districts_done + 1)
        .returning(Round.districts_done, Round.districts_total)
    ).one()
    if done[0] < done[1]:
        return
    round_ = session.get(Round, assessment.round_id)
    assert round_ is not None
    session.refresh(round_)
    if round_.round_instance_id is None:
        return
    instance, wf, definition = store().load(session, round_.round_instance_id, services)
    send_message(wf, DISTRICTS_COMPLETED)
    after_instance_step(session, services, instance, wf, definition)
    audit(
        session,
        services.actor_id,
        "round.districts_completed",
        ("round", round_.id),
        "各区考核流程均已完成，进入汇总定分",
        round_id=round_.id,
    )
