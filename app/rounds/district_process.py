"""The district assessment process's handler (bpmn/district_assessment.bpmn): its service
operations (deadlines, the release of verified results) and the assessment kept in step with the
process after each run; the district that completes the round tells the round's process."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.deadlines.recipients import stage_recipients
from app.deadlines.settings import settings_of
from app.notices.requesting import enqueue_notice
from app.notifications.operations import notify
from app.processes import DISTRICT_PROCESS
from app.processes.registry import ServiceOperation
from app.processes.runtime import ProcessRun, ready_elements
from app.rounds.models import DistrictAssessment, Round
from app.rounds.operations import district_page, mark_self_overdue
from app.scoring.operations import close_overdue_self_report
from app.tasks.models import TaskRecord
from app.tasks.projection import TaskScope, escalate_open_tasks, sync_tasks
from workflows import clock
from workflows.deadlines import due_date
from workflows.definitions import ProcessDefinition
from workflows.runner import send_message
from workflows.store import ProcessInstance

STAGE_BY_ELEMENT = {
    "self_report": "self_report",
    "verification": "verification",
    "result_confirmation": "confirmation",
    "appeal_review": "review",
}
DISTRICTS_COMPLETED = "districts_completed"  # the message the round's process waits for
READS = {"assessment_id": "区考核记录"}


def _assessment(run: ProcessRun, data: dict[str, Any]) -> DistrictAssessment:
    assessment = run.session.get(DistrictAssessment, data["assessment_id"])
    assert assessment is not None
    return assessment


def _link(assessment: DistrictAssessment) -> str:
    return district_page(assessment.round_id, assessment.district_id)


def _notify(
    run: ProcessRun, assessment: DistrictAssessment, stage: str, element: str, title: str, body: str
) -> None:
    """To the people the round's settings name for *stage* (liaisons only of this district)."""
    who = settings_of(assessment.round.deadline_settings)["notify"].get(stage, [])
    task = run.session.scalars(
        select(TaskRecord)
        .where(TaskRecord.assessment_id == assessment.id, TaskRecord.element == element)
        .order_by(TaskRecord.id.desc())
        .limit(1)
    ).first()
    notify(
        run.session,
        stage_recipients(run.session, who, assessment.district_id, task),
        title,
        body,
        _link(assessment),
    )


def self_report_overdue(run: ProcessRun, data: dict[str, Any]) -> dict[str, Any]:
    assessment = _assessment(run, data)
    rule = settings_of(assessment.round.deadline_settings)["self_report_empty"]
    empty = close_overdue_self_report(run.session, assessment, rule)
    mark_self_overdue(assessment)
    how = "按 0 分计" if rule == "zero" else "以核查数据为准"
    _notify(
        run,
        assessment,
        "self_report",
        "self_report",
        f"{assessment.district.name} 自评逾期未报",
        f"自评填报已截止，已暂存的内容视为提交，该区标记为逾期未报；未填报的 {empty} 项指标{how}。",
    )
    return {"overdue": True, "empty_indicators": empty}


def verification_overdue(run: ProcessRun, data: dict[str, Any]) -> dict[str, Any]:
    assessment = _assessment(run, data)
    escalate = settings_of(assessment.round.deadline_settings)["escalate_verification"]
    if escalate:
        assessment.verification_escalated = True
        escalate_open_tasks(run.session, assessment.id, "verification")
    audit(
        run.session,
        None,
        "assessment.verification_overdue",
        ("assessment", assessment.id),
        f"{assessment.district.name} 核查超期" + ("，已督办" if escalate else ""),
        scope=assessment,
    )
    _notify(
        run,
        assessment,
        "verification",
        "verification",
        f"{assessment.district.name} 核查超期",
        "核查任务已超过截止时间" + ("，已标记督办，可转派。" if escalate else "。"),
    )
    return {"escalated": escalate}


def release_verified_results(run: ProcessRun, data: dict[str, Any]) -> dict[str, Any]:
    assessment = _assessment(run, data)
    assessment.released_at = clock.now()
    audit(
        run.session,
        run.actor_id,
        "assessment.release",
        ("assessment", assessment.id),
        f"发布 {assessment.district.name} 核查结果",
        scope=assessment,
    )
    notify(
        run.session,
        stage_recipients(run.session, ["liaison"], assessment.district_id),
        f"{assessment.round.title} 核查结果已发布",
        "请在申诉期内确认结果或对核查调整提出申诉。核查结果告知书随后生成，可在本区考核页面查看和下载。",
        _link(assessment),
    )
    # 告知书 with the appeal rights, generated in the background; the window starts now and is
    # computed as the timer will compute it.
    appeal_due = due_date(data["deadline_rules"], "appeal", calendar=run.calendar)
    enqueue_notice(
        run.session,
        run.actor_id,
        "letter",
        assessment.round,
        assessment,
        "verified",
        appeal_deadline=clock.deadline_text(datetime.fromisoformat(appeal_due)),
    )
    return {"released_at": assessment.released_at.isoformat()}


