"""Incidents (异常): scheduler firings whose script or service task failed.

A click whose task fails simply fails: the person sees the message and nothing is written. A
firing (a deadline) has nobody to tell, so its transaction is rolled back whole and the failure is
recorded as an incident in a transaction of its own, naming the process, the task and the error
in Chinese (the technical text kept beside it). The instance is retried with back-off (30 s, 1, 2,
4, 8 minutes by default); when the retries have run out the incident waits for an administrator
(told once), whose retry grants one more attempt. The next firing that succeeds, or that finds
the process ended, resolves the incident in its own transaction. Until then the scheduler plans
the instance by ``scheduled_at``: no hot loop, and every other instance fires as usual. (Camunda's
failed job and incident, in one row.)
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from workflows import clock
from workflows.diagram_problems import ELEMENT_KINDS
from workflows.store import ProcessIncident, ProcessInstance, TimerChange, lock_instance

RETRYING, WAITING, RESOLVED = "retrying", "waiting", "resolved"
DETAIL_MAX = 8000
_CHINESE = re.compile(r"[\u4e00-\u9fff]")

Hook = Callable[[Session, ProcessIncident], None]


class TaskFailure(Exception):
    """The engine failed running one task of a workflow (a script, a service task, a condition)."""

    def __init__(self, element: str, name: str, kind: str, cause: BaseException) -> None:
        super().__init__(f"{kind} {element} failed: {type(cause).__name__}: {cause}")
        self.element, self.name, self.kind, self.cause = element, name, kind, cause


def task_failure(wf: BpmnWorkflow, exc: BaseException) -> TaskFailure | None:
    """What *exc*, raised while the engine ran *wf*, says about the task that failed.

    Script and expression errors arrive as ``WorkflowTaskException`` carrying the task; a service
    operation's own exception arrives unwrapped, with its task left in the ERROR state.
    """
    task = exc.task if isinstance(exc, WorkflowTaskException) else None
    if task is None:
        for workflow in (wf, *wf.subprocesses.values()):
            task = next(iter(workflow.get_tasks(state=TaskState.ERROR)), None)
            if task is not None:
                break
    if task is None:
        return None
    spec = task.task_spec
    kind = _element_kind(spec)
    element = str(getattr(spec, "bpmn_id", None) or spec.name)
    return TaskFailure(element, str(getattr(spec, "bpmn_name", None) or element), kind, exc)


def _element_kind(spec: Any) -> str:
    """The spec's element as the diagram checks name it (a spec class is named after its BPMN
    element: ServiceTask → serviceTask → 服务任务)."""
    for cls in type(spec).__mro__:
        tag = cls.__name__[:1].lower() + cls.__name__[1:]
        if tag in ELEMENT_KINDS:
            return ELEMENT_KINDS[tag]
    return "任务"


def for_people(exc: BaseException) -> str | None:
    """The first Chinese message along the exception's chain (an application's refusal)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if not isinstance(current, WorkflowTaskException):  # its text repeats the script's source
            text = getattr(current, "message", None)
            text = text if isinstance(text, str) else str(current)
            if _CHINESE.search(text):
                return text.strip()[:300]
        current = current.__cause__ or current.__context__
    return None


def _reason(exc: BaseException) -> str:
    said = for_people(exc)
    if said:
        return said
    if isinstance(exc, WorkflowTaskException):
        line = f"，第 {exc.line_number} 行" if exc.line_number else ""
        return f"脚本或表达式出错（{exc.error_type}{line}）"
    return f"系统内部错误（{type(exc).__name__}）"


def describe(error: BaseException) -> tuple[str, str, str, str]:
    """(element, element name, the message in Chinese, the technical text) of a firing's error."""
    detail = "".join(traceback.format_exception(error))[-DETAIL_MAX:]
    if isinstance(error, TaskFailure):
        message = f"{error.kind}“{error.name}”执行失败：{_reason(error.cause)}"
        return error.element, error.name, message, detail
    return "", "", f"到期处理失败：{_reason(error)}", detail


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: timedelta = timedelta(seconds=30)
    max_retries: int = 5  # automatic retries after the first failure

    def delay(self, failures: int) -> timedelta | None:
        """How long after the *failures*-th failure the next attempt runs; None: not by itself."""
        if failures > self.max_retries:
            return None
        return self.first_delay * (1 << (failures - 1))


