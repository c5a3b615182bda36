"""Every refusal of a diagram, in Chinese, with what to do: the one table of them.

The engine library (SpiffWorkflow 3.2.0), the XML parser and the BPMN schema speak English; each
of their messages that a BPMN diagram can reach is listed here with its translation. A pattern's
named groups fill the Chinese text. What the application refuses itself is in APP_MESSAGES;
the refusals of scripts and expressions are in workflows/script_messages.py, the XML parser's
and the schema's in workflows/xml_messages.py.
A message nobody listed still names the element; its original text then follows as 技术信息.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Translation(NamedTuple):
    pattern: re.Pattern[str]
    message: str
    hint: str


def translation(pattern: str, message: str, hint: str = "") -> Translation:
    return Translation(re.compile(pattern), message, hint)


_t = translation  # short, for the tables


def translate(table: tuple[Translation, ...], text: str, **values: str) -> tuple[str, str] | None:
    """(message, hint) of the first entry of *table* whose pattern is found in *text*."""
    for entry in table:
        match = entry.pattern.search(text)
        if match:
            fields = {**values, **{k: v or "" for k, v in match.groupdict().items()}}
            return entry.message.format(**fields), entry.hint.format(**fields)
    return None


REEXPORT = "请用建模工具重新导出文件后再上传"
_REF_HINT = "请在事件的属性中重新选择，或先在流程图中定义它"
_DATA_STORE_HINT = "本系统不使用数据存储：请删除它，改用流程数据"

# ValidationException texts of SpiffWorkflow's BPMN parser (bpmn/parser, spiff/parser, and the
# DMN lookup of a business rule task), after the wrapping described at WRAPPED_ERRORS.
LIBRARY_MESSAGES: tuple[Translation, ...] = (
    _t(r"Message identifier is missing from bpmn xml", "消息定义没有标识（id）", "请为这个消息填写标识"),
    _t(r"Signal identifier is missing from bpmn xml", "信号定义没有标识（id）", "请为这个信号填写标识"),
    _t(r"Error identifier is missing from bpmn xml", "错误定义没有标识（id）", "请为这个错误定义填写标识"),
    _t(
        r"Escalation identifier is missing from bpmn xml",
        "升级定义没有标识（id）",
        "请为这个升级定义填写标识",
    ),
    _t(
        r"Correlation identifier is missing from bpmn xml",
        "关联属性没有标识（id）",
        "请为这个关联属性填写标识",
    ),
    _t(
        r"Correlation is missing correlation property retrieval expressions: (?P<ref>.*)",
        "关联属性 {ref} 没有取值表达式",
        "请指定它从哪个消息的哪个字段取值，或删除这个关联属性",
    ),
    _t(
        r"Message identifier is missing from correlation property: (?P<ref>.*)",
        "关联属性 {ref} 的取值表达式没有指定消息（messageRef）",
        "请选择它对应的消息",
    ),
    _t(r"Data Store identifier is missing from bpmn xml", "数据存储没有标识（id）", _DATA_STORE_HINT),
    _t(r"Data Store name is missing from bpmn xml", "数据存储没有名称", _DATA_STORE_HINT),
    _t(
        r"Data Store with name (?P<ref>.*) has no implementation",
        "本系统没有名为“{ref}”的数据存储",
        _DATA_STORE_HINT,
    ),
    _t(
        r"Duplicate process ID: (?P<ref>.*)",
        "流程或子流程的标识 {ref} 重复",
        "每个流程、子流程的标识必须唯一：请改名其中一个",
    ),
    _t(
        r"The process '(?P<ref>.*?)' was not found\. Did you mean one of the following: (?P<known>.*)\?",
        "文件中没有标识为 {ref} 的可执行流程（文件中的可执行流程：{known}）",
        "请检查流程的标识（process 的 id）是否与系统要求的一致，并勾选“可执行”",
    ),
    _t(
        r"Could not find messageRef from message event definition",
        "消息开始事件没有引用消息",
        "请在事件的属性中选择一个消息",
    ),
    _t(
        r"There is no support implemented for this task type",
        "本系统不支持这种元素",
        "请改用用户任务、服务任务、脚本任务、子流程，或排他、并行、包容、事件网关",
    ),
    _t(
        r"Process (?P<ref>.*) is not executable",
        "流程 {ref} 没有设为可执行",
        '请在建模工具中勾选“可执行”（isExecutable="true"）',
    ),
    _t(r"No start event found", "流程没有开始事件", "请添加一个开始事件，并用顺序流连到第一个环节"),
    _t(
        r"Sequential ordering for ad hoc subprocesses not supported",
        "临时子流程不支持顺序执行",
        "请把执行顺序改为并行，或改用普通子流程",
    ),
    _t(
        r"Ad hoc subprocesses may not contain start or end events",
        "临时子流程中不能有开始事件或结束事件",
        "请删除其中的开始、结束事件",
    ),
    _t(
        r"A loopMaximum or loopCondition must be specified for Loop Tasks",
        "循环任务既没有最大循环次数，也没有循环条件",
        "请设置最大循环次数（loopMaximum）或循环条件，否则任务会无限循环",
    ),
    _t(
        r"A multiinstance task must specify a cardinality or a loop input data reference",
        "多实例任务既没有实例数量，也没有输入集合",
        "请设置实例数量（loopCardinality）或输入集合（loopDataInputRef）之一",
    ),
    _t(
        r"A multiinstance task must specify exactly one of cardinality or loop input data reference",
        "多实例任务同时设置了实例数量和输入集合",
        "请只保留实例数量（loopCardinality）或输入集合（loopDataInputRef）之一",
    ),
    _t(
        r"The loop input data reference is missing from the IO specification",
        "多实例的输入集合不在任务的数据输入中",
        "请把它加入任务的数据输入（ioSpecification），或删除任务的输入输出定义",
    ),
    _t(
        r"The loop output data reference is missing from the IO specification",
        "多实例的输出集合不在任务的数据输入输出中",
        "请把它加入任务的数据输出（ioSpecification），或删除任务的输入输出定义",
    ),
    _t(
        r"Cancel Events may only be used with transactions",
        "取消边界事件只能附着在事务子流程上",
        "请把被附着的子流程改为事务子流程，或改用其他边界事件",
    ),
    _t(
        r"Multiple outgoing flows are not supported for tasks of type",
        "这个环节有多条流出的顺序流",
        "任务和事件只能有一条流出的顺序流：请在它后面加一个排他网关或并行网关来分支",
    ),
    _t(
        r"When looking for a task spec, we found two items, perhaps a form has the same ID\? \((?P<ref>.*)\)",
        "流出的顺序流指向的元素 {ref} 不存在",
        "请把顺序流重新连到一个环节上，或删除它",
    ),
    _t(r"Conditional event definition with missing condition", "条件事件没有设置条件", "请填写条件表达式"),
    _t(r"Expected an? [Ee]rror node", "事件引用的错误定义不存在", _REF_HINT),
    _t(r"Expected an? Escalation node", "事件引用的升级定义不存在", _REF_HINT),
    _t(r"Expected an? Message node", "事件引用的消息不存在", _REF_HINT),
    _t(r"Expected an? Signal node", "事件引用的信号不存在", _REF_HINT),
    _t(
        r"Unknown Time Specification",
        "定时器没有设置时间",
        '请选择定时器类型（日期、时长或周期）并填写表达式，例如 "PT1H"',
    ),
    _t(r"Time Specification Error", "定时器定义有误", "请检查定时器的类型和表达式"),
    _t(
        r"Cannot resolve dataInputAssociation",
        "数据输入关联引用的数据对象或数据存储不存在",
        "请重新连接这条数据关联，或删除它",
    ),
    _t(
        r"Cannot resolve dataOutputAssociation",
        "数据输出关联引用的数据对象或数据存储不存在",
        "请重新连接这条数据关联，或删除它",
    ),
    _t(
        r"Non-default exclusive outgoing sequence flow without condition",
        "网关的这条流出顺序流既没有条件，也不是默认流",
        "请为它填写条件表达式，或在网关上把它设为默认流",
    ),
    _t(
        r"Exactly one start event is required in a SubWorkflow Task; found (?P<count>\w+)",
        "子流程必须恰好有一个开始事件，现在有 {count} 个",
        "请只保留一个开始事件",
    ),
    _t(
        r"A SubWorkflow Must contain an End event",
        "子流程没有结束事件",
        "请添加结束事件，并把最后一个环节连过去",
    ),
    _t(
        r'No "calledElement" attribute for Call Activity',
        "调用活动没有指定被调用的流程（calledElement）",
        "请填写被调用流程的标识",
    ),
    _t(r"Invalid Script Task\.\s+No Script Provided", "脚本任务没有脚本", "请填写脚本，或改用其他类型的任务"),
    _t(
        r"A Service Task must have an operator",
        "服务任务没有指定服务操作",
        "请在属性中选择本流程提供的服务操作（spiffworkflow:serviceTaskOperator）",
    ),
    _t(
        r"No DMN Diagram available with id",
        "本系统不支持业务规则任务（DMN 决策表）",
        "请改用脚本任务或服务任务",
    ),
)

# The library wraps any other exception raised while parsing an element as
# ValidationException(repr(exc)) (or "Time Specification Error. " + str(exc) for timers); some
# parse steps let bare exceptions through. Matched against "TypeName: message" of that exception.
WRAPPED_ERRORS: tuple[Translation, ...] = (
    _t(
        r"^(?:RecursionError|MemoryError)",
        "从开始事件起连续相连的环节或嵌套层次过多，流程图无法解析",
        "请把一部分环节放进子流程，减少连续相连的环节",
    ),
    # SpiffWorkflow 3.2.0 calls raise_validation_exception(..., node=...), which takes no node:
    # a message, signal, error or escalation reference that points at nothing becomes this TypeError.
    _t(
        r"^TypeError: .*raise_validation_exception\(\) got an unexpected keyword argument",
        "事件引用的消息、信号、错误或升级定义不存在",
        _REF_HINT,
    ),
    _t(
        r"^NotImplementedError: .*Unsupported Catch Event",
        "边界事件没有事件类型，或是本系统不支持的补偿事件",
        "请把它设为定时器、消息、信号、错误、升级或条件边界事件，或删除它",
    ),
    _t(
        r"^KeyError: .*Duplicate task spec name: (?P<ref>[^'\"]*)",
        "标识 {ref} 与另一个元素或系统生成的内部名称重复",
        "请给这个元素换一个标识",
    ),
    _t(
        r"^ValueError: invalid literal for int\(\) with base 10: (?P<value>.*)",
        "最大循环次数 {value} 不是整数",
        "请把最大循环次数（loopMaximum）填成整数",
    ),
    _t(
        r"^ValueError: could not convert string to float",
        "图形中元素的坐标不是数字",
        "请用建模工具重新保存这张图",
    ),
    _t(
        r"^KeyError: '(?P<ref>name|value|id|type)'",
        "spiffworkflow 扩展（属性、服务参数等）缺少 {ref}",
        "请在建模工具中补全这一扩展的 {ref}",
    ),
    _t(
        r"^AssertionError: Expected 1 result\. Received (?P<count>\d+) results",
        "一个应恰好出现一次的扩展元素出现了 {count} 次",
        "请检查这个元素的 spiffworkflow 扩展（如消息关联）",
    ),
)

# What the application refuses itself: key → (message, hint), filled with str.format.
APP_MESSAGES: dict[str, tuple[str, str]] = {
    "too_large": (
        "文件过大（{size} MB，上限 {limit} MB）",
        "流程图文件通常只有几十 KB：请检查是否导出了嵌入图片或大段文字，只导出本流程后重新上传",
    ),
    "too_many_elements": (
        "文件中的元素过多（约 {count} 个，上限 {limit} 个）",
        "请检查文件是否由程序生成有误，只导出本流程后重新上传",
    ),
    "doctype": (
        "文件含有 DTD 或实体定义（<!DOCTYPE …>）",
        "流程图不需要 DTD 或实体：请删除 <!DOCTYPE …> 部分",
    ),
    "declared_not_utf8": (
        "文件首行声明编码为 {declared}，但内容实际是 UTF-8，按 {declared} 读取会使中文名称变成乱码",
        '请把首行改为 <?xml version="1.0" encoding="UTF-8"?>，或在建模工具中按所声明的编码重新导出',
    ),
    "utf8_declared_gb": (
        "文件首行声明编码为 UTF-8，但内容实际是 GBK/GB18030 编码",
        '请把首行改为 <?xml version="1.0" encoding="GB18030"?>，或在建模工具中另存为 UTF-8',
    ),
    "undeclared_gb": (
        "文件是 GBK/GB18030 编码，但首行没有声明编码，会被当作 UTF-8 读取而出错",
        '请在首行写明 <?xml version="1.0" encoding="GB18030"?>，或在建模工具中另存为 UTF-8',
    ),
    "not_utf8": (
        "文件中有不是 UTF-8 编码的字节",
        '请把文件另存为 UTF-8，或在首行声明文件实际使用的编码（如 encoding="GB18030"）',
    ),
    "xml_syntax": ("XML 格式错误", REEXPORT),
    "schema": ("不符合 BPMN 2.0 规范", REEXPORT),
    "duplicate_id": ("标识 {value} 与其他元素重复", "每个元素的标识（id）必须唯一：请改名其中一个"),
    "invalid_id": (
        "标识“{value}”不合法",
        "标识须以字母、汉字或下划线开头，只能含字母、数字、汉字、-、_ 和 .，不能有空格",
    ),
    "library": ("流程图无法解析", "请检查这个元素的设置，或" + REEXPORT.removeprefix("请")),
    "process_missing": (
        "文件中没有标识为 {process} 的流程（文件中的流程：{known}）",
        "请把要使用的流程（process）的标识改为 {process}",
    ),
    "unsupported_element": (
        "本系统不支持{kind}",
        "请改用用户任务、服务任务、脚本任务、子流程，或排他、并行、包容、事件网关",
    ),
    "flow_source_missing": ("顺序流的起点 {ref} 不存在", "请把顺序流重新连到一个环节上，或删除它"),
    "flow_target_missing": ("顺序流的终点 {ref} 不存在", "请把顺序流重新连到一个环节上，或删除它"),
    "event_ref_missing": ("事件引用的{what} {ref} 不存在", _REF_HINT),
    "attached_to_missing": ("边界事件附着的环节 {ref} 不存在", "请把边界事件拖到一个任务或子流程的边框上"),
    "called_element_missing": (
        "调用活动调用的流程 {ref} 不在本文件中",
        "本系统只加载单个文件：请把被调用的流程画在同一文件中，或改用子流程",
    ),
    "flow_too_deep": (
        "从开始事件起连续相连的环节超过 {limit} 个（到这里为第 {depth} 个）",
        "请把一段连续的环节放进子流程",
    ),
    "nesting_too_deep": ("子流程嵌套超过 {limit} 层", "请减少子流程的嵌套层次"),
    "too_complex": (
        "流程图过于复杂，无法解析（连续相连的环节或嵌套层次过多）",
        "请把一部分环节放进子流程，或减少嵌套层次",
    ),
    "no_lane": ("不在任何泳道中，系统无法确定由谁办理", "请把它放进一个角色泳道（{roles}）"),
    "unknown_lane": (
        "所在泳道“{lane}”不是本系统的角色",
        "请把泳道名称改为以下之一：{roles}，或把它移到这些泳道中",
    ),
    "no_form": (
        "没有指定表单（formKey）",
        "请在它的扩展属性（spiffworkflow:properties）中添加 formKey，取值为系统已登记的表单",
    ),
    "script": ("脚本或表达式不能使用：{reason}（{excerpt}）", "{hint}"),
}


def app_message(key: str, **values: object) -> tuple[str, str]:
    message, hint = APP_MESSAGES[key]
    return message.format(**values), hint.format(**values)
