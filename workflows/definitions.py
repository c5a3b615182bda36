"""Parse, cache and run BPMN process definitions with the restricted script engine."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from workflows.calendar import WorkCalendar
from workflows.deadlines import script_functions
from workflows.diagram_checks import library_problem, spec_problems, structure_problems
from workflows.diagram_messages import app_message
from workflows.diagram_problems import DiagramProblem, ElementIndex
from workflows.diagram_problems import ProcessDefinitionError as ProcessDefinitionError  # its old home
from workflows.diagram_xml import read_diagram, schema_problems
from workflows.restricted import RestrictedEnvironment

# Lane names in the diagrams are the roles that may work the tasks in them.
# A reviewer lane is open to administrators and to inspectors (with 回避 checked by the app).
LANE_ROLES: dict[str, frozenset[str]] = {
    "区联络员": frozenset({"liaison"}),
    "核查员": frozenset({"inspector"}),
    "复核人": frozenset({"admin", "inspector"}),
    "考核管理员": frozenset({"admin"}),
    "领导": frozenset({"leader"}),
}
DISTRICT_LANES = frozenset({"区联络员"})

ServiceHandler = Callable[[str, Any, dict[str, Any]], Any]


@dataclass(frozen=True)
class ProcessDefinition:
    key: str
    version: str
    name: str
    xml: bytes
    spec: Any
    subprocess_specs: dict[str, Any]
    user_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)


def definition_version(xml: bytes) -> str:
    return hashlib.sha256(xml).hexdigest()[:16]


# SpiffWorkflow ships no types, so its base class is Any to mypy.
class AssessmentScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """Restricted script engine whose service tasks call back into the application."""

    def __init__(self, services: ServiceHandler | None = None, calendar: WorkCalendar | None = None) -> None:
        super().__init__(environment=RestrictedEnvironment(script_functions(calendar), calendar))
        self.services = services

    def call_service(
        self, task: Any, operation_name: str = "", operation_params: Any = None, **_: Any
    ) -> str:
        if self.services is None:
            raise RuntimeError(f"服务任务 {operation_name} 没有可用的处理程序")
        params = {name: p.get("value") for name, p in (operation_params or {}).items()}
        return json.dumps(self.services(operation_name, task, params), ensure_ascii=False, default=str)


def parse_definition(xml: bytes, process_key: str, filename: str = "<upload>") -> ProcessDefinition:
    """Parse and validate one BPMN document.

    A refusal is a ProcessDefinitionError whose ``problems`` list, in Chinese, every problem found
    at the stage that failed (the XML, the schema, references, the engine's parse, then lanes,
    forms and scripts), each naming its element; nothing escapes as another exception.
    """
    try:
        return _parse_definition(xml, process_key, filename)
    except (RecursionError, MemoryError):
        raise ProcessDefinitionError(DiagramProblem(*app_message("too_complex"))) from None


def _parse_definition(xml: bytes, process_key: str, filename: str) -> ProcessDefinition:
    root = read_diagram(xml)
    index = ElementIndex(root)
    problems = schema_problems(root, index) or structure_problems(index, process_key)
    if problems:
        raise ProcessDefinitionError(problems)
    parser = SpiffBpmnParser()  # no validator: schema_problems has listed every schema error already
    try:
        parser.add_bpmn_xml(root, filename=filename)
        spec = parser.get_spec(process_key)
        subprocess_specs = parser.get_subprocess_specs(process_key)
    except Exception as exc:  # ValidationException, and bare exceptions for several parse faults
        raise ProcessDefinitionError(library_problem(exc, index)) from exc
    all_specs = [spec, *subprocess_specs.values()]
    problems = spec_problems(all_specs, index, LANE_ROLES)
    if problems:
        raise ProcessDefinitionError(problems)
    user_tasks: dict[str, dict[str, Any]] = {}
    for process_spec in all_specs:
        for task_spec in process_spec.task_specs.values():
            if getattr(task_spec, "manual", False):
                properties = task_spec.extensions["properties"]
                user_tasks[task_spec.bpmn_id] = {
                    "name": task_spec.bpmn_name or task_spec.bpmn_id,
                    "lane": task_spec.lane,
                    "form_key": properties["formKey"],
                    "stage": properties.get("stage"),
                }
    return ProcessDefinition(
        key=process_key,
        version=definition_version(xml),
        name=getattr(spec, "description", None) or process_key,
        xml=xml,
        spec=spec,
        subprocess_specs=subprocess_specs,
        user_tasks=user_tasks,
    )


class ProcessLibrary:
    """The process definitions an installation runs, parsed once per version."""

    def __init__(self, bpmn_dir: Path, calendar: WorkCalendar | None = None) -> None:
        self.bpmn_dir = bpmn_dir
        self.calendar = calendar
        self._by_version: dict[tuple[str, str], ProcessDefinition] = {}
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))

    def current_file(self, key: str) -> ProcessDefinition:
        """The definition in ``bpmn/<key>.bpmn`` as it is on disk now."""
        xml = (self.bpmn_dir / f"{key}.bpmn").read_bytes()
        return self.register(key, xml, filename=f"{key}.bpmn")

    def register(self, key: str, xml: bytes, filename: str = "<db>") -> ProcessDefinition:
        version = definition_version(xml)
        cached = self._by_version.get((key, version))
        if cached is None:
            cached = parse_definition(xml, key, filename)
            self._by_version[(key, version)] = cached
        return cached

    def get(self, key: str, version: str) -> ProcessDefinition | None:
        return self._by_version.get((key, version))

    def new_workflow(
        self, definition: ProcessDefinition, data: dict[str, Any], services: ServiceHandler | None
    ) -> BpmnWorkflow:
        wf = BpmnWorkflow(definition.spec, definition.subprocess_specs)
        wf.script_engine = AssessmentScriptEngine(services, self.calendar_for(services))
        wf.task_tree.set_data(**data)
        wf.do_engine_steps()
        return wf

    def dumps(self, wf: BpmnWorkflow) -> str:
        state = self.serializer.serialize_json(wf)
        if not isinstance(state, str):
            raise TypeError(f"the workflow serializer returned {type(state).__name__}, not JSON text")
        return state

    def loads(self, state: str, services: ServiceHandler | None) -> BpmnWorkflow:
        wf = self.serializer.deserialize_json(state)
        # The script engine is not serialized: without this the default, unrestricted one runs.
        wf.script_engine = AssessmentScriptEngine(services, self.calendar_for(services))
        return wf

    def calendar_for(self, services: ServiceHandler | None) -> WorkCalendar | None:
        """A service handler bound to a transaction may carry that transaction's calendar."""
        return getattr(services, "calendar", None) or self.calendar
