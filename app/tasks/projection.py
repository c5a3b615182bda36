"""Keeping the task projection in step with a workflow, in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.tasks.models import LANE_POOLS, TaskRecord
from workflows import clock
from workflows.definitions import ProcessDefinition
from workflows.runner import user_tasks
from workflows.store import ProcessInstance, rowcount


@dataclass(frozen=True)
class TaskScope:
    """What a process instance's tasks belong to."""

    round_id: int
    district_id: int | None = None
    assessment_id: int | None = None
    excluded_user_id: int | None = None


def sync_tasks(
    session: Session,
    instance: ProcessInstance,
    wf: BpmnWorkflow,
    definition: ProcessDefinition,
    scope: TaskScope,
    completed_by: int | None = None,
) -> list[TaskRecord]:
    """Insert new user tasks, update changed ones, cancel the ones the workflow dropped.

    Returns the records that became ready in this call. Nothing is flushed here: the rows are
    written with the instance's save and whatever else the step changes, in the one flush that
    ends ProcessRun.step_done (a row changed twice in a click, claimed and completed, gets one
    UPDATE).
    """
    with session.no_autoflush:  # the rows are the instance's; only sync_tasks adds them
        existing = {
            r.task_id: r
            for r in session.scalars(select(TaskRecord).where(TaskRecord.instance_id == instance.id))
        }
    now = clock.now()
    seen: set[str] = set()
    new_ready: list[TaskRecord] = []
    for view in user_tasks(wf, definition):
        seen.add(view.task_id)
        record = existing.get(view.task_id)
        if record is None:
            record = TaskRecord(
                instance_id=instance.id,
                task_id=view.task_id,
                round_id=scope.round_id,
                district_id=scope.district_id,
                assessment_id=scope.assessment_id,
                element=view.element,
                name=view.name,
                form_key=view.form_key,
                pool=LANE_POOLS[view.lane],
                state=view.state,
                due_at=view.due_at,
                created_at=now,
                excluded_user_id=scope.excluded_user_id if LANE_POOLS[view.lane] == "reviewer" else None,
            )
            session.add(record)
            if view.state == "ready":
                new_ready.append(record)
        if record.state != view.state:
            record.state = view.state
            if view.state == "completed":
                record.completed_at = now
                record.completed_by = completed_by
            elif view.state == "cancelled":
                record.completed_at = now
        if view.state == "ready" and record.due_at != view.due_at:
            record.due_at = view.due_at
    # Cancelled branches are deleted from the tree; their ready rows must not linger in inboxes.
    for task_id, record in existing.items():
        if task_id not in seen and record.state == "ready":
            record.state = "cancelled"
            record.completed_at = now
    return new_ready


def cancel_open_tasks(session: Session, round_id: int) -> int:
    """A cancelled round's open tasks leave every inbox (its processes were stopped)."""
    return rowcount(
        session.execute(
            update(TaskRecord)
            .where(TaskRecord.round_id == round_id, TaskRecord.state == "ready")
            .values(state="cancelled", completed_at=clock.now())
        )
    )


def escalate_open_tasks(session: Session, assessment_id: int, element: str) -> int:
    """督办: the district's open task at *element* is marked escalated (reassignable, highlighted)."""
    return rowcount(
        session.execute(
            update(TaskRecord)
            .where(
                TaskRecord.assessment_id == assessment_id,
                TaskRecord.element == element,
                TaskRecord.state == "ready",
            )
            .values(escalated=True)
        )
    )
