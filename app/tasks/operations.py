"""Every state change of tasks: claim, release, reassign, save a draft, complete.

``complete_task`` is the path of a click: check the projection, validate the
form, load the instance, check the engine task, write the domain records, run
the task and the engine steps, save the instance (optimistic version check),
update the projection and audit — all in the caller's one transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.audit.operations import record as audit
from app.errors import Conflict, Forbidden, NotFound, OperationError, ProcessStepFailed
from app.processes import store
from app.processes.runtime import ProcessRun
from app.rounds.models import DistrictAssessment, Round
from app.tasks.context import Files, Payload, TaskContext, UploadSettings
from app.tasks.models import ROLE_POOLS, TaskRecord
from app.tasks.registry import form_for
from workflows import clock
from workflows.incidents import for_people, task_failure
from workflows.runner import Actor, TaskRefused, find_ready_task, run_user_task
from workflows.store import ProcessInstance, rowcount

log = logging.getLogger("szcg.tasks")


def can_see(user: User, record: TaskRecord) -> bool:
    """Whether *user* may open the task at all (role pool, district, 回避)."""
    if user.role == "admin":
        return True
    if record.pool not in ROLE_POOLS.get(user.role, ()):
        return False
    if record.pool == "liaison" and record.district_id != user.district_id:
        return False
    return record.excluded_user_id != user.id


def can_work(user: User, record: TaskRecord) -> bool:
    """Whether *user* may act on the task now (see, not only look)."""
    return (
        record.state == "ready"
        and record.pool in ROLE_POOLS.get(user.role, ())
        and record.claimed_by in (None, user.id)
        and record.excluded_user_id != user.id
        and can_see(user, record)
    )


def reassign_candidates(session: Session, record: TaskRecord) -> list[User]:
    users = session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    return [u for u in users if record.pool in ROLE_POOLS.get(u.role, ()) and can_see(u, record)]


def get_visible(session: Session, user: User, record_id: int) -> TaskRecord:
    record = session.get(TaskRecord, record_id)
    # Tasks a user may not see are reported as missing, so ids reveal nothing.
    if record is None or not can_see(user, record):
        raise NotFound("任务不存在")
    return record


def _check_workable(user: User, record: TaskRecord) -> None:
    if record.state != "ready":
        raise Conflict("该任务已处理或已被取消，请刷新页面")
    if record.pool not in ROLE_POOLS.get(user.role, ()):
        raise Forbidden("您的角色不能办理此任务，只能查看")
    if record.excluded_user_id == user.id:
        raise Forbidden("您是被申诉事项的核查人，按回避规定不能复核")
    if record.claimed_by is not None and record.claimed_by != user.id:
        raise Conflict("该任务已被他人认领")


def build_context(session: Session, user: User, record: TaskRecord, uploads: UploadSettings) -> TaskContext:
    # The assessment first: its round (and the round's scheme) come joined with it, so the round
    # is then found in the session without another query.
    assessment = session.get(DistrictAssessment, record.assessment_id) if record.assessment_id else None
    round_ = session.get(Round, record.round_id)
    assert round_ is not None
    return TaskContext(session, user, record, round_, assessment, uploads)


def claim_task(session: Session, user: User, record_id: int) -> TaskRecord:
    record = get_visible(session, user, record_id)
    _check_workable(user, record)
    if record.claimed_by == user.id:
        return record
    # Conditional update: of two simultaneous claims exactly one changes the row.
    changed = rowcount(
        session.execute(
            update(TaskRecord)
            .where(TaskRecord.id == record.id, TaskRecord.claimed_by.is_(None), TaskRecord.state == "ready")
            .values(claimed_by=user.id, claimed_at=clock.now())
        )
    )
    if changed != 1:
        raise Conflict("该任务已被他人认领")
    session.refresh(record)
    audit(
        session,
        user.id,
        "task.claim",
        ("task", record.id),
        f"认领任务 {record.name}",
        scope=record,
    )
    return record


def release_task(session: Session, user: User, record_id: int) -> TaskRecord:
    record = get_visible(session, user, record_id)
    if record.state != "ready":
        raise Conflict("该任务已处理或已被取消")
    if record.claimed_by != user.id:
        raise Conflict("您没有认领该任务")
    record.claimed_by = None
    record.claimed_at = None
    audit(
        session,
        user.id,
        "task.release",
        ("task", record.id),
        f"释放任务 {record.name}",
        scope=record,
    )
    return record


def reassign_task(session: Session, admin: User, record_id: int, to_user_id: int) -> TaskRecord:
    record = session.get(TaskRecord, record_id)
    if record is None:
        raise NotFound("任务不存在")
    if record.state != "ready":
        raise Conflict("该任务已处理或已被取消")
    target = session.get(User, to_user_id)
    if target is None or not target.active:
        raise NotFound("目标用户不存在或已停用")
    if not can_see(target, record) or record.pool not in ROLE_POOLS.get(target.role, ()):
        raise Forbidden(f"{target.display_name} 的角色或所属区不能办理此任务")
    before = record.claimed_by
    record.claimed_by = target.id
    record.claimed_at = clock.now()
    audit(
        session,
        admin.id,
        "task.reassign",
        ("task", record.id),
        f"将任务 {record.name} 转派给 {target.display_name}",
        before={"claimed_by": before},
        after={"claimed_by": target.id},
        scope=record,
    )
    return record


def release_all_claims(session: Session, actor: User, user_id: int, district_id: int | None = None) -> int:
    query = select(TaskRecord).where(TaskRecord.claimed_by == user_id, TaskRecord.state == "ready")
    if district_id is not None:
        query = query.where(TaskRecord.district_id == district_id)
    records = list(session.scalars(query))
    for record in records:
        record.claimed_by = None
        record.claimed_at = None
        audit(
            session,
            actor.id,
            "task.release",
            ("task", record.id),
            f"用户调整，释放任务 {record.name}",
            scope=record,
        )
    return len(records)


def _visible_and_locked(
    session: Session, user: User, record_id: int
) -> tuple[TaskRecord, ProcessInstance | None]:
    """The task, read after locking its process instance, so concurrent submissions serialise;
    and the instance the lock read (held, it is loaded from the session without another query)."""
    # The lock finds the instance through the task, so the task is read once, after the lock:
    # as a concurrent submission that held the lock left it.
    instance_of_task = select(TaskRecord.instance_id).where(TaskRecord.id == record_id).scalar_subquery()
    instance = store().lock(session, instance_of_task)
    record = session.scalars(
        select(TaskRecord).where(TaskRecord.id == record_id).execution_options(populate_existing=True)
    ).one_or_none()
    # Tasks a user may not see are reported as missing, as get_visible does.
    if record is None or not can_see(user, record):
        raise NotFound("任务不存在")
    _check_workable(user, record)
    return record, instance


def save_draft(
    session: Session, user: User, record_id: int, payload: Payload, files: Files, uploads: UploadSettings
) -> TaskRecord:
    record, _ = _visible_and_locked(session, user, record_id)
    form = form_for(record.form_key)
    if not form.supports_draft:
        raise Conflict("此任务不支持暂存")
    ctx = build_context(session, user, record, uploads)
    clean = form.parse(ctx, payload, files, draft=True)
    form.apply(ctx, clean, draft=True)
    audit(
        session,
        user.id,
        "task.save_draft",
        ("task", record.id),
        f"暂存 {record.name}",
        scope=record,
    )
    return record


def complete_task(
    session: Session, user: User, record_id: int, payload: Payload, files: Files, uploads: UploadSettings
) -> TaskRecord:
    record, instance = _visible_and_locked(session, user, record_id)
    form = form_for(record.form_key)
    ctx = build_context(session, user, record, uploads)
    clean = form.parse(ctx, payload, files, draft=False)

    run = ProcessRun(session, user.id)
    instance, wf, definition = run.load(record.instance_id)  # the locked row, from the session
    try:
        task = find_ready_task(
            wf, record.task_id, Actor(user.id, user.role, user.district_id), record.district_id
        )
    except TaskRefused as refused:
        raise (Forbidden if refused.code == "forbidden" else Conflict)(refused.reason) from refused
    workflow_data = form.apply(ctx, clean, draft=False)
    try:
        run_user_task(wf, task, workflow_data)
    except OperationError:
        raise  # the application's own refusal, already in words for the person
    except Exception as exc:
        # A script, condition or service task after this task failed: refuse the click whole
        # and say which step, instead of a bare server error.
        failure = task_failure(wf, exc)
        if failure is None:
            raise
        # The technical cause goes to the log for the administrators; the person reads the step
        # and, if the application refused in words, its reason.
        log.exception("task %s: %s %s failed", record_id, failure.kind, failure.element)
        reason = for_people(failure.cause) or "系统内部错误，已记录供考核管理员排查"
        raise ProcessStepFailed(
            f"{failure.kind}“{failure.name}”执行失败：{reason}。"
            "本次办理未保存，请联系考核管理员处理后再提交。"
        ) from exc
    if record.claimed_by is None:
        record.claimed_by = user.id
        record.claimed_at = clock.now()
    run.step_done(instance, wf, definition, completed_by=user.id)
    audit(
        session,
        user.id,
        "task.complete",
        ("task", record.id),
        f"办结 {record.name}",
        after=_summary(workflow_data),
        scope=record,
    )
    return record


def _summary(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if isinstance(v, bool | int | str | float)}
