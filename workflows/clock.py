"""One place that says what time it is, so tests can freeze it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


def local(dt: datetime | None) -> datetime | None:
    """*dt* shown in Asia/Shanghai; naive values are taken as UTC."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(SHANGHAI)


def deadline_text(dt: datetime | None) -> str:
    """A deadline in Asia/Shanghai; midnight reads as 24:00 of the day before, as rules are stated."""
    value = local(dt)
    if value is None:
        return ""
    if value.hour == value.minute == value.second == 0:
        return (value - timedelta(days=1)).strftime("%Y-%m-%d 24:00")
    return value.strftime("%Y-%m-%d %H:%M")
