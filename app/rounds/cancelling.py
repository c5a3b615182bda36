"""Cancelling a round before publication (撤销): its processes stop, its tasks leave every inbox,
its deadlines never fire; the reason is audited and the districts are told."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.audit.operations import record as audit
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.notifications.operations import notify
from app.processes import store
from app.rounds.models import DistrictAssessment, Round
from app.rounds.operations import lock_round
from app.tasks.projection import cancel_open_tasks
from workflows import clock

REASON_MAX = 500


def cancel_round(session: Session, actor: User, round_id: int, reason: str) -> Round:
    if actor.role != "admin":
        raise Forbidden("只有考核管理员可以撤销考核")
    round_ = lock_round(session, round_id)
    if round_ is None:
        raise NotFound("轮次不存在")
    if round_.status in ("published", "cancelled"):
        raise Conflict("已发布或已撤销的轮次不能撤销；已发布的结果只能以更正通知更正")
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX:
        message = f"请填写撤销理由（不超过 {REASON_MAX} 字）"
        raise ValidationFailed(f"撤销失败：{message}", {"reason": message})

    assessments = list(
        session.scalars(select(DistrictAssessment).where(DistrictAssessment.round_id == round_id))
    )
    instance_ids = [a.instance_id for a in assessments if a.instance_id] + (
        [round_.round_instance_id] if round_.round_instance_id else []
    )
    for instance_id in instance_ids:
        store().cancel(session, instance_id)  # its deadlines never fire
    cancel_open_tasks(session, round_id)
    round_.status = "cancelled"
    round_.cancelled_at = clock.now()
    round_.cancel_reason = reason
    audit(
        session,
        actor.id,
        "round.cancel",
        ("round", round_.id),
        f"撤销考核 {round_.title}：{reason}",
        after={"reason": reason, "instances": instance_ids},
        round_id=round_.id,
    )
    districts = {a.district_id for a in assessments}
    users = session.scalars(
        select(User.id).where(
            User.active.is_(True),
            (User.role.in_(["admin", "inspector"]))
            | ((User.role == "liaison") & User.district_id.in_(districts)),
        )
    )
    notify(session, users, f"{round_.title} 已撤销", f"撤销理由：{reason}", f"/rounds/{round_.id}")
    session.flush()
    return round_
