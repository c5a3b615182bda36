"""Running user tasks and timers on a loaded workflow, and persisting it.

The application calls these inside its own transaction: load, check, run,
save. A save whose instance version moved since the load raises
``StaleDataError`` and the whole transaction is rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from workflows import clock
from workflows.definitions import (
    DISTRICT_LANES,
    LANE_ROLES,
    ProcessDefinition,
    ProcessLibrary,
    ServiceHandler,
)
from workflows.incidents import close_for_instance, task_failure
from workflows.store import ProcessDefinitionRecord, ProcessInstance, TimerChange, lock_instance

_STATE_NAMES = {TaskState.READY: "ready", TaskState.COMPLETED: "completed", TaskState.CANCELLED: "cancelled"}


@dataclass(frozen=True)
class Actor:
    """Who is asking to run a task, as the engine needs to know it."""

    user_id: int
    role: str
    district_id: int | None


@dataclass(frozen=True)
class UserTaskView:
    task_id: str
    element: str
    name: str
    lane: str
    form_key: str
    stage: str | None
    state: str
    due_at: datetime | None


class TaskRefused(Exception):
    """A request to run a task that must not run; ``reason`` is shown to the user."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _timer_due(task: Any) -> datetime | None:
    value = task._get_internal_data("event_value")
    if not value:
        return None
    due = datetime.fromisoformat(value)
    return due if due.tzinfo else due.replace(tzinfo=clock.SHANGHAI)


def task_due(task: Any) -> datetime | None:
    """The earliest pending boundary-timer due date attached to a user task."""
    dues = [d for d in (_timer_due(t) for t in _boundary_timers(task)) if d is not None]
    return min(dues) if dues else None


def user_tasks(wf: BpmnWorkflow, definition: ProcessDefinition) -> list[UserTaskView]:
    """Ready, completed and cancelled user tasks, for the task projection."""
    views = []
    for task in wf.get_tasks(state=TaskState.READY | TaskState.COMPLETED | TaskState.CANCELLED):
        spec = task.task_spec
        if not getattr(spec, "manual", False):
            continue
        meta = definition.user_tasks.get(spec.bpmn_id, {})
        views.append(
            UserTaskView(
                task_id=str(task.id),
                element=spec.bpmn_id,
                name=meta.get("name", spec.bpmn_id),
                lane=spec.lane,
                form_key=meta.get("form_key", ""),
                stage=meta.get("stage"),
                state=_STATE_NAMES[task.state],
                due_at=task_due(task) if task.state == TaskState.READY else None,
            )
        )
    return views


def next_timer(wf: BpmnWorkflow) -> datetime | None:
    timers = [
        task
        for task in wf.event_manager.tasks.values()
        if isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)
    ]
    dues = [due for due in map(_timer_due, timers) if due is not None]
    return min(dues) if dues else None


def find_ready_task(wf: BpmnWorkflow, task_id: str, actor: Actor, district_id: int | None) -> Any:
    """The task to run, after checking state, role and district; raise TaskRefused otherwise."""
    try:
        task = wf.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError):
        task = None
    if task is None or not getattr(task.task_spec, "manual", False):
        raise TaskRefused("not_found", "任务不存在或已被流程取消")
    if task.state != TaskState.READY:
        if task.state in (TaskState.COMPLETED, TaskState.CANCELLED):
            raise TaskRefused("stale", "该任务已处理或已被取消，请刷新页面")
        raise TaskRefused("not_ready", "该任务尚未开始，暂不能办理")
    roles = LANE_ROLES.get(task.task_spec.lane, frozenset())
    if actor.role not in roles:
        raise TaskRefused("forbidden", "您的角色不能办理此任务")
    if task.task_spec.lane in DISTRICT_LANES and actor.district_id != district_id:
        raise TaskRefused("forbidden", "您不能办理其他区的任务")
    return task


def run_user_task(wf: BpmnWorkflow, task: Any, data: dict[str, Any]) -> None:
    task.data.update(data)
    task.run()
    wf.do_engine_steps()


def send_message(wf: BpmnWorkflow, name: str, payload: Any = None) -> None:
    """Deliver a message to the catch event waiting for it (the definition must match the diagram's)."""
    for task in wf.event_manager.tasks.values():
        definition = getattr(task.task_spec, "event_definition", None)
        if getattr(definition, "name", None) == name:
            wf.catch(BpmnEvent(definition, payload))
            wf.do_engine_steps()
            return
    raise LookupError(f"process is not waiting for message {name}")


def _waiting_timers(wf: BpmnWorkflow) -> set[Any]:
    return {
        task.id
        for task in wf.event_manager.tasks.values()
        if task.state == TaskState.WAITING
        and isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)
    }


def fire_due_timers(wf: BpmnWorkflow) -> bool:
    """Fire the timers whose date has passed; say whether any did.

    A task that fails on the way (the boundary timer's service task, a script) raises
    ``TaskFailure`` naming it, for the scheduler's incident (workflows/incidents.py).
    """
    before = _waiting_timers(wf)
    try:
        wf.refresh_timers()
        wf.do_engine_steps()
    except StaleDataError:
        raise
    except Exception as exc:
        failure = task_failure(wf, exc)
        if failure is None:
            raise
        raise failure from exc
    return _waiting_timers(wf) != before


