"""Working days: holidays, make-up working days (调休), years not yet published, corrections."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from app.calendar.models import CalendarDay
from app.db import db
from workflows import clock
from workflows.calendar import WorkCalendar
from workflows.deadlines import due_date, validate_rule


def test_official_holidays_and_make_up_days() -> None:
    calendar = WorkCalendar()
    assert not calendar.is_workday(date(2026, 10, 1))  # National Day
    assert calendar.is_workday(date(2026, 10, 10))  # a Saturday worked in exchange (调休)
    assert not calendar.is_workday(date(2026, 11, 28))  # an ordinary Saturday
    assert calendar.is_workday(date(2027, 3, 3))  # not yet published: Monday to Friday
    assert not calendar.is_workday(date(2027, 3, 6))


def test_appeal_window_of_three_working_days_across_the_national_day_holiday() -> None:
    rules = {"appeal": validate_rule("appeal", {"kind": "working_days", "days": 3})}
    released = datetime(2026, 9, 30, 15, 0, tzinfo=clock.SHANGHAI)  # the last working day before the holiday
    # 10-01…10-07 are holidays; 10-08 (Thu), 10-09 (Fri) and 10-10 (Sat, 调休) are the working days.
    assert due_date(rules, "appeal", start=released) == "2026-10-11T00:00:00+08:00"
    corrected = WorkCalendar({date(2026, 10, 10): False})  # a correction: that Saturday is not worked
    assert due_date(rules, "appeal", start=released, calendar=corrected) == "2026-10-13T00:00:00+08:00"


def test_calendar_day_rules_count_holidays_too() -> None:
    rules = {"review": validate_rule("review", {"kind": "days", "days": 5})}
    start = datetime(2026, 9, 30, 15, 0, tzinfo=clock.SHANGHAI)
    assert due_date(rules, "review", start=start) == "2026-10-06T00:00:00+08:00"  # holidays count here


@pytest.mark.db
def test_administrator_corrects_the_calendar(app, demo, client_as) -> None:
    admin = client_as("admin")
    page = admin.get("/calendar").get_data(as_text=True)
    assert "工作日历" in page
    admin.post("/calendar", data={"day": "2027-02-20", "kind": "workday", "note": "春节调休上班"})
    bad = admin.post("/calendar", data={"day": "2027-13-01", "kind": "workday"}, follow_redirects=True)
    assert "请填写正确的日期" in bad.get_data(as_text=True)
    entry = db.session.scalar(select(CalendarDay))
    assert (entry.day, entry.is_workday, entry.note) == (date(2027, 2, 20), True, "春节调休上班")
    admin.post("/calendar/2027-02-20/delete")
    db.session.expire_all()
    assert db.session.scalar(select(CalendarDay)) is None
    assert client_as("inspector1").get("/calendar").status_code == 403
