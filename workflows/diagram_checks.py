"""Checks of a diagram beyond the schema: references, depth, lanes, forms, scripts; and the
engine library's refusals, translated.

SpiffWorkflow stops at the first problem it meets, and some of its messages hide the cause (a
message reference to nothing becomes a TypeError). What can be checked on the XML is checked
here first, everywhere in the document, so that every such problem is listed at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from workflows.diagram_messages import LIBRARY_MESSAGES, WRAPPED_ERRORS, app_message, translate
from workflows.diagram_problems import BPMN_NS, DiagramProblem, ElementIndex, element_kind, local_name
from workflows.restricted import UnsafeScriptError, check_source, iter_spec_sources

# How many elements may follow each other from a start event. SpiffWorkflow parses a process by
# recursing from each element into the next (about two frames each); 200 leaves room under
# Python's limit of 1000 for a web request's own frames.
MAX_FLOW_DEPTH = 200
MAX_SUBPROCESS_NESTING = 20

_FLOW_NODES = frozenset(
    {
        "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
        "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
        "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
        "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
    }
)  # fmt: skip
_UNSUPPORTED_NODES = frozenset(
    {"complexGateway", "implicitThrowEvent", "choreographyTask", "callChoreography", "subChoreography"}
)
_CONTAINERS = ("process", "subProcess", "transaction", "adHocSubProcess")
# Event definition attribute → (the element it must name, its Chinese name).
_EVENT_REFS = {
    "messageRef": ("message", "消息"),
    "signalRef": ("signal", "信号"),
    "errorRef": ("error", "错误定义"),
    "escalationRef": ("escalation", "升级定义"),
}


def _bpmn(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def _ref(value: str | None) -> str:
    """A QName reference without its prefix (``bpmn:Message_1`` → ``Message_1``)."""
    return (value or "").rsplit(":", 1)[-1]


def structure_problems(index: ElementIndex, process_key: str) -> list[DiagramProblem]:
    """Problems the library would meet one at a time, or hide, found all at once."""
    processes = list(index.root.iter(_bpmn("process")))
    problems: list[DiagramProblem] = []
    if not any(process.get("id") == process_key for process in processes):
        known = "、".join(p.get("id") or "？" for p in processes) or "无"
        problems.append(index.problem(*app_message("process_missing", process=process_key, known=known)))
    problems.extend(_reference_problems(index, {p.get("id") for p in processes}))
    for container in index.root.iter(*(_bpmn(tag) for tag in _CONTAINERS)):
        problems.extend(_unsupported_problems(index, container))
        problems.extend(_depth_problems(index, container))
    return problems


def _reference_problems(index: ElementIndex, process_ids: set[str | None]) -> Iterator[DiagramProblem]:
    for flow in index.root.iter(_bpmn("sequenceFlow")):
        for attribute, key in (("sourceRef", "flow_source_missing"), ("targetRef", "flow_target_missing")):
            if _ref(flow.get(attribute)) not in index.by_id:
                yield index.problem(*app_message(key, ref=flow.get(attribute) or "（空）"), flow)
    for element in index.root.iter(etree.Element):
        for attribute, (tag, what) in _EVENT_REFS.items():
            value = element.get(attribute)
            if value is None or not local_name(element.tag).endswith(("EventDefinition", "Task")):
                continue
            target = index.by_id.get(_ref(value))
            if target is None or local_name(target.tag) != tag:
                yield index.problem(*app_message("event_ref_missing", what=what, ref=value), element)
    for event in index.root.iter(_bpmn("boundaryEvent")):
        if _ref(event.get("attachedToRef")) not in index.by_id:
            yield index.problem(
                *app_message("attached_to_missing", ref=event.get("attachedToRef") or "（空）"), event
            )
    for call in index.root.iter(_bpmn("callActivity")):
        called = call.get("calledElement")
        if called and called not in process_ids:
            yield index.problem(*app_message("called_element_missing", ref=called), call)


def _unsupported_problems(index: ElementIndex, container: etree._Element) -> Iterator[DiagramProblem]:
    for child in container.iterchildren(etree.Element):
        if local_name(child.tag) in _UNSUPPORTED_NODES:
            yield index.problem(*app_message("unsupported_element", kind=element_kind(child.tag)), child)
    nesting = sum(1 for parent in container.iterancestors() if local_name(parent.tag) in _CONTAINERS)
    if nesting == MAX_SUBPROCESS_NESTING:
        yield index.problem(*app_message("nesting_too_deep", limit=MAX_SUBPROCESS_NESTING), container)


def _depth_problems(index: ElementIndex, container: etree._Element) -> Iterator[DiagramProblem]:
    """Follow the flows from the start events in the order SpiffWorkflow parses them, without
    recursion, and refuse the first element reached deeper than MAX_FLOW_DEPTH."""
    next_ids: dict[str, list[str]] = {}
    for child in container.iterchildren(_bpmn("boundaryEvent")):
        next_ids.setdefault(_ref(child.get("attachedToRef")), []).append(child.get("id") or "")
    for child in container.iterchildren(_bpmn("sequenceFlow")):
        next_ids.setdefault(_ref(child.get("sourceRef")), []).append(_ref(child.get("targetRef")))
    seen: set[str] = set()
    for start in container.iterchildren(*(_bpmn(tag) for tag in _FLOW_NODES)):
        start_id = start.get("id") or ""
        if start_id in seen or (
            local_name(container.tag) != "adHocSubProcess" and local_name(start.tag) != "startEvent"
        ):
            continue
        seen.add(start_id)
        stack: list[Iterator[str]] = [iter(next_ids.get(start_id, []))]
        while stack:
            following = next(stack[-1], None)
            if following is None:
                stack.pop()
            elif following not in seen:
                seen.add(following)
                if len(stack) + 1 > MAX_FLOW_DEPTH:
                    message = app_message("flow_too_deep", limit=MAX_FLOW_DEPTH, depth=len(stack) + 1)
                    yield index.problem(*message, following)
                    return
                stack.append(iter(next_ids.get(following, [])))


# An lxml element's repr, as some of the library's messages print it.
_ADDRESS = re.compile(r"<Element (?:\{[^}]*\})?(\S+) at 0x[0-9a-f]+>")


def library_problem(exc: BaseException, index: ElementIndex) -> DiagramProblem:
    """SpiffWorkflow's refusal, in Chinese, naming the element the exception carries."""
    text = str(exc.args[0]) if exc.args else ""
    cause = exc.__context__
    inner: BaseException | None = exc
    if isinstance(exc, ValidationException):
        # The library turns any other exception raised while parsing an element into
        # ValidationException(repr(exc)), or "Time Specification Error. " + str(exc) for timers.
        wrapped = cause is not None and (text == repr(cause) or text.startswith("Time Specification Error"))
        inner = cause if wrapped else None
    found = None
    original = text = _ADDRESS.sub(r"<\1>", text)
    if inner is not None:
        detail = str(inner.args[0]) if inner.args else ""
        text = f"{type(inner).__name__}: {detail}"  # not str(inner): it may hold a whole element
        found = translate(WRAPPED_ERRORS, f"{type(inner).__name__}: {inner}")
    found = found or translate(LIBRARY_MESSAGES, text) or translate(LIBRARY_MESSAGES, original)
    found = found or app_message("library")
    element: etree._Element | str | None = getattr(exc, "id", None) or _element_without_id(index, text)
    return index.problem(*found, element, technical=text)


