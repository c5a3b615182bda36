"""Small BPMN documents for the loader's tests: one valid process, and what to add to break it."""

from __future__ import annotations

import re

import pytest

from workflows.definitions import ProcessDefinitionError, parse_definition
from workflows.diagram_problems import DiagramProblem

TEMPLATE = """<?xml version="1.0" encoding="{encoding}"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="t">
{defs}
  <bpmn:process id="p" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane" name="区联络员"><bpmn:flowNodeRef>work</bpmn:flowNodeRef>\
</bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start" name="开始"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:userTask id="work" name="自查上报"><bpmn:extensionElements><spiffworkflow:properties>\
<spiffworkflow:property name="formKey" value="self_report"/></spiffworkflow:properties>\
</bpmn:extensionElements></bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="{after}"/>
{body}
    <bpmn:endEvent id="end" name="结束"/>
  </bpmn:process>
</bpmn:definitions>
"""


def diagram(body: str = "", after: str = "end", defs: str = "", encoding: str = "UTF-8") -> str:
    """The valid process, with *body* before its end event and the user task's flow going to *after*."""
    return TEMPLATE.format(body=body, after=after, defs=defs, encoding=encoding)


def step(element: str, element_id: str) -> str:
    """*element* placed between the user task and the end event."""
    return f'{element}<bpmn:sequenceFlow id="f_{element_id}" sourceRef="{element_id}" targetRef="end"/>'


def script_task(script: str, element_id: str = "calc", name: str = "计算得分") -> str:
    return step(
        f'<bpmn:scriptTask id="{element_id}" name="{name}">'
        f"<bpmn:script>{script}</bpmn:script></bpmn:scriptTask>",
        element_id,
    )


def refusal(xml: str | bytes) -> ProcessDefinitionError:
    with pytest.raises(ProcessDefinitionError) as excinfo:
        parse_definition(xml.encode() if isinstance(xml, str) else xml, "p")
    return excinfo.value


CJK = re.compile(r"[\u4e00-\u9fff]")


def readable(problem: DiagramProblem, english: str = "") -> None:
    """Chinese, with what to do, and the library's English (if any) only as 技术信息."""
    assert CJK.search(problem.message) and CJK.search(problem.hint), problem
    if english:
        assert english not in problem.message + problem.hint, problem
    assert " at 0x" not in str(problem) and "b'<" not in str(problem), problem
