"""State changes of the working-day calendar, and the calendar a transaction computes deadlines with."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.calendar.models import CalendarDay
from app.errors import NotFound, ValidationFailed
from workflows.calendar import WorkCalendar


def calendar_for(session: Session) -> WorkCalendar:
    """The official calendar with the administrator's corrections, read when first needed."""
    return WorkCalendar(lambda: {d.day: d.is_workday for d in session.scalars(select(CalendarDay))})


def set_day(session: Session, actor_id: int, day: date, is_workday: bool, note: str) -> CalendarDay:
    if not 2000 <= day.year <= 2100:
        raise ValidationFailed("日期超出范围", {"day": "日期超出范围"})
    entry = session.get(CalendarDay, day)
    before = None if entry is None else {"is_workday": entry.is_workday, "note": entry.note}
    if entry is None:
        entry = CalendarDay(day=day, is_workday=is_workday)
        session.add(entry)
    entry.is_workday = is_workday
    entry.note = note.strip()[:100]
    entry.updated_by = actor_id
    audit(
        session,
        actor_id,
        "calendar.set",
        ("calendar_day", day.isoformat()),
        f"{day.isoformat()} 调整为{'工作日' if is_workday else '休息日'}：{entry.note}",
        before=before,
        after={"is_workday": is_workday, "note": entry.note},
    )
    session.flush()
    return entry


def remove_day(session: Session, actor_id: int, day: date) -> None:
    entry = session.get(CalendarDay, day)
    if entry is None:
        raise NotFound("没有这一天的调整")
    audit(
        session,
        actor_id,
        "calendar.remove",
        ("calendar_day", day.isoformat()),
        f"撤销 {day.isoformat()} 的工作日调整",
        before={"is_workday": entry.is_workday, "note": entry.note},
    )
    session.delete(entry)
