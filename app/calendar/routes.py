from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.actions import perform
from app.auth import roles_required
from app.calendar.models import CalendarDay
from app.calendar.operations import calendar_for, remove_day, set_day
from app.db import db
from workflows import clock

bp = Blueprint("calendar", __name__, url_prefix="/calendar")


def _parse_day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        return None


@bp.route("", methods=["GET", "POST"])
@roles_required("admin")
def index() -> Any:
    if request.method == "POST":
        day = _parse_day(request.form.get("day"))
        kind = request.form.get("kind")
        if day is None or kind not in ("workday", "restday"):
            flash("请填写正确的日期（YYYY-MM-DD）并选择工作日或休息日", "danger")
        else:
            note = request.form.get("note", "")
            perform(
                lambda s: set_day(s, current_user.id, day, kind == "workday", note),
                f"{day.isoformat()} 已调整",
            )
        return redirect(url_for("calendar.index"))
    today = clock.local(clock.now()).date()  # type: ignore[union-attr]
    calendar = calendar_for(db.session)
    upcoming = [today + timedelta(days=n) for n in range(0, 21)]
    days = db.session.scalars(select(CalendarDay).order_by(CalendarDay.day.desc())).all()
    return render_template(
        "calendar/index.html",
        days=days,
        upcoming=[(d, calendar.is_workday(d)) for d in upcoming],
    )


@bp.route("/<day>/delete", methods=["POST"])
@roles_required("admin")
def delete(day: str) -> Any:
    parsed = _parse_day(day)
    if parsed is None:
        flash("日期格式不正确", "danger")
    else:
        perform(lambda s: remove_day(s, current_user.id, parsed), f"已撤销 {day} 的调整")
    return redirect(url_for("calendar.index"))
