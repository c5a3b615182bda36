"""A process whose one step is a script, for the tests and the benchmark of script safety: started
right away, or after a timer (a scheduler's firing runs the script); and the runaway scripts that
must stop within the budget."""

from __future__ import annotations

from xml.sax.saxutils import escape

PAST = '"2000-01-01T00:00:00+08:00"'  # a timer already due
FUTURE = '"2999-01-01T00:00:00+08:00"'  # a timer that waits

TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>{first}</bpmn:outgoing></bpmn:startEvent>
{before}
    <bpmn:scriptTask id="script" name="计算">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="script" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""
STRAIGHT = """    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="script" />"""
TIMED = """    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="wait" />
    <bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDate>{due}</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="wait" targetRef="script" />"""

RUNAWAYS = {
    "loop": "while True:\n    pass",
    "big_power": "x = 9 ** 9 ** 9",
    "ljust": "x = 'x'.ljust(10 ** 10)",
    "fstring_width": "x = f\"{'':>{10 ** 10}}\"",
    "big_list": "x = [0] * 10 ** 9",
    "percent_width": "x = '%10000000000d' % 1",
}


def script_process(script: str) -> bytes:
    """Start → the script → end."""
    return TEMPLATE.format(first="f1", before=STRAIGHT, script=escape(script)).encode()


def timed_script_process(script: str, due: str = PAST) -> bytes:
    """Start → a timer (*due*, a quoted ISO datetime) → the script → end."""
    return TEMPLATE.format(first="f0", before=TIMED.format(due=due), script=escape(script)).encode()
