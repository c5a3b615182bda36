"""The round's coordinating process (bpmn/round_assessment.bpmn): 汇总定分, 审定 and publication.
Its handler keeps the round's status in step with the open step."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from app.notices.requesting import enqueue_results
from app.processes import ROUND_PROCESS
from app.processes.registry import ServiceOperation
from app.processes.runtime import ProcessRun, ready_elements
from app.rectification.operations import order_rectifications
from app.rounds.models import Round
from app.rounds.operations import publish_round
from app.tasks.models import TaskRecord
from app.tasks.projection import TaskScope, sync_tasks
from workflows.definitions import ProcessDefinition
from workflows.store import ProcessInstance

STATUS_BY_ELEMENT = {"finalise": "finalising", "approval": "approving"}


def _round(run: ProcessRun, data: dict[str, Any]) -> Round:
    round_ = run.session.get(Round, data["round_id"])
    assert round_ is not None
    return round_


def publish_round_results(run: ProcessRun, data: dict[str, Any]) -> dict[str, Any]:
    round_ = _round(run, data)
    publish_round(run.session, run.actor_id, round_)
    # The circular and every district's letter are generated in the background (a large round
    # takes minutes); the round page shows their progress.
    enqueue_results(run.session, run.actor_id, round_)
    order_rectifications(run, round_)
    return {"published": True}


class RoundProcess:
    key = ROUND_PROCESS
    label = "轮次汇总流程"
    operations = (
        ServiceOperation(
            "publish_round_results",
            "发布结果：发布本轮结果，后台生成通报与各区告知书，下达整改",
            {"round_id": "考核轮次"},
            publish_round_results,
        ),
    )

    def after_step(
        self,
        run: ProcessRun,
        instance: ProcessInstance,
        wf: BpmnWorkflow,
        definition: ProcessDefinition,
        completed_by: int | None,
    ) -> list[TaskRecord]:
        round_ = _round(run, wf.task_tree.data)
        opened = sync_tasks(run.session, instance, wf, definition, TaskScope(round_.id), completed_by)
        ready = ready_elements(wf)
        for element, status in STATUS_BY_ELEMENT.items():
            if element in ready and round_.status not in ("published", "cancelled"):
                round_.status = status
        return opened


HANDLER = RoundProcess()
