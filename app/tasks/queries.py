"""Reading the task projection: inboxes with keyset pages and capped counts."""

from __future__ import annotations

import heapq

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.tasks.models import ROLE_POOLS, TaskRecord

PAGE_SIZE = 20
COUNT_CAP = 99


def inbox_query(user: User, pools: tuple[str, ...] | None = None) -> Select[TaskRecord]:
    """Ready tasks the user may work: their role's pools, their district, unclaimed or theirs."""
    pools = ROLE_POOLS.get(user.role, ()) if pools is None else pools
    query = select(TaskRecord).where(TaskRecord.state == "ready", TaskRecord.pool.in_(pools or ("-",)))
    if user.role == "liaison":
        query = query.where(TaskRecord.district_id == user.district_id)
    return query.where(
        or_(TaskRecord.claimed_by.is_(None), TaskRecord.claimed_by == user.id),
        or_(TaskRecord.excluded_user_id.is_(None), TaskRecord.excluded_user_id != user.id),
    )


def inbox_page(session: Session, user: User, after: int | None = None) -> tuple[list[TaskRecord], int | None]:
    """One page of the inbox, oldest first, and the id to continue after (None at the end)."""
    # One indexed query per pool, merged: with ``pool IN (...)`` the database would sort every
    # matching row to return twenty, and that cost grows with the backlog.
    pages = []
    for pool in ROLE_POOLS.get(user.role, ()):
        query = inbox_query(user, (pool,))
        if after is not None:
            query = query.where(TaskRecord.id > after)
        pages.append(session.scalars(query.order_by(TaskRecord.id).limit(PAGE_SIZE + 1)))
    rows = list(heapq.merge(*pages, key=lambda record: record.id))[: PAGE_SIZE + 1]
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, (rows[-1].id if more else None)


def inbox_count(session: Session, user: User) -> str:
    """The inbox size, counted up to the cap only, so it costs the same for any backlog."""
    limited = inbox_query(user).with_only_columns(TaskRecord.id).limit(COUNT_CAP + 1).subquery()
    count = session.scalar(select(func.count()).select_from(limited)) or 0
    return f"{COUNT_CAP}+" if count > COUNT_CAP else str(count)
