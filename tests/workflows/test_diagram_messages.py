"""Every refusal of a diagram is Chinese, names the element and says what to do.

The engine library's messages are a finite set: the table below holds each with its translation,
and a guard reads SpiffWorkflow's parser sources so that an upgrade adding one is noticed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import SpiffWorkflow
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from tests.workflows.diagrams import diagram, readable, refusal, script_task, step
from workflows.diagram_checks import library_problem
from workflows.diagram_messages import LIBRARY_MESSAGES, translate
from workflows.diagram_problems import ElementIndex

# The library's message (as SpiffWorkflow 3.2.0 raises it) → the Chinese that replaces it.
LIBRARY_TABLE = [
    ("Message identifier is missing from bpmn xml", "消息定义没有标识"),
    ("Signal identifier is missing from bpmn xml", "信号定义没有标识"),
    ("Error identifier is missing from bpmn xml", "错误定义没有标识"),
    ("Escalation identifier is missing from bpmn xml", "升级定义没有标识"),
    ("Correlation identifier is missing from bpmn xml", "关联属性没有标识"),
    ("Correlation is missing correlation property retrieval expressions: cp", "关联属性 cp 没有取值表达式"),
    ("Message identifier is missing from correlation property: cp", "没有指定消息"),
    ("Data Store identifier is missing from bpmn xml", "数据存储没有标识"),
    ("Data Store name is missing from bpmn xml", "数据存储没有名称"),
    ("Data Store with name 库 has no implementation", "没有名为“库”的数据存储"),
    ("Duplicate process ID: p", "标识 p 重复"),
    ("The process 'p' was not found. Did you mean one of the following: q?", "没有标识为 p 的可执行流程"),
    ("Could not find messageRef from message event definition: m", "没有引用消息"),
    ("There is no support implemented for this task type.", "不支持这种元素"),
    ("Process p is not executable.", "流程 p 没有设为可执行"),
    ("No start event found", "没有开始事件"),
    ("Sequential ordering for ad hoc subprocesses not supported", "临时子流程不支持顺序执行"),
    ("Ad hoc subprocesses may not contain start or end events", "不能有开始事件或结束事件"),
    ("A loopMaximum or loopCondition must be specified for Loop Tasks", "既没有最大循环次数"),
    ("A multiinstance task must specify a cardinality or a loop input data reference", "既没有实例数量"),
    (
        "A multiinstance task must specify exactly one of cardinality or loop input data reference",
        "同时设置了",
    ),
    ("The loop input data reference is missing from the IO specification", "输入集合不在"),
    ("The loop output data reference is missing from the IO specification", "输出集合不在"),
    ("Cancel Events may only be used with transactions", "只能附着在事务子流程上"),
    ("Multiple outgoing flows are not supported for tasks of type", "多条流出的顺序流"),
    (
        "When looking for a task spec, we found two items, perhaps a form has the same ID? (q_task)",
        "指向的元素 q_task 不存在",
    ),
    ("Conditional event definition with missing condition", "条件事件没有设置条件"),
    ("Expected an error node", "错误定义不存在"),
    ("Expected an Escalation node", "升级定义不存在"),
    ("Expected a Message node", "消息不存在"),
    ("Expected a Signal node", "信号不存在"),
    ("Time Specification Error. Unknown Time Specification. ", "定时器没有设置时间"),
    ("Time Specification Error. Invalid duration", "定时器定义有误"),
    ("Cannot resolve dataInputAssociation <Element {x}sourceRef at 0x7f0a1b2c3d4e>", "数据输入关联"),
    ("Cannot resolve dataOutputAssociation <Element {x}targetRef at 0x7f0a1b2c3d4e>", "数据输出关联"),
    ("Non-default exclusive outgoing sequence flow without condition", "既没有条件，也不是默认流"),
    (
        "Exactly one start event is required in a SubWorkflow Task; found 2.",
        "恰好有一个开始事件，现在有 2 个",
    ),
    ("A SubWorkflow Must contain an End event", "子流程没有结束事件"),
    ('No "calledElement" attribute for Call Activity.', "没有指定被调用的流程"),
    ("Invalid Script Task.  No Script Provided. Expected 1 result. Received 0 results.", "脚本任务没有脚本"),
    ("A Service Task must have an operator", "没有指定服务操作"),
    ('No DMN Diagram available with id "rules", Available DMN ids are: ', "不支持业务规则任务"),
]

# Exceptions the library wraps as ValidationException(repr(exc)) while parsing an element.
WRAPPED_TABLE = [
    (
        TypeError("NodeParser.raise_validation_exception() got an unexpected keyword argument 'node'"),
        "引用的消息",
    ),
    (RecursionError("maximum recursion depth exceeded"), "连续相连的环节或嵌套层次过多"),
    (
        NotImplementedError("Unsupported Catch Event: %r", b'<bpmn:boundaryEvent id="b1"/>'),
        "边界事件没有事件类型",
    ),
    (KeyError("Duplicate task spec name: work.BoundaryEventSplit"), "标识 work.BoundaryEventSplit"),
    (ValueError("invalid literal for int() with base 10: 'abc'"), "不是整数"),
    (ValueError("could not convert string to float: 'a'"), "坐标不是数字"),
    (KeyError("name"), "缺少 name"),
    (AssertionError("Expected 1 result. Received 0 results."), "出现了 0 次"),
]

DOCUMENT = etree.fromstring(
    (
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">\n'
        '<bpmn:process id="p">\n<bpmn:userTask id="work" name="自查上报"/></bpmn:process></bpmn:definitions>'
    ).encode()
)
TASK = DOCUMENT[0][0]


@pytest.mark.parametrize(("english", "chinese"), LIBRARY_TABLE, ids=[e[:40] for e, _ in LIBRARY_TABLE])
def test_library_message_is_translated_naming_the_element(english: str, chinese: str) -> None:
    problem = library_problem(
        ValidationException(english, node=TASK, file_name="x.bpmn"), ElementIndex(DOCUMENT)
    )
    assert chinese in problem.message
    readable(problem, english.split(":")[0].split(" <")[0][:30])
    assert (problem.element_id, problem.element_name, problem.line) == ("work", "自查上报", 3)
    assert "用户任务“自查上报”（work，第 3 行）" in str(problem)


@pytest.mark.parametrize(
    ("inner", "chinese"), WRAPPED_TABLE, ids=[type(e).__name__ for e, _ in WRAPPED_TABLE]
)
def test_wrapped_library_error_is_translated_without_object_dumps(inner: BaseException, chinese: str) -> None:
    try:
        try:
            raise inner
        except Exception as ex:  # what TaskParser.parse_node does
            raise ValidationException(f"{ex!r}", node=TASK, file_name="x.bpmn") from None
    except ValidationException as exc:
        exc.__context__ = inner
        problem = library_problem(exc, ElementIndex(DOCUMENT))
    assert chinese in problem.message
    readable(problem, str(inner)[:25])
    assert problem.element_id == "work"


def _source_messages() -> list[str]:
    """The first argument of every ValidationException(...) / raise_validation_exception(...) in
    SpiffWorkflow's BPMN parsers, with its placeholders filled."""
    root = Path(SpiffWorkflow.__file__).parent
    paths = [
        *root.glob("bpmn/parser/*.py"),
        *root.glob("spiff/parser/*.py"),
        root / "dmn/parser/BpmnDmnParser.py",
    ]
    messages = []
    for path in sorted(paths):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in {"ValidationException", "raise_validation_exception"}:
                sample = _filled(node.args[0])
                if sample:
                    messages.append(sample)
    return messages


