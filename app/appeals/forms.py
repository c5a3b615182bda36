"""Task forms of the appeal stage: the district confirms or appeals; a reviewer decides."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from app.appeals.models import DECISION_LABELS, Appeal
from app.appeals.operations import (
    appealable_adjustments,
    appeals_of,
    confirm_results,
    decide_appeal,
    file_appeal,
)
from app.errors import Forbidden, ValidationFailed
from app.evidence.operations import PendingEvidence, attach, discard, evidence_of, store_uploads
from app.scoring.calculator import compute
from app.scoring.models import ScoreEntry
from app.scoring.operations import entries_for
from app.tasks.context import Files, Payload, TaskContext


@dataclass
class ConfirmationInput:
    appeals: list[tuple[ScoreEntry, str, list[PendingEvidence]]] = field(default_factory=list)


class ConfirmationForm:
    form_key = "result_confirmation"
    template = "tasks/result_confirmation.html"
    supports_draft = False

    def context(self, ctx: TaskContext) -> dict[str, Any]:
        assert ctx.assessment is not None
        entries = entries_for(ctx.session, ctx.assessment.id)
        return {
            "scores": compute(ctx.round.scheme, entries),
            "adjustments": appealable_adjustments(ctx.session, ctx.assessment.id),
            "evidence": evidence_of(ctx.session, ctx.assessment.id),
            "scheme": ctx.round.scheme,
        }

    def fields(self, ctx: TaskContext) -> list[dict[str, Any]]:
        assert ctx.assessment is not None
        fields: list[dict[str, Any]] = [
            {"name": "decision", "type": "choice", "choices": ["accept", "appeal"], "label": "确认或申诉"}
        ]
        for entry in appealable_adjustments(ctx.session, ctx.assessment.id):
            fields.append(
                {
                    "name": f"appeal_{entry.id}",
                    "type": "boolean",
                    "label": f"申诉 {entry.indicator.code} 扣 {entry.amount} 分",
                }
            )
            fields.append({"name": f"appeal_reason_{entry.id}", "type": "text", "label": "申诉理由"})
            fields.append({"name": f"appeal_evidence_{entry.id}", "type": "files", "label": "申诉佐证"})
        return fields

    def parse(self, ctx: TaskContext, payload: Payload, files: Files, draft: bool) -> ConfirmationInput:
        assert ctx.assessment is not None
        decision = payload.get("decision")
        if decision not in ("accept", "appeal"):
            raise ValidationFailed("请选择确认结果或提出申诉", {"decision": "请选择"})
        if decision == "accept":
            return ConfirmationInput()
        errors: dict[str, str] = {}
        chosen: list[tuple[ScoreEntry, str]] = []
        for entry in appealable_adjustments(ctx.session, ctx.assessment.id):
            if str(payload.get(f"appeal_{entry.id}", "")).lower() not in ("1", "on", "true", "yes"):
                continue
            reason = str(payload.get(f"appeal_reason_{entry.id}") or "").strip()
            if not reason:
                errors[f"appeal_reason_{entry.id}"] = f"{entry.indicator.name}：请填写申诉理由"
            elif len(reason) > 2000:
                errors[f"appeal_reason_{entry.id}"] = "申诉理由不能超过 2000 字"
            chosen.append((entry, reason))
        if not chosen and not errors:
            errors["decision"] = "提出申诉时至少选择一项核查扣分"
        if errors:
            raise ValidationFailed("申诉内容有误，请按提示修改", errors)
        result = ConfirmationInput()
        try:
            for entry, reason in chosen:
                key = f"appeal_evidence_{entry.id}"
                pending = store_uploads(ctx.uploads, key, files.get(key, []), entry.indicator_id)
                result.appeals.append((entry, reason, pending))
        except ValidationFailed:
            for _entry, _reason, pending in result.appeals:
                discard(ctx.uploads, pending)
            raise
        return result

    def apply(self, ctx: TaskContext, clean: ConfirmationInput, draft: bool) -> dict[str, Any]:
        assert ctx.assessment is not None
        if not clean.appeals:
            confirm_results(ctx.session, ctx.user.id, ctx.assessment)
            return {"appealed": False}
        for entry, reason, pending in clean.appeals:
            appeal = file_appeal(ctx.session, ctx.user.id, ctx.assessment, entry, reason)
            attach(ctx.session, ctx.user.id, ctx.assessment, "appeal", pending, appeal_id=appeal.id)
        return {"appealed": True}


class AppealReviewForm:
    form_key = "appeal_review"
    template = "tasks/appeal_review.html"
    supports_draft = False

    def context(self, ctx: TaskContext) -> dict[str, Any]:
        assert ctx.assessment is not None
        return {
            "appeals": [a for a in appeals_of(ctx.session, ctx.assessment.id) if a.decision == "pending"],
            "evidence": evidence_of(ctx.session, ctx.assessment.id),
            "scores": compute(ctx.round.scheme, entries_for(ctx.session, ctx.assessment.id)),
            "decisions": DECISION_LABELS,
            "scheme": ctx.round.scheme,
        }

    def fields(self, ctx: TaskContext) -> list[dict[str, Any]]:
        fields: list[dict[str, Any]] = []
        for appeal in self.context(ctx)["appeals"]:
            fields.append(
                {
                    "name": f"decision_{appeal.id}",
                    "type": "choice",
                    "choices": ["upheld", "partly", "rejected"],
                    "label": "复核结论",
                }
            )
            fields.append(
                {"name": f"withdrawn_{appeal.id}", "type": "decimal", "label": "部分成立时撤销的扣分"}
            )
            fields.append({"name": f"decision_reason_{appeal.id}", "type": "text", "label": "复核理由"})
        return fields

    def parse(
        self, ctx: TaskContext, payload: Payload, files: Files, draft: bool
    ) -> list[tuple[Appeal, str, Decimal, str]]:
        assert ctx.assessment is not None
        pending = [a for a in appeals_of(ctx.session, ctx.assessment.id) if a.decision == "pending"]
        if any(a.adjustment.recorded_by == ctx.user.id for a in pending):
            raise Forbidden("您是被申诉事项的核查人，按回避规定不能复核")
        errors: dict[str, str] = {}
        decisions = []
        for appeal in pending:
            decision = payload.get(f"decision_{appeal.id}")
            reason = str(payload.get(f"decision_reason_{appeal.id}") or "").strip()
            amount = appeal.adjustment.amount
            withdrawn = Decimal(0)
            if decision not in ("upheld", "partly", "rejected"):
                errors[f"decision_{appeal.id}"] = f"{appeal.adjustment.indicator.name}：请选择复核结论"
                continue
            if not reason:
                errors[f"decision_reason_{appeal.id}"] = f"{appeal.adjustment.indicator.name}：请填写复核理由"
            if decision == "upheld":
                withdrawn = amount
            elif decision == "partly":
                try:
                    withdrawn = Decimal(str(payload.get(f"withdrawn_{appeal.id}") or "").strip())
                except InvalidOperation:
                    withdrawn = Decimal(-1)
                if not (withdrawn.is_finite() and 0 < withdrawn < amount) or withdrawn != withdrawn.quantize(
                    Decimal("0.01")
                ):
                    errors[f"withdrawn_{appeal.id}"] = (
                        f"部分成立时撤销的扣分须大于 0 且小于 {amount}，最多两位小数"
                    )
            decisions.append((appeal, decision, withdrawn, reason))
        if errors:
            raise ValidationFailed("复核内容有误，请按提示修改", errors)
        return decisions

    def apply(
        self, ctx: TaskContext, clean: list[tuple[Appeal, str, Decimal, str]], draft: bool
    ) -> dict[str, Any]:
        assert ctx.assessment is not None
        for appeal, decision, withdrawn, reason in clean:
            decide_appeal(ctx.session, ctx.user.id, ctx.assessment, appeal, decision, withdrawn, reason)
        return {"reviewed": True}
