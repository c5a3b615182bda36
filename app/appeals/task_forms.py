"""Task forms of the appeal stage: the district confirms or appeals; a reviewer decides."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.appeals.models import DECISION_LABELS, Appeal
from app.appeals.operations import (
    Adjustment,
    appealable,
    appeals_of,
    close_review,
    confirm_results,
    decide_appeal,
    file_appeal,
)
from app.errors import Forbidden, ValidationFailed
from app.evidence.operations import PendingEvidence, attach, discard, evidence_of, store_uploads
from app.scoring.fact_forms import FactInput, describe_fields, occurrence_rows, parse_indicator, prefill
from app.scoring.outcomes import fact_values
from app.scoring.scores import AssessmentScores, indicator_rules, load_scores
from app.scoring.task_forms import IndicatorRow, preview_score
from app.tasks.context import Files, Payload, TaskContext


@dataclass
class ConfirmationInput:
    appeals: list[tuple[Adjustment, str, list[PendingEvidence]]] = field(default_factory=list)


def _scores(ctx: TaskContext) -> AssessmentScores:
    assert ctx.assessment is not None
    return load_scores(ctx.session, ctx.round, ctx.assessment.id)


class ConfirmationForm:
    form_key = "result_confirmation"
    template = "tasks/result_confirmation.html"
    supports_draft = False

    def context(self, ctx: TaskContext) -> dict[str, Any]:
        assert ctx.assessment is not None
        scores = _scores(ctx)
        return {
            "scores": scores,
            "adjustments": appealable(scores),
            "evidence": evidence_of(ctx.session, ctx.assessment.id),
            "scheme": ctx.round.scheme,
        }

    def fields(self, ctx: TaskContext) -> list[dict[str, Any]]:
        fields: list[dict[str, Any]] = [
            {"name": "decision", "type": "choice", "choices": ["accept", "appeal"], "label": "确认或申诉"}
        ]
        for adjustment in appealable(_scores(ctx)):
            rid, code = adjustment.revision.id, adjustment.revision.indicator.code
            fields.append(
                {
                    "name": f"appeal_{rid}",
                    "type": "boolean",
                    "label": f"申诉 {code} 核查失分 {adjustment.lost}",
                }
            )
            fields.append({"name": f"appeal_reason_{rid}", "type": "text", "label": "申诉理由"})
            fields.append({"name": f"appeal_evidence_{rid}", "type": "files", "label": "申诉佐证"})
        return fields

    def parse(self, ctx: TaskContext, payload: Payload, files: Files, draft: bool) -> ConfirmationInput:
        decision = payload.get("decision")
        if decision not in ("accept", "appeal"):
            raise ValidationFailed("请选择确认结果或提出申诉", {"decision": "请选择"})
        if decision == "accept":
            return ConfirmationInput()
        errors: dict[str, str] = {}
        chosen: list[tuple[Adjustment, str]] = []
        for adjustment in appealable(_scores(ctx)):
            rid, name = adjustment.revision.id, adjustment.revision.indicator.name
            if str(payload.get(f"appeal_{rid}", "")).lower() not in ("1", "on", "true", "yes"):
                continue
            reason = str(payload.get(f"appeal_reason_{rid}") or "").strip()
            if not reason:
                errors[f"appeal_reason_{rid}"] = f"{name}：请填写申诉理由"
            elif len(reason) > 2000:
                errors[f"appeal_reason_{rid}"] = "申诉理由不能超过 2000 字"
            chosen.append((adjustment, reason))
        if not chosen and not errors:
            errors["decision"] = "提出申诉时至少选择一项核查调整"
        if errors:
            raise ValidationFailed("申诉内容有误，请按提示修改", errors)
        result = ConfirmationInput()
        try:
            for adjustment, reason in chosen:
                key = f"appeal_evidence_{adjustment.revision.id}"
                pending = store_uploads(
                    ctx.uploads, key, files.get(key, []), adjustment.revision.indicator_id
                )
                result.appeals.append((adjustment, reason, pending))
        except ValidationFailed:
            for _adjustment, _reason, pending in result.appeals:
                discard(ctx.uploads, pending)
            raise
        return result

    def apply(self, ctx: TaskContext, clean: ConfirmationInput, draft: bool) -> dict[str, Any]:
        assert ctx.assessment is not None
        if not clean.appeals:
            confirm_results(ctx.session, ctx.user.id, ctx.assessment)
            return {"appealed": False}
        for adjustment, reason, pending in clean.appeals:
            appeal = file_appeal(ctx.session, ctx.user.id, ctx.assessment, adjustment, reason)
            attach(ctx.session, ctx.user.id, ctx.assessment, "appeal", pending, appeal_id=appeal.id)
        return {"appealed": True}


@dataclass
class Decision:
    appeal: Appeal
    decision: str
    facts: list[FactInput] | None
    withdrawn: Decimal
    reason: str


def _copy(fact: Any) -> FactInput:
    """A stored fact's content, to be recorded again (an upheld appeal restores the self-report)."""
    return FactInput(**fact_values(fact))