def _filled(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "X" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.left, ast.Constant) and node.left.value != "%r":
        return str(node.left.value).replace("%s", "X").replace("%r", "X") + (
            "X" if isinstance(node.op, ast.Add) else ""
        )
    return None  # the schema's own message (translated by SCHEMA_MESSAGES) or "%r" % exc (WRAPPED_ERRORS)


def test_every_message_in_the_library_sources_has_a_translation() -> None:
    messages = _source_messages()
    assert len(messages) >= 40
    untranslated = [m for m in messages if translate(LIBRARY_MESSAGES, m) is None]
    assert not untranslated
    covered = {translate(LIBRARY_MESSAGES, english) for english, _ in LIBRARY_TABLE}
    assert len(covered) == len(LIBRARY_MESSAGES)  # the table above shows every entry


def test_the_library_s_type_error_for_a_dangling_message_ref_becomes_its_real_cause() -> None:
    """Past the loader's own reference check, the library's TypeError still reads as the cause."""
    body = step(
        '<bpmn:intermediateCatchEvent id="wait" name="等待通知"><bpmn:messageEventDefinition id="med" '
        'messageRef="nothing"/></bpmn:intermediateCatchEvent>',
        "wait",
    )
    root = etree.fromstring(diagram(body, after="wait").encode())
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(root, filename="x.bpmn")
    with pytest.raises(ValidationException) as excinfo:
        parser.get_spec("p")
    problem = library_problem(excinfo.value, ElementIndex(root))
    assert "引用的消息" in problem.message
    assert (problem.element_id, problem.element_name) == ("wait", "等待通知")