def open_incident(session: Session, instance_id: int) -> ProcessIncident | None:
    return session.scalar(
        select(ProcessIncident)
        .where(ProcessIncident.instance_id == instance_id, ProcessIncident.status != RESOLVED)
        .order_by(ProcessIncident.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )


def _close(incident: ProcessIncident, resolution: str) -> None:
    incident.status, incident.resolution = RESOLVED, resolution
    incident.resolved_at, incident.resolved_by = clock.now(), incident.retried_by
    incident.next_retry_at = None


@dataclass(frozen=True)
class Incidents:
    """The scheduler's incident handling: the back-off and what the application adds (notify the
    administrators once an incident waits for them, audit a resolution), in the same transaction."""

    policy: RetryPolicy = RetryPolicy()
    on_waiting: Hook | None = None
    on_resolved: Hook | None = None

    def record(self, session: Session, instance_id: int, error: BaseException, job: str) -> ProcessIncident:
        """One more failure of *instance_id*'s firing, in the caller's (fresh) transaction."""
        instance = lock_instance(session, instance_id)
        now = clock.now()
        incident = open_incident(session, instance_id)
        if incident is None:
            key = instance.process_key if instance is not None else ""
            incident = ProcessIncident(
                job=job, instance_id=instance_id, process_key=key, attempts=0, first_failed_at=now
            )
            session.add(incident)
        incident.element, incident.element_name, incident.message, incident.detail = describe(error)
        incident.attempts += 1
        incident.last_failed_at = now
        incident.retried_by = None
        delay = self.policy.delay(incident.attempts)
        incident.status = RETRYING if delay is not None else WAITING
        incident.next_retry_at = now + delay if delay is not None else None
        session.flush()
        if incident.status == WAITING and incident.notified_at is None:
            incident.notified_at = now  # once per incident, however often a retry fails again
            if self.on_waiting is not None:
                self.on_waiting(session, incident)
        return incident

    def resolve(self, session: Session, instance_id: int, resolution: str) -> ProcessIncident | None:
        """The firing succeeded (``fired``) or found the process ended (``gone``): in its transaction."""
        incident = open_incident(session, instance_id)
        if incident is None:
            return None
        _close(incident, resolution)
        if self.on_resolved is not None:
            self.on_resolved(session, incident)
        return incident


def request_retry(session: Session, incident: ProcessIncident, actor_id: int) -> None:
    """An administrator's retry: one attempt now (the lease holder hears of it through the change
    feed). An instance no longer running has nothing to retry: its incident is closed."""
    instance = lock_instance(session, incident.instance_id)
    session.refresh(incident)
    if incident.status == RESOLVED:
        return
    incident.retried_by = actor_id
    if instance is None or instance.status != "running" or instance.next_timer_at is None:
        _close(incident, "gone")
        return
    now = clock.now()
    incident.status, incident.next_retry_at = RETRYING, now
    session.add(TimerChange(instance_id=incident.instance_id, created_at=now))


def close_for_instance(session: Session, instance_id: int) -> None:
    """The instance stopped for good (cancelled): its open incident has nothing left to retry."""
    incident = open_incident(session, instance_id)
    if incident is not None:
        _close(incident, "gone")


def scheduled_at(
    due: datetime | None, status: str | None, retry_at: datetime | None, failed_at: datetime | None
) -> datetime | None:
    """When to fire an instance due at *due*, given its open incident (if any).

    Retrying: not before the back-off's next attempt. Waiting for an administrator: only a
    deadline moved past the failure (an extension) fires by itself.
    """
    if due is None or status is None:
        return due
    if status == RETRYING:
        return max(due, retry_at) if retry_at is not None else due
    return due if failed_at is not None and due > failed_at else None


# An instance whose open incident waits for an administrator and whose deadline has not moved.
HELD = and_(
    ProcessIncident.status == WAITING, ProcessInstance.next_timer_at <= ProcessIncident.last_failed_at
)


def due_dates(
    session: Session, *where: ColumnElement[bool], limit: int | None = None
) -> list[tuple[int, Any]]:
    """(instance id, when to fire it) of the running instances matching *where*, by due date."""
    query = (
        select(
            ProcessInstance.id,
            ProcessInstance.next_timer_at,
            ProcessIncident.status,
            ProcessIncident.next_retry_at,
            ProcessIncident.last_failed_at,
        )
        .outerjoin(
            ProcessIncident,
            and_(ProcessIncident.instance_id == ProcessInstance.id, ProcessIncident.status != RESOLVED),
        )
        .where(ProcessInstance.status == "running", *where)
        .order_by(ProcessInstance.next_timer_at)
        .limit(limit)
    )
    return [(row[0], scheduled_at(*row[1:])) for row in session.execute(query).all()]


NOT_HELD = or_(ProcessIncident.id.is_(None), ~HELD)
