"""Running processes for the application: the service-task dispatcher handed to the engine, and
the one step every run ends with (save the instance, let its handler update the area's records,
plan reminders for the tasks that opened).

A ``ProcessRun`` is bound to one transaction and to the user (or timer: None) acting; every click,
deadline firing, issue and extension creates one and passes it to the engine.

``registry`` is the application's registry of process handlers, whose operations and handlers
are called with a ``ProcessRun`` (app/processes/registry.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from app.calendar.operations import calendar_for
from app.deadlines.reminders import plan_for_opened
from app.processes import store
from app.processes.registry import Registry
from workflows.calendar import WorkCalendar
from workflows.definitions import ProcessDefinition
from workflows.store import ProcessInstance

registry: Registry[ProcessRun] = Registry()  # filled by create_app (app.register_process_handlers)


@dataclass
class ProcessRun:
    session: Session
    actor_id: int | None
    # Deadlines computed in this transaction count working days with the current corrections.
    calendar: WorkCalendar = field(init=False)

    def __post_init__(self) -> None:
        self.calendar = calendar_for(self.session)

    def __call__(self, operation_name: str, task: Any, params: dict[str, Any]) -> Any:
        """The engine's service-task callback: the operation of the task's own process."""
        process_key = task.workflow.top_workflow.spec.name
        return registry.operation(process_key, operation_name).run(self, task.data)

    def load(self, instance_id: int) -> tuple[ProcessInstance, BpmnWorkflow, ProcessDefinition]:
        return store().load(self.session, instance_id, self)

    def start(
        self, definition: ProcessDefinition, data: dict[str, Any]
    ) -> tuple[ProcessInstance, BpmnWorkflow]:
        """Create and run a new instance up to its first wait, then take the step after it."""
        instance, wf = store().create(self.session, definition, data, self)
        self.step_done(instance, wf, definition)
        return instance, wf

    def step_done(
        self,
        instance: ProcessInstance,
        wf: BpmnWorkflow,
        definition: ProcessDefinition,
        completed_by: int | None = None,
    ) -> None:
        """Save the instance (version-checked), then its handler updates the area's records.

        Everything the step changed is written by one flush at its end (the save and the
        projection do not flush on their own): each row once, however many of them changed it
        (a task the click claims and completes, an assessment that records the submission and
        moves its stage). A concurrent save of the instance raises StaleDataError here."""
        store().save(self.session, instance, wf)
        opened = registry.handler(definition.key).after_step(self, instance, wf, definition, completed_by)
        plan_for_opened(self.session, wf.task_tree.data["round_id"], opened)
        self.session.flush()


def ready_elements(wf: BpmnWorkflow) -> set[str]:
    """The BPMN ids of the user tasks open now (what a handler reads a process's stage from)."""
    return {t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.READY, manual=True)}