# A diagram drawn elsewhere → the Chinese fragment, the element id and name the refusal names.
DIAGRAM_TABLE = {
    "complex gateway": (
        step('<bpmn:complexGateway id="cg" name="复杂判断"/>', "cg"),
        "cg",
        "本系统不支持复杂网关",
        ("cg", "复杂判断"),
    ),
    "message ref to nothing": (
        step(
            '<bpmn:intermediateCatchEvent id="wait" name="等待通知"><bpmn:messageEventDefinition id="med" '
            'messageRef="nothing"/></bpmn:intermediateCatchEvent>',
            "wait",
        ),
        "wait",
        "事件引用的消息 nothing 不存在",
        ("med", None),
    ),
    "signal ref to nothing": (
        step(
            '<bpmn:intermediateThrowEvent id="sig" name="发出信号"><bpmn:signalEventDefinition id="sed" '
            'signalRef="nothing"/></bpmn:intermediateThrowEvent>',
            "sig",
        ),
        "sig",
        "事件引用的信号 nothing 不存在",
        ("sed", None),
    ),
    "two outgoing flows": (
        '<bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="end"/>',
        "end",
        "多条流出的顺序流",
        ("work", "自查上报"),
    ),
    "flow without condition": (
        step('<bpmn:exclusiveGateway id="gw" name="是否申诉"/>', "gw").replace(
            'id="f_gw"', 'id="f_gw" name="是"'
        )
        + '<bpmn:sequenceFlow id="f4" name="否" sourceRef="gw" targetRef="end"><bpmn:conditionExpression>'
        "appealed</bpmn:conditionExpression></bpmn:sequenceFlow>",
        "gw",
        "既没有条件，也不是默认流",
        ("f_gw", "是"),
    ),
    "boundary event without a type": (
        step('<bpmn:boundaryEvent id="b1" name="超时" attachedToRef="work"/>', "b1"),
        "end",
        "边界事件没有事件类型",
        ("b1", "超时"),
    ),
    "service task without operation": (
        step('<bpmn:serviceTask id="svc" name="发布结果"/>', "svc"),
        "svc",
        "没有指定服务操作",
        ("svc", "发布结果"),
    ),
    "timer without time": (
        step(
            '<bpmn:intermediateCatchEvent id="tm" name="等一天"><bpmn:timerEventDefinition id="ted"/>'
            "</bpmn:intermediateCatchEvent>",
            "tm",
        ),
        "tm",
        "定时器没有设置时间",
        ("tm", "等一天"),
    ),
    "subprocess without start": (
        step(
            '<bpmn:subProcess id="sp" name="整改子流程"><bpmn:endEvent id="sp_end"/></bpmn:subProcess>', "sp"
        ),
        "sp",
        "恰好有一个开始事件，现在有 0 个",
        ("sp", "整改子流程"),
    ),
    "call activity to another file": (
        step('<bpmn:callActivity id="ca" name="调用整改" calledElement="rectification"/>', "ca"),
        "ca",
        "调用的流程 rectification 不在本文件中",
        ("ca", "调用整改"),
    ),
    "business rule task": (
        step('<bpmn:businessRuleTask id="br" name="评分规则"/>', "br"),
        "br",
        "不支持业务规则任务",
        ("br", "评分规则"),
    ),
    "flow to nothing": ("", "nowhere", "顺序流的终点 nowhere 不存在", ("f2", None)),
    "flow into another process": ("", "q_task", "指向的元素 q_task 不存在", ("work", "自查上报")),
    "data store": (
        "",
        "end",
        "没有名为“档案库”的数据存储",
        ("ds", "档案库"),
    ),
    "message without id": ("", "end", "消息定义没有标识", (None, "整改通知")),
    "loop without limit": (
        step('<bpmn:task id="lt" name="反复核查"><bpmn:standardLoopCharacteristics/></bpmn:task>', "lt"),
        "lt",
        "既没有最大循环次数，也没有循环条件",
        ("lt", "反复核查"),
    ),
    "extension without name": ("", "end", "缺少 name", ("work", "自查上报")),
    "not executable": ("", "end", "流程 p 没有设为可执行", ("p", None)),
}
EXTRA = {
    "flow into another process": lambda xml: xml.replace(
        "</bpmn:definitions>",
        '<bpmn:process id="q" isExecutable="true"><bpmn:task id="q_task"/></bpmn:process></bpmn:definitions>',
    ),
    "data store": lambda xml: xml.replace('"t">', '"t"><bpmn:dataStore id="ds" name="档案库"/>', 1),
    "message without id": lambda xml: xml.replace('"t">', '"t"><bpmn:message name="整改通知"/>', 1),
    "extension without name": lambda xml: xml.replace('property name="formKey"', "property"),
    "not executable": lambda xml: xml.replace('isExecutable="true"', 'isExecutable="false"'),
}


