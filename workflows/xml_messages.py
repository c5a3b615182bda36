"""libxml2's refusals of a diagram, in Chinese, with what to do: a file that is not well-formed
XML, and a document that is XML but not BPMN 2.0 (the rest of a diagram's refusals are in
workflows/diagram_messages.py)."""

from __future__ import annotations

import re

from workflows.diagram_messages import REEXPORT, Translation
from workflows.diagram_messages import translation as _t

# libxml2's messages for a file that is not well-formed XML.
XML_SYNTAX_MESSAGES: tuple[Translation, ...] = (
    _t(r"Document is empty", "文件是空的，或不是 XML 文件", "请上传建模工具导出的 .bpmn 文件"),
    _t(r"Start tag expected, '<' not found", "文件不是 XML 格式", "请上传建模工具导出的 .bpmn 文件"),
    _t(
        r"Opening and ending tag mismatch: (?P<open>\S+) line (?P<line>\d+) and (?P<close>\S+)",
        "第 {line} 行的 <{open}> 与结束标签 </{close}> 不匹配",
        "文件可能被手工改坏或没有保存完整：" + REEXPORT,
    ),
    _t(
        r"Premature end of data in tag (?P<open>\S+) line (?P<line>\d+)",
        "文件在 <{open}>（第 {line} 行开始）处提前结束，内容不完整",
        "请确认文件完整，或" + REEXPORT.removeprefix("请"),
    ),
    _t(
        r"Extra content at the end of the document|EndTag: '</' not found",
        "根元素结束后还有多余内容",
        REEXPORT,
    ),
    _t(
        r"Namespace prefix (?P<prefix>\S+) (?:for \S+ )?on (?P<open>\S+) is not defined",
        "命名空间前缀 {prefix} 没有声明",
        "请在根元素上声明 xmlns:{prefix}，或" + REEXPORT.removeprefix("请"),
    ),
    _t(
        r"Unsupported encoding:? ?(?P<encoding>\S*)",
        "不支持文件声明的编码 {encoding}",
        "请把文件另存为 UTF-8（或 GBK、GB18030）",
    ),
    _t(
        r"Input is not proper UTF-8|Invalid bytes in character encoding|has UTF-8 content|Switching encoding",
        "文件中有不符合所声明编码的字节",
        '请把文件另存为 UTF-8，或在首行声明文件实际使用的编码（如 encoding="GB18030"）',
    ),
    _t(
        r"amplification|entity reference loop|[Ee]ntity.*(?:loop|depth)|external entity|PEReference|DOCTYPE"
        r"|internal subset",
        "文件含有 DTD 或实体定义（<!DOCTYPE …>）",
        "流程图不需要 DTD 或实体：请删除 <!DOCTYPE …> 部分",
    ),
    _t(r"Entity '(?P<ref>[^']+)' not defined", "文字中有未定义的实体 &{ref};", "文字中的 & 要写成 &amp;"),
    _t(r"xmlParseEntityRef: no name|EntityRef: expecting ';'", "文字中有单独的 & 符号", "请把 & 写成 &amp;"),
    _t(r"Unescaped '<' not allowed in attribute", "属性值中有未转义的 <", "请把它写成 &lt;"),
    _t(r"Attribute (?P<ref>\S+) redefined", "同一元素上属性 {ref} 出现了两次", "请删除重复的属性"),
    _t(
        r"Specification mandates value for attribute|AttValue: \" or ' expected|String not closed",
        "属性值缺少引号或没有闭合",
        '属性要写成 name="值" 的形式',
    ),
    _t(r"Couldn't find end of Start Tag (?P<open>\S+)", "标签 <{open}> 没有正确结束", REEXPORT),
    _t(
        r"Excessive depth in document",
        "元素嵌套超过 256 层",
        "流程图不会嵌套这么深：请检查文件是否生成有误",
    ),
    _t(
        r"PCDATA invalid Char value|Char 0x[0-9A-Fa-f]+ out of allowed range|invalid character in attribute",
        "文件中有 XML 不允许的控制字符",
        "请删除这些不可见字符（常见于从其他文档复制来的文字）",
    ),
    _t(r"StartTag: invalid element name|error parsing attribute name", "元素名或属性名写法有误", REEXPORT),
    _t(r"Comment not terminated", "注释没有结束（缺少 -->）", "请补上 --> 或删除这段注释"),
    _t(r"CData section not finished", "CDATA 段没有结束（缺少 ]]>）", "请补上 ]]>"),
    _t(
        r"XML declaration allowed only at the start|parsing XML declaration|Malformed declaration"
        r"|Blank needed",
        "首行的 XML 声明写法有误或不在文件开头",
        '首行应为 <?xml version="1.0" encoding="UTF-8"?>，前面不能有空行',
    ),
    _t(r"[Hh]uge|Resource limit exceeded", "文件中有超长的文字或属性", "请删除大段嵌入内容后重新导出"),
)

