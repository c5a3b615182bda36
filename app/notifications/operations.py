"""Every state change of notifications: sending them to users or roles, marking them read.

The in-app centre is written in the caller's transaction; outside channels (app/notifications/
channels.py) get an outbox row in the same transaction and are delivered by the scheduler.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.notifications.channels import enabled_channels
from app.notifications.models import Notification
from app.notifications.outbox import enqueue
from workflows import clock
from workflows.store import rowcount

COUNT_CAP = 99


def notify(session: Session, user_ids: Iterable[int], title: str, body: str = "", link: str = "") -> int:
    """In the notification centre now; to the outside channels (e-mail …) through the outbox."""
    ids = sorted(set(user_ids))
    if not ids:
        return 0
    session.add_all(Notification(user_id=uid, title=title[:200], body=body, link=link[:300]) for uid in ids)
    if enabled_channels():
        users = session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True)))
        enqueue(session, users, title, body, link)
    return len(ids)


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
    return rowcount(session.execute(query.values(read_at=clock.now())))