def _element_without_id(index: ElementIndex, text: str) -> etree._Element | None:
    """The element a message about a missing identifier means (the library passes no node)."""
    for word, tag in (
        ("Message identifier is missing from bpmn", "message"),
        ("Signal identifier", "signal"),
        ("Error identifier", "error"),
        ("Escalation identifier", "escalation"),
        ("Correlation identifier", "correlationProperty"),
        ("Data Store", "dataStore"),
    ):
        if word in text:
            return index.first([tag], without_id=tag != "dataStore")
    return None


def spec_problems(
    specs: Iterable[Any], index: ElementIndex, lane_roles: Mapping[str, object]
) -> list[DiagramProblem]:
    """The application's own refusals of parsed processes: lanes, forms and scripts."""
    roles = "、".join(lane_roles)
    problems: list[DiagramProblem] = []
    for process_spec in specs:
        for task_spec in process_spec.task_specs.values():
            problems.extend(_script_problems(task_spec, index))
            if not getattr(task_spec, "manual", False):
                continue
            bpmn_id = task_spec.bpmn_id
            if task_spec.lane is None:
                problems.append(index.problem(*app_message("no_lane", roles=roles), bpmn_id))
            elif task_spec.lane not in lane_roles:
                problems.append(
                    index.problem(*app_message("unknown_lane", lane=task_spec.lane, roles=roles), bpmn_id)
                )
            if "formKey" not in task_spec.extensions.get("properties", {}):
                problems.append(index.problem(*app_message("no_form"), bpmn_id))
    return problems


def _script_problems(task_spec: Any, index: ElementIndex) -> Iterator[DiagramProblem]:
    for element_id, source, mode in iter_spec_sources([task_spec]):
        try:
            check_source(element_id, source, mode)
        except UnsafeScriptError as exc:
            excerpt = " ".join(source.split())[:80]
            message = app_message("script", reason=exc.reason, excerpt=excerpt, hint=exc.hint)
            yield index.problem(*message, _script_element(index, element_id, source), technical=exc.technical)


def _script_element(index: ElementIndex, element_id: str, source: str) -> etree._Element | str:
    """A gateway's condition is written on one of its outgoing flows: name that flow."""
    for flow in index.root.iter(_bpmn("sequenceFlow")):
        if flow.get("sourceRef") == element_id:
            for expression in flow.iter(_bpmn("conditionExpression")):
                if (expression.text or "").strip() == source.strip():
                    return flow
    return element_id
