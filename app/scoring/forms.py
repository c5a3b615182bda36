"""Task forms that record deductions: the district's self-report and the inspector's verification."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.errors import ValidationFailed
from app.evidence.operations import PendingEvidence, attach, discard, evidence_of, store_uploads
from app.schemes.models import Indicator
from app.scoring.calculator import compute
from app.scoring.operations import (
    IndicatorValues,
    entries_for,
    lost_by_indicator,
    parse_points,
    save_self_report,
    save_verification,
)
from app.tasks.context import Files, Payload, TaskContext

MAX_REASON = 1000


@dataclass
class DeductionInput:
    values: IndicatorValues
    evidence: list[PendingEvidence] = field(default_factory=list)


def _indicator_rows(ctx: TaskContext) -> list[dict[str, Any]]:
    """The scored leaf indicators with their first-level group, in scheme order."""
    scheme = ctx.round.scheme
    by_id = {i.id: i for i in scheme.indicators}

    def top(indicator: Indicator) -> Indicator:
        while indicator.parent_id is not None:
            indicator = by_id[indicator.parent_id]
        return indicator

    return [{"indicator": i, "group": top(i)} for i in scheme.scored_leaves]


def _parse_values(ctx: TaskContext, payload: Payload, files: Files, reason_rule: Any) -> DeductionInput:
    errors: dict[str, str] = {}
    values: IndicatorValues = {}
    for row in _indicator_rows(ctx):
        indicator: Indicator = row["indicator"]
        key = indicator.code
        try:
            amount = parse_points(payload.get(f"lost_{key}"), indicator.max_points)
        except ValueError as exc:
            errors[f"lost_{key}"] = f"{indicator.name}：扣分{exc}"
            continue
        reason = str(payload.get(f"reason_{key}") or "").strip()
        if len(reason) > MAX_REASON:
            errors[f"reason_{key}"] = f"{indicator.name}：说明不能超过 {MAX_REASON} 字"
        problem = reason_rule(indicator, amount, reason)
        if problem:
            errors[f"reason_{key}"] = f"{indicator.name}：{problem}"
        values[indicator.id] = (amount, reason)
    if errors:
        raise ValidationFailed("提交内容有误，请按提示修改", errors)
    pending: list[PendingEvidence] = []
    try:
        for row in _indicator_rows(ctx):
            indicator = row["indicator"]
            pending += store_uploads(
                ctx.uploads,
                f"evidence_{indicator.code}",
                files.get(f"evidence_{indicator.code}", []),
                indicator.id,
            )
    except ValidationFailed:
        discard(ctx.uploads, pending)
        raise
    return DeductionInput(values, pending)


def _evidence_by_indicator(ctx: TaskContext) -> dict[int | None, list[Any]]:
    grouped: dict[int | None, list[Any]] = defaultdict(list)
    assert ctx.assessment is not None
    for evidence in evidence_of(ctx.session, ctx.assessment.id):
        grouped[evidence.indicator_id].append(evidence)
    return grouped


def _field_list(ctx: TaskContext, label: str) -> list[dict[str, Any]]:
    fields = []
    for row in _indicator_rows(ctx):
        i = row["indicator"]
        fields.append(
            {
                "name": f"lost_{i.code}",
                "type": "decimal",
                "label": f"{i.code} {i.name} {label}",
                "min": "0",
                "max": str(i.max_points),
            }
        )
        fields.append({"name": f"reason_{i.code}", "type": "text", "label": f"{i.code} 说明"})
        fields.append({"name": f"evidence_{i.code}", "type": "files", "label": f"{i.code} 佐证材料"})
    return fields


class SelfReportForm:
    form_key = "self_report"
    template = "tasks/self_report.html"
    supports_draft = True

    def context(self, ctx: TaskContext) -> dict[str, Any]:
        assert ctx.assessment is not None
        entries = entries_for(ctx.session, ctx.assessment.id, include_drafts=True)
        lost = lost_by_indicator(entries, ("self",), drafts=True)
        reasons = {e.indicator_id: e.reason for e in entries if e.stage == "self"}
        return {
            "rows": _indicator_rows(ctx),
            "lost": lost,
            "reasons": reasons,
            "evidence": _evidence_by_indicator(ctx),
            "scheme": ctx.round.scheme,
        }

    def fields(self, ctx: TaskContext) -> list[dict[str, Any]]:
        return _field_list(ctx, "自评扣分")

    def parse(self, ctx: TaskContext, payload: Payload, files: Files, draft: bool) -> DeductionInput:
        def reason_rule(indicator: Indicator, amount: Decimal, reason: str) -> str | None:
            return "有扣分时须填写说明" if amount > 0 and not reason and not draft else None

        return _parse_values(ctx, payload, files, reason_rule)

    def apply(self, ctx: TaskContext, clean: DeductionInput, draft: bool) -> dict[str, Any]:
        assert ctx.assessment is not None
        save_self_report(ctx.session, ctx.user.id, ctx.assessment, clean.values, draft)
        attach(ctx.session, ctx.user.id, ctx.assessment, "self", clean.evidence)
        return {"self_report_submitted": True}


class VerificationForm:
    form_key = "verification"
    template = "tasks/verification.html"
    supports_draft = True

    def context(self, ctx: TaskContext) -> dict[str, Any]:
        assert ctx.assessment is not None
        entries = entries_for(ctx.session, ctx.assessment.id, include_drafts=True)
        self_lost = lost_by_indicator(entries, ("self",))
        verified = lost_by_indicator(entries, ("self", "verify"), drafts=True)
        return {
            "rows": _indicator_rows(ctx),
            "self_lost": self_lost,
            "verified_lost": verified,
            "self_reasons": {e.indicator_id: e.reason for e in entries if e.stage == "self"},
            "verify_reasons": {e.indicator_id: e.reason for e in entries if e.stage == "verify"},
            "evidence": _evidence_by_indicator(ctx),
            "scores": compute(ctx.round.scheme, [e for e in entries if not e.is_draft]),
            "scheme": ctx.round.scheme,
        }

    def fields(self, ctx: TaskContext) -> list[dict[str, Any]]:
        return _field_list(ctx, "核查扣分")

    def parse(self, ctx: TaskContext, payload: Payload, files: Files, draft: bool) -> DeductionInput:
        assert ctx.assessment is not None
        self_lost = lost_by_indicator(entries_for(ctx.session, ctx.assessment.id), ("self",))

        def reason_rule(indicator: Indicator, amount: Decimal, reason: str) -> str | None:
            changed = amount != self_lost[indicator.id]
            return "核查扣分与自评不同时须填写调整理由" if changed and not reason and not draft else None

        # An indicator the inspector left blank is confirmed as self-reported.
        merged = dict(payload)
        for row in _indicator_rows(ctx):
            key = f"lost_{row['indicator'].code}"
            if str(merged.get(key) or "").strip() == "":
                merged[key] = str(self_lost[row["indicator"].id])
        return _parse_values(ctx, merged, files, reason_rule)

    def apply(self, ctx: TaskContext, clean: DeductionInput, draft: bool) -> dict[str, Any]:
        assert ctx.assessment is not None
        save_verification(ctx.session, ctx.user.id, ctx.assessment, clean.values, draft)
        attach(ctx.session, ctx.user.id, ctx.assessment, "verify", clean.evidence)
        return {"verified": True}
