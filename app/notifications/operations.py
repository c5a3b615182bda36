"""Every state change of notifications: sending them to users or roles, marking them read.

The in-app centre is the one channel so far; e-mail and other gateways come with the deadlines work.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.notifications.models import Notification
from workflows import clock

COUNT_CAP = 99


def notify(session: Session, user_ids: Iterable[int], title: str, body: str = "", link: str = "") -> int:
    ids = sorted(set(user_ids))
    session.add_all(Notification(user_id=uid, title=title[:200], body=body, link=link[:300]) for uid in ids)
    return len(ids)


def notify_roles(
    session: Session,
    roles: Iterable[str],
    title: str,
    body: str = "",
    link: str = "",
    district_id: int | None = None,
) -> int:
    """Everyone active in *roles*; liaisons only of *district_id* when given."""
    query = select(User.id).where(User.active.is_(True), User.role.in_(list(roles)))
    if district_id is not None:
        query = query.where((User.role != "liaison") | (User.district_id == district_id))
    return notify(session, session.scalars(query), title, body, link)


def unread_count(session: Session, user_id: int) -> str:
    limited = (
        select(Notification.id)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .limit(COUNT_CAP + 1)
        .subquery()
    )
    count = session.scalar(select(func.count()).select_from(limited)) or 0
    return f"{COUNT_CAP}+" if count > COUNT_CAP else str(count)


def mark_read(session: Session, user_id: int, notification_id: int | None = None) -> int:
    """One notification (or all of them) read; only the owner's own notifications change."""
    query = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    return session.execute(query.values(read_at=clock.now())).rowcount
