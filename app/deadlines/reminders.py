"""Reminders before deadlines: planned when a task opens (or its deadline moves), sent once.

Reminders tolerate a few seconds, so the scheduler's lease holder sends them from a short
periodic job over the indexed (sent_at, remind_at) pair rather than one job per reminder.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import delete, select
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
    the hours its round's settings name."""
    due = [task for task in opened if task.due_at is not None]
    if not due:
        return
    round_ = session.get(Round, round_id)
    assert round_ is not None
    hours = settings_of(round_.deadline_settings)["reminder_hours"]
    for task in due:
        plan_reminders(session, task, hours)


def plan_reminders(session: Session, task: TaskRecord, hours: Iterable[float]) -> int:
    """Replace the task's unsent reminders by one per *hours* still ahead of its deadline."""
    if task.id is None:
        session.flush()
    session.execute(delete(Reminder).where(Reminder.task_record_id == task.id, Reminder.sent_at.is_(None)))
    if task.due_at is None or task.state != "ready":
        return 0
    now = clock.now()
    planned = 0
    for h in hours:
        remind_at = task.due_at - timedelta(hours=h)
        if remind_at > now:
            session.add(Reminder(task_record_id=task.id, hours_before=h, remind_at=remind_at))
            planned += 1
    return planned


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
