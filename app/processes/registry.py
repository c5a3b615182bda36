"""Which processes the application runs and the service operations each offers.

Every process has one handler, in the area that owns it, registered by its process key: the
handler keeps the area's records in step with the engine after each run, and declares the service
operations its diagrams may call (``spiffworkflow:serviceTaskOperator``) with the process data
they read. Adding a process adds a handler module and registers it; no switch changes. The
process designer lists the operations from here.

This module only stores and looks up: what a handler and an operation are called with (``RunT``,
the runtime's ``ProcessRun``) is a type parameter, bound where the application's registry is
created (``app.processes.runtime.registry``), so the runtime imports the registry and not the
other way round.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from app.tasks.models import TaskRecord
from workflows.definitions import ProcessDefinition
from workflows.store import ProcessInstance

RunT = TypeVar("RunT")  # the run operations and handlers are called with (ProcessRun)


@dataclass(frozen=True)
class ServiceOperation(Generic[RunT]):
    """A service task's operation: what it does (Chinese, for administrators), the process data it
    reads, and the function that runs it in the transaction of the click or timer."""

    name: str
    label: str
    reads: Mapping[str, str]  # process variable → what it is
    run: Callable[[RunT, dict[str, Any]], dict[str, Any]]


class ProcessHandler(Protocol[RunT]):
    # Read-only members: a handler may declare them as plain class attributes, and its operations
    # as a tuple of any length.
    @property
    def key(self) -> str:
        """The BPMN process id."""

    @property
    def label(self) -> str: ...

    @property
    def operations(self) -> tuple[ServiceOperation[RunT], ...]: ...

    def after_step(
        self,
        run: RunT,
        instance: ProcessInstance,
        wf: BpmnWorkflow,
        definition: ProcessDefinition,
        completed_by: int | None,
    ) -> list[TaskRecord]:
        """Bring the area's records in step with the saved instance; return the tasks that opened."""


@dataclass
class Registry(Generic[RunT]):
    handlers: dict[str, ProcessHandler[RunT]] = field(default_factory=dict)
    operations: dict[str, tuple[str, ServiceOperation[RunT]]] = field(default_factory=dict)

    def register(self, handler: ProcessHandler[RunT]) -> None:
        if handler.key in self.handlers and self.handlers[handler.key] is not handler:
            raise ValueError(f"process {handler.key} already has a handler")
        self.handlers[handler.key] = handler
        for operation in handler.operations:
            owner = self.operations.get(operation.name)
            if owner is not None and owner[0] != handler.key:
                raise ValueError(f"service operation {operation.name} is already offered by {owner[0]}")
            self.operations[operation.name] = (handler.key, operation)

    def handler(self, key: str) -> ProcessHandler[RunT]:
        found = self.handlers.get(key)
        if found is None:
            raise LookupError(f"流程 {key} 没有注册处理程序")
        return found

    def operation(self, process_key: str, name: str) -> ServiceOperation[RunT]:
        """The operation a diagram of *process_key* calls; another process's operations are refused."""
        found = self.operations.get(name)
        if found is None or found[0] != process_key:
            raise LookupError(f"流程 {process_key} 没有名为 {name} 的服务任务")
        return found[1]
