"""Parse, cache and run BPMN process definitions with the restricted script engine."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from workflows.calendar import WorkCalendar
from workflows.deadlines import script_functions
from workflows.restricted import RestrictedEnvironment, UnsafeScriptError, check_source, iter_spec_sources

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


class ProcessDefinitionError(ValueError):
    """A diagram that cannot be used: invalid BPMN, unsafe script, unknown lane."""


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


class AssessmentScriptEngine(PythonScriptEngine):
    """Restricted script engine whose service tasks call back into the application."""

    def __init__(self, services: ServiceHandler | None = None, calendar: WorkCalendar | None = None) -> None:
        super().__init__(environment=RestrictedEnvironment(script_functions(calendar)))
        self.services = services

    def call_service(
        self, task: Any, operation_name: str = "", operation_params: Any = None, **_: Any
    ) -> str:
        if self.services is None:
            raise RuntimeError(f"服务任务 {operation_name} 没有可用的处理程序")
        params = {name: p.get("value") for name, p in (operation_params or {}).items()}
        return json.dumps(self.services(operation_name, task, params), ensure_ascii=False, default=str)


def parse_definition(xml: bytes, process_key: str, filename: str = "<upload>") -> ProcessDefinition:
    """Parse and validate one BPMN document; refuse unsafe scripts and unknown lanes."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(etree.fromstring(xml), filename=filename)
        spec = parser.get_spec(process_key)
        subprocess_specs = parser.get_subprocess_specs(process_key)
    except ValidationException as exc:
        raise ProcessDefinitionError(f"流程图校验失败：{exc}") from exc
    except (etree.XMLSyntaxError, KeyError) as exc:
        raise ProcessDefinitionError(f"流程图无法解析：{exc}") from exc
    except Exception as exc:  # SpiffWorkflow raises bare exceptions for several parse faults
        raise ProcessDefinitionError(f"流程图无法解析：{exc}") from exc
    all_specs = [spec, *subprocess_specs.values()]
    user_tasks: dict[str, dict[str, Any]] = {}
    for process_spec in all_specs:
        try:
            for element, source, mode in iter_spec_sources(process_spec.task_specs.values()):
                check_source(element, source, mode)
        except UnsafeScriptError as exc:
            raise ProcessDefinitionError(str(exc)) from exc
        for task_spec in process_spec.task_specs.values():
            if not getattr(task_spec, "manual", False):
                continue
            lane = task_spec.lane
            if lane not in LANE_ROLES:
                raise ProcessDefinitionError(
                    f"流程元素 {task_spec.bpmn_id} 所在泳道“{lane}”不是已知角色（{'、'.join(LANE_ROLES)}）"
                )
            properties = task_spec.extensions.get("properties", {})
            if "formKey" not in properties:
                raise ProcessDefinitionError(f"用户任务 {task_spec.bpmn_id} 没有指定表单（formKey）")
            user_tasks[task_spec.bpmn_id] = {
                "name": task_spec.bpmn_name or task_spec.bpmn_id,
                "lane": lane,
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
        return self.serializer.serialize_json(wf)

    def loads(self, state: str, services: ServiceHandler | None) -> BpmnWorkflow:
        wf = self.serializer.deserialize_json(state)
        # The script engine is not serialized: without this the default, unrestricted one runs.
        wf.script_engine = AssessmentScriptEngine(services, self.calendar_for(services))
        return wf

    def calendar_for(self, services: ServiceHandler | None) -> WorkCalendar | None:
        """A service handler bound to a transaction may carry that transaction's calendar."""
        return getattr(services, "calendar", None) or self.calendar
