"""Each process has one handler, and a diagram reaches only its own process's service operations."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.processes import runtime
from app.processes.registry import Registry, ServiceOperation
from app.processes.runtime import ProcessRun, registry

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
PROCESS_ID = re.compile(r'<bpmn:process id="([a-z_]+)"')
OPERATOR = re.compile(r'serviceTaskOperator id="([a-z_]+)"')


def test_every_service_task_of_the_shipped_diagrams_has_its_operation(app) -> None:
    for path in sorted(BPMN.glob("*.bpmn")):
        text = path.read_text(encoding="utf-8")
        key = PROCESS_ID.search(text).group(1)
        handler = registry.handler(key)
        declared = {op.name for op in handler.operations}
        used = set(OPERATOR.findall(text))
        assert used <= declared, f"{path.name}: {sorted(used - declared)} have no operation"
        for op in handler.operations:
            assert op.label and op.reads, f"{key}.{op.name} is not described for the designer"


def test_a_diagram_cannot_call_another_processs_operation(app) -> None:
    with pytest.raises(LookupError, match="流程 rectification 没有名为 publish_round_results 的服务任务"):
        registry.operation("rectification", "publish_round_results")
    with pytest.raises(LookupError, match="没有名为 format_disk 的服务任务"):
        registry.operation("district_assessment", "format_disk")


def test_the_run_dispatches_by_the_calling_workflows_process(monkeypatch) -> None:
    calls = []
    own = Registry()

    class Handler:
        key, label = "inspection", "巡查流程"
        operations = (
            ServiceOperation(
                "count", "计数", {"n": "数量"}, lambda run, data: calls.append(data) or {"ok": 1}
            ),
        )

    own.register(Handler())
    task = SimpleNamespace(
        workflow=SimpleNamespace(top_workflow=SimpleNamespace(spec=SimpleNamespace(name="inspection"))),
        data={"n": 3},
    )
    run = ProcessRun.__new__(ProcessRun)  # no database needed to dispatch
    monkeypatch.setattr(runtime, "registry", own)
    assert run("count", task, {}) == {"ok": 1}
    assert calls == [{"n": 3}]


def test_two_processes_cannot_offer_the_same_operation() -> None:
    own = Registry()
    op = ServiceOperation("notify", "通知", {}, lambda run, data: {})
    own.register(SimpleNamespace(key="a", label="甲", operations=(op,)))
    with pytest.raises(ValueError, match="already offered by a"):
        own.register(SimpleNamespace(key="b", label="乙", operations=(op,)))
