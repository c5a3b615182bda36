"""The outbox: messages for outside channels, delivered by the scheduler's job with retries.

A row is claimed (its next attempt pushed past the send timeout) and committed before the
channel is called, so a slow mail server holds no database lock and two deliverers never send
the same row; the outcome is written in a second short transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.db import db
from app.notifications.channels import enabled_channels
from app.notifications.models import OutboundMessage
from workflows import clock

MAX_ATTEMPTS = 10
BATCH = 50
CLAIM = timedelta(minutes=5)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … capped at an hour: ten attempts span about eight hours."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def enqueue(session: Session, users: Iterable[User], subject: str, body: str, link: str = "") -> int:
    channels = enabled_channels()
    if not channels:
        return 0
    base = current_app.config.get("BASE_URL", "").rstrip("/")
    text = body + (f"\n\n详情：{base}{link}" if link and base else "")
    text += "\n\n—— 苏州市城管执法考核系统（本邮件由系统发送，请勿回复）"
    count = 0
    for user in users:
        for channel in channels.values():
            address = channel.address(user)
            if address:
                session.add(
                    OutboundMessage(
                        channel=channel.name,
                        user_id=user.id,
                        address=address,
                        subject=subject[:200],
                        body=text,
                    )
                )
                count += 1
    return count


def deliver_pending() -> str:
    """Send what is due; return a short Chinese summary ("" when there was nothing to do)."""
    channels = enabled_channels()
    now = clock.now()
    with db.transaction() as session:
        query = (
            select(OutboundMessage)
            .where(OutboundMessage.status == "pending", OutboundMessage.next_attempt_at <= now)
            .order_by(OutboundMessage.next_attempt_at)
            .limit(BATCH)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claimed = list(session.scalars(query))
        for message in claimed:
            message.next_attempt_at = now + CLAIM
    sent = failed = 0
    for message in claimed:
        channel = channels.get(message.channel)
        error = ""
        if channel is None:
            error = f"通知渠道 {message.channel} 未配置"
        else:
            try:
                channel.send(message.address, message.subject, message.body)
            except Exception as exc:  # any failure of the gateway is retried
                error = f"{type(exc).__name__}: {exc}"
        with db.transaction() as session:
            row = session.get(OutboundMessage, message.id)
            assert row is not None
            row.attempts += 1
            if not error:
                row.status, row.sent_at, row.last_error = "sent", clock.now(), ""
                sent += 1
            else:
                row.last_error = error[:2000]
                failed += 1
                if row.attempts >= MAX_ATTEMPTS:
                    row.status = "failed"
                else:
                    row.next_attempt_at = clock.now() + backoff(row.attempts)
    if not claimed:
        return ""
    return f"发送 {sent} 条" + (f"，失败 {failed} 条（稍后重试）" if failed else "")


def retry(session: Session, message_id: int | None = None) -> int:
    """Put failed messages (one, or all) back in the queue."""
    query = select(OutboundMessage).where(OutboundMessage.status == "failed")
    if message_id is not None:
        query = query.where(OutboundMessage.id == message_id)
    rows = list(session.scalars(query))
    for row in rows:
        row.status, row.attempts, row.next_attempt_at = "pending", 0, clock.now()
    return len(rows)
