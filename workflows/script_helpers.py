"""Date helpers for the scripts and expressions of diagrams (日期助手).

Diagrams may not import anything, so ordinary date arithmetic and formatting are offered as
functions. Each one costs little whatever its arguments (spans are bounded, formats are a fixed
set), which is what lets an expression calling only these run in the engine's own process
(``workflows.script_bounds``). Dates are read in Asia/Shanghai, like every deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from workflows import clock
from workflows.calendar import WorkCalendar

MAX_SPAN_DAYS = 3660  # about ten years: bounds add_work_days's walk from day to day
MAX_TEXT = 64  # longer than any ISO date or time
STYLES = ("iso", "chinese", "compact")
# Helpers that read the working-day calendar: the sandbox is sent the corrections only for these.
CALENDAR_HELPERS = frozenset({"add_work_days", "is_work_day", "due_date"})


def _parse(text: str) -> datetime:
    if len(text) > MAX_TEXT:
        raise ValueError("日期文本过长")
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"无法识别的日期“{text}”，请写成 2026-03-05 或 2026-03-05T14:30") from exc


def to_datetime(value: datetime | date | str) -> datetime:
    """An aware time in Asia/Shanghai: a naive time is taken as Shanghai time, a date as its 0:00."""
    if isinstance(value, str):
        value = _parse(value)
    if isinstance(value, datetime):
        return value.astimezone(clock.SHANGHAI) if value.tzinfo else value.replace(tzinfo=clock.SHANGHAI)
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0), tzinfo=clock.SHANGHAI)
    raise TypeError(f"需要日期，得到的是 {type(value).__name__}")


def to_date(value: datetime | date | str) -> date:
    """The calendar day (in Asia/Shanghai) of a date, a time or an ISO text."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return to_datetime(value).date()


def _days(count: Any, low: int, high: int) -> int:
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError("天数必须是整数")
    if not low <= count <= high:
        raise ValueError(f"天数须在 {low} 到 {high} 之间")
    return count


def add_days(value: datetime | date | str, days: int) -> datetime | date:
    """*days* calendar days later (earlier if negative); a time stays a time, a date a date."""
    delta = timedelta(days=_days(days, -MAX_SPAN_DAYS, MAX_SPAN_DAYS))
    if isinstance(value, datetime):
        return value + delta
    return to_date(value) + delta


def days_between(start: datetime | date | str, end: datetime | date | str) -> int:
    """Calendar days from *start* to *end* (negative if *end* is earlier)."""
    return (to_date(end) - to_date(start)).days


def format_date(value: datetime | date | str, style: str = "iso") -> str:
    """2026-03-05 (iso), 2026年3月5日 (chinese) or 20260305 (compact); times add the hour and minute."""
    if style not in STYLES:
        raise ValueError(f"日期格式只能是 {'、'.join(STYLES)}")
    has_time = isinstance(value, datetime) or (isinstance(value, str) and "T" in value)
    moment = to_datetime(value)
    if style == "chinese":
        text = f"{moment.year}年{moment.month}月{moment.day}日"
        return f"{text} {moment:%H:%M}" if has_time else text
    pattern = "%Y-%m-%d" if style == "iso" else "%Y%m%d"
    if has_time:
        pattern += " %H:%M" if style == "iso" else "%H%M"
    return moment.strftime(pattern)


def now() -> datetime:
    moment = clock.local(clock.now())
    assert moment is not None
    return moment


def today() -> date:
    return now().date()


def date_helpers(calendar: WorkCalendar | None) -> dict[str, Callable[..., Any]]:
    """The helpers by the names diagrams call them, the working-day ones bound to *calendar*."""
    working = calendar or WorkCalendar()

    def add_work_days(value: datetime | date | str, days: int) -> date:
        """The *days*-th working day after *value* (holidays and 调休 counted)."""
        return working.add_workdays(to_date(value), _days(days, 0, MAX_SPAN_DAYS))

    def is_work_day(value: datetime | date | str) -> bool:
        return working.is_workday(to_date(value))

    return {
        "today": today,
        "now": now,
        "to_date": to_date,
        "to_datetime": to_datetime,
        "add_days": add_days,
        "add_work_days": add_work_days,
        "days_between": days_between,
        "is_work_day": is_work_day,
        "format_date": format_date,
    }
