"""A lease row that elects one scheduler per deployment.

Every process that may schedule (each gunicorn worker, a standalone ``flask scheduler run``)
renews or takes the lease every couple of seconds; only the holder schedules. A holder that
dies stops renewing and a standby takes the row once it has expired. Exactly-once firing does
not rest on the lease (each firing locks and re-checks its instance); the lease keeps the
others from doing the same work twice and lets them take over.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from sqlalchemy import case, delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflows import clock
from workflows.store import SchedulerLease, rowcount

Transaction = Callable[[], AbstractContextManager[Session]]


class Lease:
    def __init__(self, transaction: Transaction, name: str, holder: str, ttl: timedelta) -> None:
        self.transaction = transaction
        self.name = name
        self.holder = holder
        self.ttl = ttl
        # Until when this process may act as holder, by its own clock, counted from before it asked.
        self.valid_until: datetime | None = None

    def acquire_or_renew(self) -> bool:
        asked_at = clock.now()
        expires = asked_at + self.ttl
        with self.transaction() as session:
            taken = rowcount(
                session.execute(
                    update(SchedulerLease)
                    .where(
                        SchedulerLease.name == self.name,
                        or_(SchedulerLease.holder == self.holder, SchedulerLease.expires_at < asked_at),
                    )
                    .values(
                        holder=self.holder,
                        renewed_at=asked_at,
                        expires_at=expires,
                        acquired_at=case(
                            (SchedulerLease.holder == self.holder, SchedulerLease.acquired_at), else_=asked_at
                        ),
                    )
                )
            )
            if not taken and session.get(SchedulerLease, self.name) is None:
                taken = self._insert(session, asked_at, expires)
        self.valid_until = asked_at + self.ttl if taken else None
        return bool(taken)

    def _insert(self, session: Session, now: datetime, expires: datetime) -> bool:
        try:
            with session.begin_nested():
                session.add(
                    SchedulerLease(
                        name=self.name,
                        holder=self.holder,
                        acquired_at=now,
                        renewed_at=now,
                        expires_at=expires,
                    )
                )
            return True
        except IntegrityError:  # another process created the row first
            return False

    @property
    def held(self) -> bool:
        return self.valid_until is not None and clock.now() < self.valid_until

    def release(self) -> None:
        """Give the lease up at once (a clean shutdown), so a restart need not wait for expiry."""
        self.valid_until = None
        with self.transaction() as session:
            session.execute(
                delete(SchedulerLease).where(
                    SchedulerLease.name == self.name, SchedulerLease.holder == self.holder
                )
            )
