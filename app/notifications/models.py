from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from workflows import clock


class Notification(Base):
    """站内通知 — a message to one user (deadline passed, results released …)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    read_at: Mapped[datetime | None] = mapped_column(nullable=True)


class OutboundMessage(Base):
    """外发通知 — one message waiting for, or given to, an outside channel (e-mail, SMS …).

    Written in the transaction of the event that caused it; a delivery job sends it later and
    retries with backoff, so an outage of the mail server loses nothing.
    """

    __tablename__ = "outbound_messages"
    __table_args__ = (Index("ix_outbound_messages_pending", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(30))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending / sent / failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)

    STATUS_LABELS = {"pending": "待发送", "sent": "已发送", "failed": "发送失败"}  # noqa: RUF012

    @property
    def status_label(self) -> str:
        return self.STATUS_LABELS.get(self.status, self.status)
