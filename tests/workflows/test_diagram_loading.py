"""The loader never crashes: hostile or huge XML, deep expressions, long chains and foreign
encodings are refused quickly, in Chinese, or load as their authors meant."""

from __future__ import annotations

import re
import time

import pytest

from tests.workflows.diagrams import diagram, readable, refusal, script_task
from workflows import definitions, diagram_checks, diagram_xml, restricted
from workflows.definitions import ProcessDefinitionError, parse_definition
from workflows.diagram_xml import MAX_DIAGRAM_BYTES, read_diagram
from workflows.restricted import UnsafeScriptError, check_source

DOCTYPE_REFUSAL = "文件含有 DTD 或实体定义"
PASSWD_ENTITY = '<!DOCTYPE bpmn:definitions [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
LAUGHS = (
    '<!DOCTYPE bpmn:definitions [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + "]>\n"
)


def _with_prolog(prolog: str, name: str = "自查上报") -> str:
    return diagram().replace("<bpmn:definitions", prolog + "<bpmn:definitions", 1).replace("自查上报", name)


@pytest.mark.parametrize(
    "xml",
    [
        _with_prolog(PASSWD_ENTITY, "&secret;"),
        _with_prolog("<!-- <a> -->\n" + PASSWD_ENTITY, "&secret;"),  # the DOCTYPE past a decoy tag
        _with_prolog(LAUGHS, "&lol9;"),
        _with_prolog('<!DOCTYPE bpmn:definitions SYSTEM "http://127.0.0.1:9/bpmn.dtd">\n'),
        _with_prolog('<!DOCTYPE bpmn:definitions [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n'),
    ],
    ids=["xxe-file", "xxe-after-comment", "billion-laughs", "external-dtd", "parameter-entity"],
)
def test_doctype_and_entities_are_refused_before_anything_is_read(xml: str) -> None:
    started = time.perf_counter()
    (problem,) = refusal(xml).problems
    assert time.perf_counter() - started < 0.5
    assert DOCTYPE_REFUSAL in problem.message
    assert "root:" not in str(problem)
    readable(problem)


def test_a_doctype_in_utf16_is_refused_too() -> None:
    xml = _with_prolog(PASSWD_ENTITY, "&secret;").replace("UTF-8", "UTF-16").encode("utf-16")
    (problem,) = refusal(xml).problems
    assert DOCTYPE_REFUSAL in problem.message


