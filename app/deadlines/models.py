from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from workflows import clock


class Reminder(Base):
    """截止提醒 — a reminder due some hours before a task's deadline, to whoever holds the task.

    Planned when the task becomes ready (or its deadline moves); sent once by the scheduler's
    reminder job, or skipped if the task is no longer open by then.
    """

    __tablename__ = "deadline_reminders"
    __table_args__ = (
        Index("ix_deadline_reminders_due", "sent_at", "remind_at"),
        Index("ix_deadline_reminders_task", "task_record_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_record_id: Mapped[int] = mapped_column(ForeignKey("task_records.id"))
    hours_before: Mapped[float] = mapped_column()
    remind_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    outcome: Mapped[str] = mapped_column(String(20), default="")  # sent / skipped
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