class AppealReviewForm:
    form_key = "appeal_review"
    template = "tasks/appeal_review.html"
    supports_draft = False

    def _pending(self, ctx: TaskContext) -> list[Appeal]:
        assert ctx.assessment is not None
        return [a for a in appeals_of(ctx.session, ctx.assessment.id) if a.decision == "pending"]

    def context(self, ctx: TaskContext) -> dict[str, Any]:
        assert ctx.assessment is not None
        scores = _scores(ctx)
        items = []
        for appeal in self._pending(ctx):
            indicator = appeal.revision.indicator
            rules = indicator_rules(indicator)
            verified = scores.facts_at("verified", indicator.id)
            items.append(
                {
                    "appeal": appeal,
                    "indicator": indicator,
                    "rules": rules,
                    "self_facts": scores.facts_at("self", indicator.id),
                    "verify_facts": verified,
                    "self_score": scores.leaf("self", indicator.code).score,
                    "verified_score": scores.leaf("verified", indicator.code).score,
                    "values": prefill(rules, verified),
                    "occurrence_rows": occurrence_rows(verified),
                }
            )
        return {
            "items": items,
            "evidence": evidence_of(ctx.session, ctx.assessment.id),
            "scores": scores,
            "decisions": DECISION_LABELS,
            "scheme": ctx.round.scheme,
        }

    def fields(self, ctx: TaskContext) -> list[dict[str, Any]]:
        fields: list[dict[str, Any]] = []
        for appeal in self._pending(ctx):
            indicator = appeal.revision.indicator
            fields.append(
                {
                    "name": f"decision_{appeal.id}",
                    "type": "choice",
                    "choices": ["upheld", "partly", "rejected"],
                    "label": "复核结论",
                }
            )
            fields.append({"name": f"decision_reason_{appeal.id}", "type": "text", "label": "复核理由"})
            fields += describe_fields(indicator_rules(indicator), f"部分成立时 {indicator.code} 复核后的事实")
        return fields

    def parse(self, ctx: TaskContext, payload: Payload, files: Files, draft: bool) -> list[Decision]:
        pending = self._pending(ctx)
        if any(a.revision.recorded_by == ctx.user.id for a in pending):
            raise Forbidden("您是被申诉事项的核查人，按回避规定不能复核")
        scores = _scores(ctx)
        errors: dict[str, str] = {}
        decisions = []
        for appeal in pending:
            indicator = appeal.revision.indicator
            decision = payload.get(f"decision_{appeal.id}")
            reason = str(payload.get(f"decision_reason_{appeal.id}") or "").strip()
            if decision not in ("upheld", "partly", "rejected"):
                errors[f"decision_{appeal.id}"] = f"{indicator.name}：请选择复核结论"
                continue
            if not reason:
                errors[f"decision_reason_{appeal.id}"] = f"{indicator.name}：请填写复核理由"
            self_score = scores.leaf("self", indicator.code).score
            verified_score = scores.leaf("verified", indicator.code).score
            facts: list[FactInput] | None = None
            if decision == "upheld":
                facts = [_copy(f) for f in scores.facts_at("self", indicator.id)]
            elif decision == "partly":
                rules = indicator_rules(indicator)
                parsed = parse_indicator(rules, indicator.name, payload)
                errors.update(parsed.errors)
                facts = parsed.facts
                row = IndicatorRow(indicator, indicator, rules)
                score = preview_score(ctx, row, facts).score if not parsed.errors else verified_score
                if not parsed.errors and not verified_score < score < self_score:
                    errors[f"decision_{appeal.id}"] = (
                        f"{indicator.name}：部分成立时复核后的得分须高于核查分 {verified_score}、"
                        f"低于自评分 {self_score}（按所填事实为 {score}）"
                    )
            new_score = {"upheld": self_score, "rejected": verified_score}.get(decision)
            if decision == "partly" and facts is not None and not errors:
                new_score = preview_score(
                    ctx, IndicatorRow(indicator, indicator, indicator_rules(indicator)), facts
                ).score
            withdrawn = (new_score or verified_score) - verified_score
            decisions.append(Decision(appeal, decision, facts, withdrawn, reason))
        if errors:
            raise ValidationFailed("复核内容有误，请按提示修改", errors)
        return decisions

    def apply(self, ctx: TaskContext, clean: list[Decision], draft: bool) -> dict[str, Any]:
        assert ctx.assessment is not None
        for d in clean:
            decide_appeal(
                ctx.session, ctx.user.id, ctx.assessment, d.appeal, d.decision, d.facts, d.withdrawn, d.reason
            )
        if not draft:
            close_review(ctx.session, ctx.user.id, ctx.assessment)
        return {"reviewed": True}