def appeal_window_closed(run: ProcessRun, data: dict[str, Any]) -> dict[str, Any]:
    assessment = _assessment(run, data)
    audit(
        run.session,
        None,
        "assessment.appeal_window_closed",
        ("assessment", assessment.id),
        f"{assessment.district.name} 申诉期满，视为确认核查结果",
        scope=assessment,
    )
    _notify(
        run,
        assessment,
        "appeal",
        "result_confirmation",
        f"{assessment.district.name} 申诉期已满",
        "申诉期已结束，不再受理申诉，核查结果视为确认。",
    )
    return {"closed": True}


def review_overdue(run: ProcessRun, data: dict[str, Any]) -> dict[str, Any]:
    assessment = _assessment(run, data)
    audit(
        run.session,
        None,
        "assessment.review_overdue",
        ("assessment", assessment.id),
        f"{assessment.district.name} 申诉复核超期",
        scope=assessment,
    )
    _notify(
        run,
        assessment,
        "review",
        "appeal_review",
        f"{assessment.district.name} 申诉复核超期",
        "申诉复核已超过截止时间。",
    )
    return {"notified": True}


class DistrictProcess:
    key = DISTRICT_PROCESS
    label = "区级考核流程"
    operations = (
        ServiceOperation(
            "self_report_overdue",
            "自评逾期：已暂存的内容视为提交，按本轮设置处理未填报指标，标记逾期未报并通知",
            READS,
            self_report_overdue,
        ),
        ServiceOperation(
            "verification_overdue", "核查超期：按本轮设置督办并通知", READS, verification_overdue
        ),
        ServiceOperation(
            "release_verified_results",
            "发布核查结果：通知联络员并印发附申诉权利的核查结果告知书",
            {**READS, "deadline_rules": "各阶段截止规则（计算申诉期）"},
            release_verified_results,
        ),
        ServiceOperation(
            "appeal_window_closed", "申诉期满：视为确认核查结果并通知", READS, appeal_window_closed
        ),
        ServiceOperation("review_overdue", "申诉复核超期：通知", READS, review_overdue),
    )

    def after_step(
        self,
        run: ProcessRun,
        instance: ProcessInstance,
        wf: BpmnWorkflow,
        definition: ProcessDefinition,
        completed_by: int | None,
    ) -> list[TaskRecord]:
        assessment = _assessment(run, wf.task_tree.data)
        scope = TaskScope(
            assessment.round_id,
            assessment.district_id,
            assessment.id,
            excluded_user_id=assessment.verified_by,
        )
        opened = sync_tasks(run.session, instance, wf, definition, scope, completed_by)
        if instance.status == "completed":
            if assessment.stage != "done":
                assessment.stage, assessment.completed_at = "done", clock.now()
                _district_completed(run, assessment)
            return opened
        ready = ready_elements(wf)
        for element, stage in STAGE_BY_ELEMENT.items():
            if element in ready:
                assessment.stage = stage
        return opened


def _district_completed(run: ProcessRun, assessment: DistrictAssessment) -> None:
    """Count the district done; the one that completes the round sends the round its message."""
    session: Session = run.session
    # An atomic increment: concurrent completions serialise on the round row and each sees the new count.
    done, total = session.execute(
        update(Round)
        .where(Round.id == assessment.round_id)
        .values(districts_done=Round.districts_done + 1)
        .returning(Round.districts_done, Round.districts_total)
    ).one()
    if done < total:
        return
    round_ = session.get(Round, assessment.round_id)
    assert round_ is not None
    session.refresh(round_)
    if round_.round_instance_id is None:
        return
    instance, wf, definition = run.load(round_.round_instance_id)
    send_message(wf, DISTRICTS_COMPLETED)
    run.step_done(instance, wf, definition)
    audit(
        session,
        run.actor_id,
        "round.districts_completed",
        ("round", round_.id),
        "各区考核流程均已完成，进入汇总定分",
        round_id=round_.id,
    )


HANDLER = DistrictProcess()