@pytest.mark.parametrize("case", list(DIAGRAM_TABLE))
def test_diagram_from_another_tool_is_refused_in_chinese_naming_the_element(case: str) -> None:
    body, after, chinese, (element_id, element_name) = DIAGRAM_TABLE[case]
    xml = EXTRA.get(case, lambda x: x)(diagram(body, after=after))
    (problem,) = refusal(xml).problems
    assert chinese in problem.message
    readable(problem)
    assert (problem.element_id, problem.element_name) == (element_id, element_name)
    assert problem.line is not None


def test_schema_errors_are_all_listed_in_chinese_with_their_lines() -> None:
    xml = diagram('<bpmn:task id="t9" name="多余属性" color="red"/><bpmn:task id="work"/><bpmn:bogus/>')
    error = refusal(xml.replace('isExecutable="true"', 'isExecutable="yes"'))
    messages = [p.message for p in error.problems]
    assert messages == [
        "属性 isExecutable 的值“yes”不是 true 或 false",
        "<task> 上不允许有属性 color",
        "标识 work 与其他元素重复",
        "这里不应出现 <bogus>（此处可以是：artifact、association、group、textAnnotation、resourceRole、"
        "performer、humanPerformer、potentialOwner等）",
    ]
    assert [p.line for p in error.problems] == [6, 12, 12, 12]
    assert error.problems[1].element_name == "多余属性"
    for problem in error.problems:
        readable(problem, "not allowed")
    assert str(error).startswith("流程图有 4 处问题：\n1. 流程（p，第 6 行）：")


def test_every_lane_form_and_script_problem_is_listed_at_once() -> None:
    body = (
        step('<bpmn:userTask id="review" name="复核"/>', "review")
        + '<bpmn:sequenceFlow id="f_calc" sourceRef="calc" targetRef="end"/>'
    )
    xml = diagram(body.replace('targetRef="end"', 'targetRef="calc"', 1), after="review").replace(
        "    <bpmn:endEvent",
        '    <bpmn:scriptTask id="calc" name="计算得分"><bpmn:script>x = open("/etc/passwd")</bpmn:script>'
        "</bpmn:scriptTask>\n    <bpmn:endEvent",
    )
    error = refusal(xml.replace("区联络员", "临时工"))
    assert [(p.element_id, p.message[:6]) for p in error.problems] == [
        ("work", "所在泳道“临"),
        ("review", "不在任何泳道"),
        ("review", "没有指定表单"),
        ("calc", "脚本或表达式"),
    ]
    assert "请把它放进一个角色泳道（区联络员、核查员、复核人、考核管理员、领导）" in error.problems[1].hint
    assert "None" not in str(error)


@pytest.mark.parametrize(
    ("script", "chinese"),
    [
        ("x = （1）", "有非法字符“（”"),
        ("x = 'abc", "字符串缺少结束引号"),
        ("x = (1 + 2", "括号“(”没有闭合"),
        ("if x\n  y = 1", "缺少冒号"),
        ("x = __import__('os')", "禁止访问下划线名称 __import__"),
        ("import os", "禁止 import"),
        ("x = open('/etc/passwd')", "禁止使用 open"),
        ("x = y.f_globals", "不能访问受限属性 f_globals"),
        ("d.a += 1", "不能对属性或下标使用 += 等复合赋值"),
    ],
)
def test_script_refusal_is_chinese_with_advice_naming_the_task(script: str, chinese: str) -> None:
    (problem,) = refusal(diagram(script_task(script.replace("'", "&apos;")), after="calc")).problems
    assert chinese in problem.message
    readable(problem)
    assert (problem.element_id, problem.element_name) == ("calc", "计算得分")


def test_a_gateway_condition_is_refused_naming_its_flow() -> None:
    body = step('<bpmn:exclusiveGateway id="gw" name="是否申诉" default="f_gw"/>', "gw") + (
        '<bpmn:sequenceFlow id="f4" name="申诉" sourceRef="gw" targetRef="end"><bpmn:conditionExpression>'
        "().__class__</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )
    (problem,) = refusal(diagram(body, after="gw")).problems
    assert (problem.element_id, problem.element_name, problem.element_kind) == ("f4", "申诉", "顺序流")
    assert "下划线" in problem.message
