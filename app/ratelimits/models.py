from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class RateLimit(Base):
    """限流计数 — attempts of one kind (*bucket*) from one key (an address, an account and address)
    within the current window, and how long the key is locked out.

    Kept in the database rather than in each worker's memory, so every gunicorn worker and host
    counts the same attempts."""

    __tablename__ = "rate_limits"

    bucket: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime]
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
