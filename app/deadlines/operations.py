"""Every state change of deadlines themselves: extending one district's deadline, and the
administrator's retry of a deadline whose firing failed (an incident)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.accounts.models import User
from app.audit.operations import record as audit
from app.deadlines.incidents import Scope, scopes, what_failed
from app.deadlines.recipients import stage_recipients, task_holders
from app.deadlines.reminders import plan_reminders
from app.deadlines.settings import settings_of
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.notifications.operations import notify
from app.processes import store
from app.processes.runtime import ProcessRun
from app.rounds.models import Round
from app.tasks.models import TaskRecord
from workflows import clock
from workflows.incidents import RESOLVED, request_retry
from workflows.runner import move_timer
from workflows.store import ProcessIncident

REASON_MAX = 500


def extend_deadline(
    session: Session, actor: User, task_record_id: int, new_due: datetime, reason: str
) -> TaskRecord:
    """Move one open task's deadline later, with a reason; the BPMN timer itself moves.

    SpiffWorkflow keeps a timer's computed date inside the timer task, so the timer is moved
    there (workflows.runner.move_timer) and the instance saved, which reschedules its job.
    """
    if actor.role != "admin":
        raise Forbidden("只有考核管理员可以延长截止时间")
    task = session.get(TaskRecord, task_record_id)
    if task is None:
        raise NotFound("任务不存在")
    if task.state != "ready" or task.due_at is None:
        raise Conflict("该任务已办结或没有截止时间，不能延长")
    errors = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = "请填写延期理由"
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"延期理由不超过 {REASON_MAX} 字"
    if new_due.tzinfo is None:
        new_due = new_due.replace(tzinfo=clock.SHANGHAI)
    if new_due <= clock.now():
        errors["new_due"] = "新的截止时间须在将来"
    elif new_due <= task.due_at:
        errors["new_due"] = "新的截止时间须晚于原截止时间"
    if errors:
        raise ValidationFailed("延长截止时间失败，请检查标红的项目", errors)

    instance = store().lock(session, task.instance_id)  # held: the load finds it in the session
    run = ProcessRun(session, actor.id)
    instance, wf, definition = run.load(task.instance_id)
    try:
        old_due = move_timer(wf, task.task_id, new_due)
    except LookupError as exc:
        raise Conflict("该任务已不在办理中，请刷新页面") from exc
    run.step_done(instance, wf, definition)
    session.refresh(task)
    round_ = session.get(Round, task.round_id)
    assert round_ is not None
    plan_reminders(session, task, settings_of(round_.deadline_settings)["reminder_hours"])

    old_text = clock.deadline_text(old_due) or "—"
    new_text = clock.deadline_text(new_due)
    where = task.district.name if task.district else round_.title
    audit(
        session,
        actor.id,
        "deadline.extend",
        ("task", task.id),
        f"延长{task.name}（{where}）截止时间：{old_text} → {new_text}",
        before={"due_at": old_due.isoformat() if old_due else None},
        after={"due_at": new_due.isoformat(), "reason": reason},
        scope=task,
    )
    users = task_holders(session, task) | stage_recipients(session, ["liaison"], task.district_id)
    notify(
        session,
        users,
        f"截止时间已延长：{task.name}（{where}）",
        f"截止时间由 {old_text} 延长至 {new_text}。理由：{reason}",
        f"/tasks/{task.id}",
    )
    return task


def retry_incident(session: Session, actor: User, incident_id: int) -> ProcessIncident:
    """Fire a failed deadline once more, now (after its cause was put right); audited.

    The scheduler's lease holder hears of it through the change feed. If it fails again the
    incident goes back to waiting; if it succeeds the firing resolves it. An instance that is no
    longer running has nothing to fire: its incident is closed here.
    """
    if actor.role != "admin":
        raise Forbidden("只有考核管理员可以重试定时任务")
    incident = session.get(ProcessIncident, incident_id)
    if incident is None:
        raise NotFound("异常记录不存在")
    if incident.status == RESOLVED:
        raise Conflict("该异常已解除，无需重试")
    before = {
        "status": incident.status,
        "attempts": incident.attempts,
        "next_retry_at": incident.next_retry_at,
    }
    request_retry(session, incident, actor.id)
    scope = scopes(session, [incident.instance_id]).get(incident.instance_id, Scope())
    done = "（流程已结束，异常关闭）" if incident.status == RESOLVED else ""
    audit(
        session,
        actor.id,
        "incident.retry",
        ("incident", incident.id),
        f"重试定时任务：{what_failed(incident, scope)}{done}",
        before=before,
        after={"status": incident.status, "next_retry_at": incident.next_retry_at},
        round_id=scope.round_id,
        district_id=scope.district_id,
    )
    return incident
