"""Who a deadline message goes to: the people who hold a task, a district's liaisons, a role."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.tasks.models import ROLE_POOLS, TaskRecord


def task_holders(session: Session, task: TaskRecord) -> set[int]:
    """The claimant of a claimed task; otherwise everyone whose inbox shows it."""
    if task.claimed_by is not None:
        return {task.claimed_by}
    roles = [role for role, pools in ROLE_POOLS.items() if task.pool in pools]
    query = select(User.id).where(User.active.is_(True), User.role.in_(roles))
    if task.pool == "liaison":
        query = query.where(User.district_id == task.district_id)
    return {uid for uid in session.scalars(query) if uid != task.excluded_user_id}


def stage_recipients(
    session: Session, who: Iterable[str], district_id: int | None, task: TaskRecord | None = None
) -> set[int]:
    """The users named by a stage's notification setting (liaison, holder, admin, leader)."""
    wanted = set(who)
    ids: set[int] = set()
    roles = [r for r in ("admin", "leader") if r in wanted]
    if roles:
        ids |= set(session.scalars(select(User.id).where(User.active.is_(True), User.role.in_(roles))))
    if "liaison" in wanted and district_id is not None:
        ids |= set(
            session.scalars(
                select(User.id).where(
                    User.active.is_(True), User.role == "liaison", User.district_id == district_id
                )
            )
        )
    if "holder" in wanted and task is not None:
        ids |= task_holders(session, task)
    return ids
