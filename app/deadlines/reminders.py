"""Reminders before deadlines: planned when a task opens (or its deadline moves), sent once.

Reminders tolerate a few seconds, so the scheduler's lease holder sends them from a short
periodic job over the indexed (sent_at, remind_at) pair rather than one job per reminder.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from app.deadlines.models import Reminder
from app.deadlines.recipients import task_holders
from app.deadlines.settings import settings_of
from app.notifications.operations import notify
from app.rounds.models import Round
from app.tasks.models import TaskRecord
from workflows import clock

BATCH = 200


def plan_for_opened(session: Session, round_id: int, opened: Iterable[TaskRecord]) -> None:
    """Reminders for every task that opened with a deadline, whichever process it belongs to, at
    the hours its round's settings name. Opened tasks are the rows the projection has just
    inserted, so they have no reminders to replace: every task's are written in one INSERT."""
    due = [task for task in opened if task.due_at is not None and task.state == "ready"]
    if not due:
        return
    round_ = session.get(Round, round_id)
    assert round_ is not None
    hours = settings_of(round_.deadline_settings)["reminder_hours"]
    if any(task.id is None for task in due):
        session.flush()
    _add_reminders(session, [row for task in due for row in _reminder_rows(task, hours)])


def plan_reminders(session: Session, task: TaskRecord, hours: Iterable[float]) -> int:
    """Replace the task's unsent reminders by one per *hours* still ahead of its deadline."""
    if task.id is None:
        session.flush()
    session.execute(delete(Reminder).where(Reminder.task_record_id == task.id, Reminder.sent_at.is_(None)))
    if task.due_at is None or task.state != "ready":
        return 0
    rows = _reminder_rows(task, hours)
    _add_reminders(session, rows)
    return len(rows)


def _reminder_rows(task: TaskRecord, hours: Iterable[float]) -> list[dict[str, Any]]:
    """One reminder per *hours* before the task's deadline that is still ahead."""
    assert task.due_at is not None
    now = clock.now()
    rows = []
    for h in hours:
        remind_at = task.due_at - timedelta(hours=h)
        if remind_at > now:
            rows.append({"task_record_id": task.id, "hours_before": h, "remind_at": remind_at})
    return rows


def _add_reminders(session: Session, rows: list[dict[str, Any]]) -> None:
    # One executemany INSERT (the unit of work would send SQLite one INSERT per row).
    if rows:
        session.execute(insert(cast(Table, Reminder.__table__)), rows)


def _hours_left(task: TaskRecord) -> str:
    assert task.due_at is not None
    left = task.due_at - clock.now()
    hours = left.total_seconds() / 3600
    return f"{hours:.0f} 小时" if hours >= 1 else f"{max(left.total_seconds() // 60, 1):.0f} 分钟"


def send_due_reminders(session: Session) -> str:
    """Send the reminders that are due; a task no longer open is skipped. Returns a summary."""
    now = clock.now()
    due = session.execute(
        select(Reminder, TaskRecord)
        .join(TaskRecord, TaskRecord.id == Reminder.task_record_id)
        .where(Reminder.sent_at.is_(None), Reminder.remind_at <= now)
        .order_by(Reminder.remind_at)
        .limit(BATCH)
    ).all()
    sent = skipped = 0
    for reminder, task in due:
        reminder.sent_at = now
        if task.state != "ready" or task.due_at is None or task.due_at <= now:
            reminder.outcome = "skipped"
            skipped += 1
            continue
        users = task_holders(session, task)
        where = f"（{task.district.name}）" if task.district else ""
        due_text = clock.deadline_text(task.due_at)
        notify(
            session,
            users,
            f"截止提醒：{task.name}{where}",
            f"该任务将于 {due_text} 截止（还剩约 {_hours_left(task)}），请及时办理。",
            f"/tasks/{task.id}",
        )
        reminder.outcome = "sent"
        sent += 1
    if not due:
        return ""
    return f"发送提醒 {sent} 条" + (f"，跳过已办结 {skipped} 条" if skipped else "")