def test_a_50_mb_diagram_is_refused_by_its_size_before_parsing() -> None:
    padding = "<bpmn:documentation>" + "说明" * (25 * 1024 * 1024 // 3) + "</bpmn:documentation>"
    xml = diagram().replace("<bpmn:startEvent", padding + "<bpmn:startEvent", 1).encode()
    assert len(xml) > 50 * 1024 * 1024
    started = time.perf_counter()
    (problem,) = refusal(xml).problems
    assert time.perf_counter() - started < 0.5
    assert (
        problem.message == f"文件过大（{len(xml) / 1048576:.1f} MB，上限 {MAX_DIAGRAM_BYTES // 1048576} MB）"
    )


def test_too_many_elements_are_refused_before_parsing() -> None:
    xml = diagram().replace("<bpmn:startEvent", "<bpmn:documentation/>" * 30_000 + "<bpmn:startEvent", 1)
    started = time.perf_counter()
    (problem,) = refusal(xml).problems
    assert time.perf_counter() - started < 0.5
    assert "元素过多" in problem.message


def _line_of(text: str, xml: str) -> int:
    return next(number for number, line in enumerate(xml.splitlines(), 1) if text in line)


def test_deep_nesting_and_broken_xml_are_refused_with_the_line() -> None:
    (deep,) = refusal("<a>" * 300 + "</a>" * 300).problems
    assert deep.message == "元素嵌套超过 256 层"
    broken_xml = diagram().replace("</bpmn:process>", "")
    (broken,) = refusal(broken_xml).problems
    assert broken.line == _line_of("</bpmn:definitions>", broken_xml)
    assert (
        broken.message
        == f"第 {_line_of('<bpmn:process', broken_xml)} 行的 <process> 与结束标签 </definitions> 不匹配"
    )
    ampersand_xml = diagram().replace("自查上报", "自查 & 上报")
    (ampersand,) = refusal(ampersand_xml).problems
    assert (ampersand.line, ampersand.hint) == (_line_of("&", ampersand_xml), "请把 & 写成 &amp;")
    for problem in (deep, broken, ampersand):
        readable(problem)


def test_past_the_doctype_scan_the_parser_still_reads_no_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parser is configured explicitly: an entity stays a reference, never the file's contents."""
    monkeypatch.setattr(diagram_xml, "_ROOT_START", re.compile(rb"\A"))  # as if the scan missed it
    documented = "<bpmn:documentation>&secret;</bpmn:documentation><bpmn:startEvent"
    xml = _with_prolog(PASSWD_ENTITY).replace("<bpmn:startEvent", documented, 1)
    with pytest.raises(ProcessDefinitionError) as excinfo:
        read_diagram(xml.encode())
    assert DOCTYPE_REFUSAL in str(excinfo.value)
    assert "root:" not in str(excinfo.value)
    assert read_diagram(diagram().encode()).getroottree().docinfo.doctype == ""


@pytest.mark.parametrize("encoding", ["GBK", "GB18030", "gb2312"])
def test_gbk_and_gb18030_diagrams_load_when_declared(encoding: str) -> None:
    xml = diagram(encoding=encoding).encode("gb18030")
    definition = parse_definition(xml, "p")
    assert definition.user_tasks["work"]["name"] == "自查上报"
    assert definition.user_tasks["work"]["lane"] == "区联络员"


@pytest.mark.parametrize("declared", ["ISO-8859-1", "windows-1252", "GBK"])
def test_utf8_bytes_declared_as_another_encoding_are_refused(declared: str) -> None:
    (problem,) = refusal(diagram(encoding=declared).encode("utf-8")).problems
    assert problem.message.startswith(f"文件首行声明编码为 {declared}，但内容实际是 UTF-8")
    assert 'encoding="UTF-8"' in problem.hint


def test_gbk_bytes_without_a_declaration_are_refused_with_the_line() -> None:
    text = diagram().replace('<?xml version="1.0" encoding="UTF-8"?>\n', "")
    (problem,) = refusal(text.encode("gbk")).problems
    assert (
        problem.line == _line_of("区联络员", text)
        and "GBK/GB18030" in problem.message
        and "GB18030" in problem.hint
    )


def test_a_real_latin1_diagram_still_loads() -> None:
    xml = diagram(encoding="ISO-8859-1")
    for chinese in ("区联络员", "开始", "结束"):
        xml = xml.replace(chinese, "".join(f"&#{ord(c)};" for c in chinese))
    definition = parse_definition(xml.replace("自查上报", "Café").encode("latin-1"), "p")
    assert definition.user_tasks["work"]["name"] == "Café"


def test_an_unknown_encoding_is_refused_in_chinese() -> None:
    (problem,) = refusal(diagram(encoding="x-unknown").encode()).problems
    assert problem.message == "不支持文件声明的编码 x-unknown"


@pytest.mark.parametrize(
    "script",
    [
        "x = " + "-" * 300 + "1",
        "x = " + "not " * 300 + "a",
        "x = " + " + ".join(["a"] * 500),
        "x = " + "-" * 10_000 + "1",  # MemoryError in Python's own parser
        "x = " + "[" * 120 + "]" * 120,
        "x = 1\n" * 5_000,
    ],
    ids=["minus", "not", "plus", "parser-memory", "brackets", "too-long"],
)
def test_deep_or_huge_scripts_are_refused_naming_the_task(script: str) -> None:
    started = time.perf_counter()
    (problem,) = refusal(diagram(script_task(script), after="calc")).problems
    assert time.perf_counter() - started < 0.5
    assert "表达式嵌套过深" in problem.message or "脚本过长" in problem.message
    assert (problem.element_id, problem.element_name) == ("calc", "计算得分")
    readable(problem)


def test_check_source_turns_recursion_in_restricted_python_into_a_refusal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(restricted, "MAX_SCRIPT_DEPTH", 100_000)
    with pytest.raises(UnsafeScriptError) as excinfo:
        check_source("calc", "x = " + "-" * 900 + "1", "exec")
    assert "嵌套过深" in excinfo.value.reason


def _chain(length: int) -> str:
    tasks = "".join(
        f'<bpmn:scriptTask id="t{i}" name="第{i}步"><bpmn:script>x = {i}</bpmn:script></bpmn:scriptTask>'
        f'<bpmn:sequenceFlow id="c{i}" sourceRef="t{i}" targetRef="{f"t{i + 1}" if i < length else "end"}"/>'
        for i in range(1, length + 1)
    )
    return diagram(tasks, after="t1")


def test_a_chain_of_500_tasks_is_refused_quickly_in_chinese() -> None:
    started = time.perf_counter()
    (problem,) = refusal(_chain(500)).problems
    assert time.perf_counter() - started < 1
    assert problem.message == "从开始事件起连续相连的环节超过 200 个（到这里为第 201 个）"
    assert (problem.element_id, problem.element_name) == ("t199", "第199步")
    readable(problem)


def test_a_chain_of_190_tasks_loads() -> None:
    assert len(parse_definition(_chain(190).encode(), "p").spec.task_specs) > 190


def test_the_library_s_own_recursion_error_is_a_refusal_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diagram_checks, "MAX_FLOW_DEPTH", 100_000)
    (problem,) = refusal(_chain(600)).problems
    assert "连续相连的环节或嵌套层次过多" in problem.message
    readable(problem, "RecursionError")


def test_memory_or_recursion_errors_anywhere_in_loading_are_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    def exhausted(xml: bytes) -> None:
        raise MemoryError

    monkeypatch.setattr(definitions, "read_diagram", exhausted)
    (problem,) = refusal(diagram()).problems
    assert "过于复杂" in problem.message


def test_the_shipped_diagrams_still_load() -> None:
    library = definitions.ProcessLibrary(definitions.Path(__file__).resolve().parents[2] / "bpmn")
    for key in ("district_assessment", "round_assessment", "rectification"):
        assert library.current_file(key).user_tasks


def test_subprocesses_nested_too_deep_are_refused() -> None:
    nested = '<bpmn:subProcess id="s0" name="第0层"><bpmn:startEvent id="s0_start"/>'
    for level in range(1, 25):
        nested += f'<bpmn:subProcess id="s{level}" name="第{level}层"><bpmn:startEvent id="s{level}_start"/>'
    nested += "</bpmn:subProcess>" * 25
    (problem,) = refusal(diagram(nested)).problems
    assert problem.message == "子流程嵌套超过 20 层"
    assert (problem.element_id, problem.element_name) == ("s19", "第19层")


def test_one_problem_of_a_multi_instance_task_is_listed_once() -> None:
    loop = "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>3</bpmn:loopCardinality>"
    xml = diagram().replace(
        "</bpmn:extensionElements></bpmn:userTask>",
        f"</bpmn:extensionElements>{loop}</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>",
    )
    (problem,) = refusal(xml.replace("formKey", "form")).problems
    assert "formKey" in problem.message
