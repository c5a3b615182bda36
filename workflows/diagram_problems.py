"""What is wrong with a diagram, said in Chinese, naming the element and what to do.

A refused diagram raises ProcessDefinitionError carrying every problem found (``problems``), so
the designer can list them all; ``str()`` of the error is a readable Chinese summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lxml import etree

# The most problems one refusal carries; a file broken everywhere would otherwise list thousands.
MAX_PROBLEMS = 100

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

# What an element is called in the modelling tools' Chinese interfaces.
ELEMENT_KINDS: dict[str, str] = {
    "definitions": "流程定义文件",
    "process": "流程",
    "collaboration": "协作图",
    "participant": "池（参与者）",
    "laneSet": "泳道集",
    "lane": "泳道",
    "startEvent": "开始事件",
    "endEvent": "结束事件",
    "intermediateCatchEvent": "中间捕获事件",
    "intermediateThrowEvent": "中间抛出事件",
    "boundaryEvent": "边界事件",
    "task": "任务",
    "userTask": "用户任务",
    "manualTask": "人工任务",
    "scriptTask": "脚本任务",
    "serviceTask": "服务任务",
    "sendTask": "发送任务",
    "receiveTask": "接收任务",
    "businessRuleTask": "业务规则任务",
    "callActivity": "调用活动",
    "subProcess": "子流程",
    "transaction": "事务子流程",
    "adHocSubProcess": "临时子流程",
    "exclusiveGateway": "排他网关",
    "parallelGateway": "并行网关",
    "inclusiveGateway": "包容网关",
    "eventBasedGateway": "事件网关",
    "complexGateway": "复杂网关",
    "sequenceFlow": "顺序流",
    "messageFlow": "消息流",
    "message": "消息",
    "signal": "信号",
    "error": "错误定义",
    "escalation": "升级定义",
    "dataObject": "数据对象",
    "dataObjectReference": "数据对象引用",
    "dataStore": "数据存储",
    "dataStoreReference": "数据存储引用",
    "correlationProperty": "关联属性",
    "textAnnotation": "文本注释",
    "association": "关联线",
    "timerEventDefinition": "定时器定义",
    "messageEventDefinition": "消息事件定义",
    "signalEventDefinition": "信号事件定义",
    "errorEventDefinition": "错误事件定义",
    "escalationEventDefinition": "升级事件定义",
    "conditionalEventDefinition": "条件事件定义",
}


def local_name(tag: str) -> str:
    """``{namespace}userTask`` or ``bpmn:userTask`` → ``userTask``."""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def element_kind(tag: str) -> str:
    name = local_name(tag)
    return ELEMENT_KINDS.get(name, f"元素 <{name}>")


@dataclass(frozen=True)
class DiagramProblem:
    """One thing to fix: what is wrong (``message``) and what to do (``hint``), and where."""

    message: str
    hint: str = ""
    element_id: str | None = None
    element_name: str | None = None
    element_kind: str | None = None
    line: int | None = None
    # The library's or parser's own words, shown after the Chinese text for whoever debugs it.
    technical: str = ""

    @property
    def where(self) -> str:
        """``用户任务“自查上报”（self_report，第 12 行）``; as much of it as is known."""
        label = self.element_kind or ""
        if self.element_name:
            label += f"“{self.element_name}”"
        details = [part for part in (self.element_id, f"第 {self.line} 行" if self.line else None) if part]
        if details and label:
            label += f"（{'，'.join(details)}）"
        return label or "，".join(details)

    def __str__(self) -> str:
        text = f"{self.where}：{self.message}" if self.where else self.message
        if self.hint:
            text += f"。{self.hint}"
        if self.technical:
            text += f"（技术信息：{self.technical[:300]}）"
        return text


class ProcessDefinitionError(ValueError):
    """A diagram that cannot be used; ``problems`` lists everything found wrong with it."""

    def __init__(self, problems: str | DiagramProblem | Sequence[DiagramProblem]) -> None:
        if isinstance(problems, str):
            problems = [DiagramProblem(problems)]
        elif isinstance(problems, DiagramProblem):
            problems = [problems]
        # The same problem found twice (one element, two of the library's specs) is listed once.
        problems = list(dict.fromkeys(problems))
        listed = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            listed.append(
                DiagramProblem(f"另有 {len(problems) - MAX_PROBLEMS} 处问题未列出", "请先改正以上问题")
            )
        self.problems: list[DiagramProblem] = listed
        super().__init__(self.summary())

    def summary(self) -> str:
        if len(self.problems) == 1:
            return f"流程图不能使用：{self.problems[0]}"
        lines = "\n".join(f"{number}. {problem}" for number, problem in enumerate(self.problems, 1))
        return f"流程图有 {len(self.problems)} 处问题：\n{lines}"


def _line(element: etree._Element) -> int | None:
    line = element.sourceline
    return line if isinstance(line, int) else None


class ElementIndex:
    """The elements of one parsed document by id, to name them in problems."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.by_id: dict[str, etree._Element] = {}
        for element in root.iter(etree.Element):
            element_id = element.get("id")
            if element_id is not None:
                self.by_id.setdefault(element_id, element)

    def problem(
        self,
        message: str,
        hint: str = "",
        element: etree._Element | str | None = None,
        technical: str = "",
        line: int | None = None,
    ) -> DiagramProblem:
        """A problem located at *element* (an element or an id), or at *line* when it has no id."""
        if isinstance(element, str):
            found = self.by_id.get(element)
            if found is None:
                return DiagramProblem(message, hint, element_id=element, line=line, technical=technical)
            element = found
        if element is None:
            return DiagramProblem(message, hint, line=line, technical=technical)
        named = element if element.get("name") else self.nearest_with_id(element)
        return DiagramProblem(
            message,
            hint,
            element_id=named.get("id"),
            element_name=named.get("name") or None,
            element_kind=element_kind(named.tag),
            line=line or _line(element),
            technical=technical,
        )

    @staticmethod
    def nearest_with_id(element: etree._Element) -> etree._Element:
        """The element itself, or the closest ancestor that has an id (what the person can click)."""
        current: etree._Element | None = element
        while current is not None:
            if current.get("id") is not None:
                return current
            current = current.getparent()
        return element

    def first(self, tags: Iterable[str], without_id: bool = False) -> etree._Element | None:
        """The first BPMN element with one of *tags* (local names), optionally one without an id."""
        wanted = {f"{{{BPMN_NS}}}{tag}" for tag in tags}
        for element in self.root.iter(*wanted):
            if not without_id or element.get("id") is None:
                return element
        return None
