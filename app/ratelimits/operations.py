"""Every state change of rate limits: counting an attempt, locking a key out, clearing it.

``take`` counts with one ``UPDATE … RETURNING`` and commits at once: the count must survive the
refusal that usually follows (which rolls the request back), and concurrent attempts must each see
their own number (a read-modify-write let 20 concurrent wrong passwords through a limit of 5).
Call it before anything else in the request, while the session holds no other changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.ratelimits.models import RateLimit
from workflows import clock
from workflows.store import UTCDateTime, rowcount


@dataclass(frozen=True)
class Attempt:
    count: int  # attempts in the current window, this one included
    locked_until: datetime | None

    def locked(self, now: datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or clock.now())

    def minutes_left(self) -> int:
        if self.locked_until is None:
            return 0
        return max(1, int((self.locked_until - clock.now()).total_seconds() // 60) + 1)


def take(session: Session, bucket: str, key: str, window: timedelta) -> Attempt:
    """Count one attempt of *key* in *bucket* (a new window starts when the last one has passed)."""
    now = clock.now()
    stamp = literal(now, UTCDateTime())
    expired = RateLimit.window_started_at < now - window
    counted = (
        update(RateLimit)
        .where(RateLimit.bucket == bucket, RateLimit.key == key)
        .values(
            count=case((expired, 1), else_=RateLimit.count + 1),
            window_started_at=case((expired, stamp), else_=RateLimit.window_started_at),
        )
        .returning(RateLimit.count, RateLimit.locked_until)
        .execution_options(synchronize_session=False)
    )
    row = session.execute(counted).first()
    if row is None:
        try:
            session.add(RateLimit(bucket=bucket, key=key, count=1, window_started_at=now))
            session.commit()
            return Attempt(1, None)
        except IntegrityError:  # another request inserted the row first: count on it
            session.rollback()
            row = session.execute(counted).one()
    session.commit()
    return Attempt(row[0], row[1])


def lock(session: Session, bucket: str, key: str, until: datetime) -> bool:
    """Lock *key* out until *until*; False if it was already locked (so the owner is told once)."""
    now = clock.now()
    changed = rowcount(
        session.execute(
            update(RateLimit)
            .where(
                RateLimit.bucket == bucket,
                RateLimit.key == key,
                or_(RateLimit.locked_until.is_(None), RateLimit.locked_until <= now),
            )
            .values(locked_until=until)
            .execution_options(synchronize_session=False)
        )
    )
    return bool(changed)


def clear(session: Session, bucket: str, key: str | None = None, key_prefix: str | None = None) -> int:
    """Forget the attempts of one key, or of every key starting with *key_prefix*."""
    query = delete(RateLimit).where(RateLimit.bucket == bucket)
    if key is not None:
        query = query.where(RateLimit.key == key)
    if key_prefix is not None:
        query = query.where(RateLimit.key.startswith(key_prefix, autoescape=True))
    return rowcount(session.execute(query.execution_options(synchronize_session=False)))


def prune(session: Session, older_than: timedelta = timedelta(days=1)) -> str:
    """Drop counters whose window and lock are long over (a spray of made-up names leaves many)."""
    cutoff = clock.now() - older_than
    removed = rowcount(
        session.execute(
            delete(RateLimit)
            .where(
                RateLimit.window_started_at < cutoff,
                or_(RateLimit.locked_until.is_(None), RateLimit.locked_until < cutoff),
            )
            .execution_options(synchronize_session=False)
        )
    )
    return f"清理 {removed} 条限流记录" if removed else ""