def _boundary_timers(task: Any) -> list[Any]:
    parent = task.parent
    if parent is None:
        return []
    return [
        sibling
        for sibling in parent.children
        if sibling is not task
        and sibling.state == TaskState.WAITING
        and isinstance(getattr(sibling.task_spec, "event_definition", None), TimerEventDefinition)
    ]


def move_timer(wf: BpmnWorkflow, task_id: str, due: datetime) -> datetime | None:
    """Move the deadline of a ready user task; return the old due date.

    SpiffWorkflow evaluates a timer's expression once and keeps the result in the timer
    task's internal ``event_value``; changing the process data afterwards moves nothing.
    """
    if due.tzinfo is None:
        raise ValueError("a deadline must be timezone-aware")
    task = wf.get_task_from_id(UUID(task_id))
    timers = _boundary_timers(task) if task is not None and task.state == TaskState.READY else []
    if not timers:
        raise LookupError("该任务没有可调整的截止时间")
    old = min((d for d in (_timer_due(t) for t in timers) if d is not None), default=None)
    for timer in timers:
        timer._set_internal_data(event_value=due.isoformat())
    return old


class InstanceStore:
    """Creates, loads and saves process instances in the database."""

    def __init__(self, library: ProcessLibrary) -> None:
        self.library = library
        self._definition_ids: dict[int, tuple[str, str]] = {}

    def definition_record(self, session: Session, definition: ProcessDefinition) -> ProcessDefinitionRecord:
        record = session.scalar(
            select(ProcessDefinitionRecord).where(
                ProcessDefinitionRecord.key == definition.key,
                ProcessDefinitionRecord.version == definition.version,
            )
        )
        if record is None:
            record = ProcessDefinitionRecord(
                key=definition.key, version=definition.version, name=definition.name, xml=definition.xml
            )
            session.add(record)
            session.flush()
        return record

    def definition_for(self, session: Session, definition_id: int) -> ProcessDefinition:
        key_version = self._definition_ids.get(definition_id)
        if key_version is not None:
            cached = self.library.get(*key_version)
            if cached is not None:
                return cached
        record = session.get(ProcessDefinitionRecord, definition_id)
        if record is None:
            raise LookupError(f"process definition {definition_id} missing")
        definition = self.library.register(record.key, record.xml)
        self._definition_ids[definition_id] = (record.key, record.version)
        return definition

    def create(
        self,
        session: Session,
        definition: ProcessDefinition,
        data: dict[str, Any],
        services: ServiceHandler | None,
        before_start: Any = None,
    ) -> tuple[ProcessInstance, BpmnWorkflow]:
        record = self.definition_record(session, definition)
        instance = ProcessInstance(definition_id=record.id, process_key=definition.key, state="")
        session.add(instance)
        session.flush()
        if before_start is not None:
            before_start(instance)
        wf = self.library.new_workflow(definition, {**data, "instance_id": instance.id}, services)
        self.save(session, instance, wf)
        return instance, wf

    def lock(self, session: Session, instance_id: int | ColumnElement[int]) -> ProcessInstance | None:
        """Row-lock the instance for the rest of the transaction (a no-op on SQLite, whose writes
        are serialised anyway): a second click on the same process waits, then sees the first's
        outcome instead of racing it. *instance_id* may be a scalar subquery (the instance of a
        task, so the caller reads the task once, after the lock). Returns the row, read whole and
        replacing any copy the session held: while the caller holds it (the session keeps only weak
        references), ``load`` finds it in the session instead of querying again."""
        return lock_instance(session, instance_id)

    def load(
        self, session: Session, instance_id: int, services: ServiceHandler | None
    ) -> tuple[ProcessInstance, BpmnWorkflow, ProcessDefinition]:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise LookupError(f"process instance {instance_id} missing")
        wf = self.library.loads(instance.state, services)
        return instance, wf, self.definition_for(session, instance.definition_id)

    def cancel(self, session: Session, instance_id: int) -> bool:
        """Stop a running instance for good: no pending timer (its deadlines never fire, and the
        scheduler is told in this transaction). False if it was not running."""
        instance = self.lock(session, instance_id)
        if instance is None or instance.status != "running":
            return False
        now = clock.now()
        instance.status, instance.completed_at, instance.next_timer_at = "cancelled", now, None
        session.add(TimerChange(instance_id=instance_id, created_at=now))
        close_for_instance(session, instance_id)  # nothing left to retry
        return True

    def save(self, session: Session, instance: ProcessInstance, wf: BpmnWorkflow) -> None:
        now = clock.now()
        instance.state = self.library.dumps(wf)
        due = next_timer(wf)
        if due != instance.next_timer_at:
            # Tell the scheduler (perhaps in another process) in this same transaction.
            session.add(TimerChange(instance_id=instance.id, created_at=now))
        instance.next_timer_at = due
        instance.updated_at = now
        if wf.completed and instance.status != "completed":
            instance.status = "completed"
            instance.completed_at = now
        # Not flushed here: the caller writes the instance with the rows its step changes beside it
        # (app.processes.runtime.ProcessRun.step_done flushes once at its end). The version check
        # (UPDATE … WHERE version = v) raises StaleDataError at that flush, in this same transaction.