# libxml2's messages for a document that is XML but not BPMN 2.0 (after "Element 'x'[, attribute
# 'y']: "). {tag} is the element, {subject} the element or its attribute.
SCHEMA_MESSAGES: tuple[Translation, ...] = (
    _t(
        r"This element is not expected\. Expected is (?:one of )?\( (?P<expected>.*) \)",
        "这里不应出现 <{tag}>（此处可以是：{expected}）",
        "请删除它或移到正确的位置；其他建模工具的扩展内容应放在 extensionElements 中",
    ),
    _t(
        r"This element is not expected",
        "这里不应出现 <{tag}>",
        "请删除它或移到正确的位置；其他建模工具的扩展内容应放在 extensionElements 中",
    ),
    _t(
        r"Missing child element\(s\)\. Expected is (?:one of )?\( (?P<expected>.*) \)",
        "<{tag}> 缺少必需的子元素（{expected}）",
        "请在建模工具中补全它",
    ),
    _t(
        r"The attribute '(?P<ref>[^']+)' is not allowed",
        "<{tag}> 上不允许有属性 {ref}",
        "请删除这个属性；其他工具的扩展属性须带自己的命名空间前缀",
    ),
    _t(r"The attribute '(?P<ref>[^']+)' is required but missing", "<{tag}> 缺少必需的属性 {ref}", "请补全它"),
    _t(
        r"'(?P<value>.*)' is not a valid value of the atomic type 'xs:boolean'",
        "{subject}的值“{value}”不是 true 或 false",
        "请填写 true 或 false",
    ),
    _t(
        r"'(?P<value>.*)' is not a valid value of the atomic type 'xs:(?:QName|IDREF|NCName)'",
        "{subject}的值“{value}”不是有效的元素引用",
        "引用只能是另一个元素的标识，不能有空格",
    ),
    _t(
        r"'(?P<value>.*)' is not a valid value of the atomic type 'xs:\w*[Ii]nt\w*'",
        "{subject}的值“{value}”不是整数",
        "请填写整数",
    ),
    _t(
        r"'(?P<value>.*)' is not a valid value of the atomic type 'xs:(?:double|float|decimal)'",
        "{subject}的值“{value}”不是数字",
        "请填写数字",
    ),
    _t(
        r"\[facet 'enumeration'\] The value '(?P<value>.*)' is not an element of the set \{(?P<allowed>.*)\}",
        "{subject}的值“{value}”不在允许的取值中（{allowed}）",
        "请从允许的取值中选择",
    ),
    _t(r"'(?P<value>.*)' is not a valid value of the", "{subject}的值“{value}”格式不对", REEXPORT),
    _t(
        r"Character content other than whitespace is not allowed",
        "<{tag}> 中不能直接写文字",
        "请删除多余的文字",
    ),
    _t(r"Character or element content is not allowed", "<{tag}> 必须为空", "请删除其中的内容"),
    _t(r"Element content is not allowed", "<{tag}> 中只能写文字，不能有子元素", "请删除其中的子元素"),
    _t(
        r"No matching global declaration available for the validation root",
        "根元素 <{tag}> 不是 BPMN 2.0 的 definitions",
        "请上传 BPMN 2.0 格式的 .bpmn 文件（bpmn-js、Camunda Modeler 等工具导出的格式）",
    ),
    _t(
        r"The QName value '(?P<value>.*)' of the xsi:type attribute does not resolve",
        "xsi:type 的值“{value}”不是已知的类型",
        '条件表达式请使用 xsi:type="bpmn:tFormalExpression"',
    ),
    _t(
        r"does not match the fixed value constraint '(?P<value>.*)'",
        "{subject}的值必须是“{value}”",
        "请改成这个值",
    ),
)
# xs:ID is checked by the loader itself (a duplicate and a malformed id need different advice).
SCHEMA_ID_ERROR = re.compile(r"'(?P<value>.*)' is not a valid value of the atomic type 'xs:ID'")
