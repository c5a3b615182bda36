"""Task forms of the round process: 汇总定分 by the administrator, 审定 by the leader."""

from __future__ import annotations

from typing import Any

from app.errors import ValidationFailed
from app.rounds.models import RoundResult
from app.rounds.operations import compute_results, finalise_round, record_approval, results_of
from app.tasks.context import Files, Payload, TaskContext


def preview(ctx: TaskContext) -> list[RoundResult]:
    """Every district's final result computed now from the records (not stored)."""
    return sorted(compute_results(ctx.session, ctx.round), key=lambda r: (r.rank, r.district.sort_order))


class FinaliseForm:
    form_key = "finalise"
    template = "tasks/finalise.html"
    supports_draft = False

    def context(self, ctx: TaskContext) -> dict[str, Any]:
        return {"rows": preview(ctx), "scheme": ctx.round.scheme}

    def fields(self, ctx: TaskContext) -> list[dict[str, Any]]:
        return [{"name": "confirm", "type": "boolean", "label": "确认汇总定分并提交领导审定"}]

    def parse(self, ctx: TaskContext, payload: Payload, files: Files, draft: bool) -> bool:
        if str(payload.get("confirm", "")).lower() not in ("1", "on", "true", "yes"):
            raise ValidationFailed("请勾选确认后提交", {"confirm": "请勾选确认"})
        return True

    def apply(self, ctx: TaskContext, clean: bool, draft: bool) -> dict[str, Any]:
        finalise_round(ctx.session, ctx.user.id, ctx.round)
        return {"finalised": True, "approved": False}


class ApprovalForm:
    form_key = "approval"
    template = "tasks/approval.html"
    supports_draft = False

    def context(self, ctx: TaskContext) -> dict[str, Any]:
        return {"results": results_of(ctx.session, ctx.round.id), "scheme": ctx.round.scheme}

    def fields(self, ctx: TaskContext) -> list[dict[str, Any]]:
        return [
            {"name": "decision", "type": "choice", "choices": ["approve", "return"], "label": "审定结论"},
            {"name": "comment", "type": "text", "label": "审定意见"},
        ]

    def parse(self, ctx: TaskContext, payload: Payload, files: Files, draft: bool) -> tuple[bool, str]:
        decision = payload.get("decision")
        comment = str(payload.get("comment") or "").strip()
        errors = {}
        if decision not in ("approve", "return"):
            errors["decision"] = "请选择审定通过或退回"
        if decision == "return" and not comment:
            errors["comment"] = "退回时请填写意见"
        if len(comment) > 2000:
            errors["comment"] = "意见不能超过 2000 字"
        if errors:
            raise ValidationFailed("审定内容有误", errors)
        return decision == "approve", comment

    def apply(self, ctx: TaskContext, clean: tuple[bool, str], draft: bool) -> dict[str, Any]:
        approved, comment = clean
        record_approval(ctx.session, ctx.user.id, ctx.round, approved, comment)
        return {"approved": approved}
