"""Task forms that record facts: the district's self-report and the inspector's verification."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.errors import ValidationFailed
from app.evidence.operations import PendingEvidence, attach, discard, evidence_of, store_uploads
from app.rounds.operations import mark_self_reported, mark_verified
from app.schemes.models import Indicator
from app.scoring import engine
from app.scoring.fact_forms import FactInput, describe_fields, occurrence_rows, parse_indicator, prefill
from app.scoring.models import Fact
from app.scoring.operations import StageEntry, save_self_report, save_verification, signature
from app.scoring.rules import IndicatorRules
from app.scoring.scores import (
    assessed,
    effective_facts,
    facts_of,
    indicator_rules,
    load_scores,
    rounding_of,
    scheme_nodes,
    to_engine,
)
from app.tasks.context import Files, Payload, TaskContext

MAX_REASON = 1000


@dataclass
class IndicatorRow:
    indicator: Indicator
    group: Indicator
    rules: IndicatorRules


@dataclass
class FactsInput:
    entries: dict[Indicator, StageEntry] = field(default_factory=dict)
    evidence: list[PendingEvidence] = field(default_factory=list)


def indicator_rows(ctx: TaskContext, include_veto: bool) -> list[IndicatorRow]:
    """The leaves a stage records facts for, in scheme order, with their first-level group."""
    scheme = ctx.round.scheme
    by_id = {i.id: i for i in scheme.indicators}
    parents = {i.parent_id for i in scheme.indicators}
    # An assessed leaf's node carries its parsed rules, kept per process for a locked scheme:
    # no request parses them again.
    nodes = {n.code: n for n in scheme_nodes(scheme, ctx.round.period)}

    def top(indicator: Indicator) -> Indicator:
        while indicator.parent_id is not None:
            indicator = by_id[indicator.parent_id]
        return indicator

    def rules(indicator: Indicator) -> IndicatorRules:
        parsed = nodes[indicator.code].rules
        return parsed if parsed is not None else indicator_rules(indicator)

    return [
        IndicatorRow(i, top(i), rules(i))
        for i in scheme.indicators
        if i.id not in parents and (include_veto or i.kind != "veto") and assessed(i, ctx.round.period)
    ]


def preview_score(ctx: TaskContext, row: IndicatorRow, facts: list[FactInput]) -> engine.IndicatorScore:
    """The indicator's score if *facts* were recorded (temporary ids: nothing is stored)."""
    node = next(n for n in scheme_nodes(ctx.round.scheme, ctx.round.period) if n.code == row.indicator.code)
    temp = [to_engine(f, -n, row.indicator.code) for n, f in enumerate(facts, start=1)]
    return engine.score_indicator(node, temp, rounding_of(ctx.round.scheme))


def parse_facts(
    ctx: TaskContext,
    rows: list[IndicatorRow],
    payload: Payload,
    files: Files,
    reason_rule: Callable[[IndicatorRow, list[FactInput], str], str | None],
    allow_veto: bool,
) -> FactsInput:
    errors: dict[str, str] = {}
    result = FactsInput()
    for row in rows:
        code = row.indicator.code
        parsed = parse_indicator(row.rules, row.indicator.name, payload, allow_veto=allow_veto)
        errors.update(parsed.errors)
        reason = str(payload.get(f"reason_{code}") or "").strip()
        if len(reason) > MAX_REASON:
            errors[f"reason_{code}"] = f"{row.indicator.name}：说明不能超过 {MAX_REASON} 字"
        elif not parsed.errors:
            problem = reason_rule(row, parsed.facts, reason)
            if problem:
                errors[f"reason_{code}"] = f"{row.indicator.name}：{problem}"
        result.entries[row.indicator] = (parsed.facts, reason)
    if errors:
        raise ValidationFailed("提交内容有误，请按提示修改", errors)
    try:
        for row in rows:
            key = f"evidence_{row.indicator.code}"
            result.evidence += store_uploads(ctx.uploads, key, files.get(key, []), row.indicator.id)
    except ValidationFailed:
        discard(ctx.uploads, result.evidence)
        raise
    return result


def _evidence_by_indicator(ctx: TaskContext) -> dict[int | None, list[Any]]:
    grouped: dict[int | None, list[Any]] = defaultdict(list)
    assert ctx.assessment is not None
    for evidence in evidence_of(ctx.session, ctx.assessment.id):
        grouped[evidence.indicator_id].append(evidence)
    return grouped


def _fields(ctx: TaskContext, include_veto: bool) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = []
    for row in indicator_rows(ctx, include_veto):
        i = row.indicator
        fields += describe_fields(row.rules, f"{i.code} {i.name}")
        fields.append({"name": f"reason_{i.code}", "type": "text", "label": f"{i.code} 说明"})
        fields.append({"name": f"evidence_{i.code}", "type": "files", "label": f"{i.code} 佐证材料"})
    return fields


def _self_report_facts(ctx: TaskContext) -> defaultdict[int, list[Fact]]:
    """The submitted self-report's facts by indicator: what load_scores counts at the "self" stage
    (its facts_at("self", …)), without scoring every stage of the scheme to get them. No revision
    changes what counts at the self stage, so none is read."""
    assert ctx.assessment is not None
    grouped: defaultdict[int, list[Fact]] = defaultdict(list)
    for fact in effective_facts(facts_of(ctx.session, ctx.assessment.id), (), "self"):
        grouped[fact.indicator_id].append(fact)
    return grouped


def _stage_context(ctx: TaskContext, include_veto: bool, counted: str, revised: str) -> dict[str, Any]:
    """What a fact form shows: its rows prefilled with the facts the *counted* score stage counts,
    the reasons given at the *revised* revision stage, and the evidence."""
    assert ctx.assessment is not None
    scores = load_scores(ctx.session, ctx.round, ctx.assessment.id, drafts=True)
    rows = indicator_rows(ctx, include_veto)
    facts = {r.indicator.id: scores.facts_at(counted, r.indicator.id) for r in rows}
    return {
        "rows": rows,
        "values": {r.indicator.id: prefill(r.rules, facts[r.indicator.id]) for r in rows},
        "occurrence_rows": {r.indicator.id: occurrence_rows(facts[r.indicator.id]) for r in rows},
        "reasons": {r.indicator_id: r.reason for r in scores.revisions if r.stage == revised},
        "evidence": _evidence_by_indicator(ctx),
        "scores": scores,
        "scheme": ctx.round.scheme,
    }


class SelfReportForm:
    form_key = "self_report"
    template = "tasks/self_report.html"
    supports_draft = True

    def context(self, ctx: TaskContext) -> dict[str, Any]:
        return _stage_context(ctx, include_veto=False, counted="self", revised="self")

    def fields(self, ctx: TaskContext) -> list[dict[str, Any]]:
        return _fields(ctx, include_veto=False)

    def parse(self, ctx: TaskContext, payload: Payload, files: Files, draft: bool) -> FactsInput:
        def reason_rule(row: IndicatorRow, facts: list[FactInput], reason: str) -> str | None:
            if draft or reason or row.indicator.kind == "veto":
                return None
            if row.indicator.kind == "bonus":
                return "申报加分时须填写说明" if facts else None
            score = preview_score(ctx, row, facts)
            return "有失分时须填写说明" if score.score < row.indicator.max_points else None

        return parse_facts(ctx, indicator_rows(ctx, False), payload, files, reason_rule, allow_veto=False)

    def apply(self, ctx: TaskContext, clean: FactsInput, draft: bool) -> dict[str, Any]:
        assert ctx.assessment is not None
        save_self_report(ctx.session, ctx.user.id, ctx.assessment, clean.entries, draft)
        if not draft:
            mark_self_reported(ctx.assessment)
        attach(ctx.session, ctx.user.id, ctx.assessment, "self", clean.evidence)
        return {"self_report_submitted": True}


class VerificationForm:
    form_key = "verification"
    template = "tasks/verification.html"
    supports_draft = True

    def context(self, ctx: TaskContext) -> dict[str, Any]:
        page = _stage_context(ctx, include_veto=True, counted="verified", revised="verify")
        scores = page["scores"]
        return {
            **page,
            "self_facts": {r.indicator.id: scores.facts_at("self", r.indicator.id) for r in page["rows"]},
            "self_reasons": {r.indicator_id: r.reason for r in scores.revisions if r.stage == "self"},
        }

    def fields(self, ctx: TaskContext) -> list[dict[str, Any]]:
        return _fields(ctx, include_veto=True)

    def parse(self, ctx: TaskContext, payload: Payload, files: Files, draft: bool) -> FactsInput:
        assert ctx.assessment is not None
        self_facts = _self_report_facts(ctx)
        rows = indicator_rows(ctx, include_veto=True)
        self_signature = {r.indicator.id: signature(self_facts[r.indicator.id]) for r in rows}

        def reason_rule(row: IndicatorRow, facts: list[FactInput], reason: str) -> str | None:
            changed = signature(facts) != self_signature[row.indicator.id]
            return "核查结果与自评不同时须填写调整理由" if changed and not reason and not draft else None

        # An indicator the submission does not mention (an API client, or a page that did not show it)
        # is confirmed as self-reported; pages mark every indicator they show with f_<code>_present.
        merged = dict(payload)
        for row in rows:
            prefix = f"f_{row.indicator.code}_"
            if not any(key.startswith(prefix) for key in payload):
                merged.update(prefill(row.rules, self_facts[row.indicator.id]))
        parsed = parse_facts(ctx, rows, merged, files, reason_rule, allow_veto=True)
        # Only the indicators the inspector changed become adjustments; the rest are confirmed.
        parsed.entries = {
            indicator: entry
            for indicator, entry in parsed.entries.items()
            if signature(entry[0]) != self_signature[indicator.id]
        }
        return parsed

    def apply(self, ctx: TaskContext, clean: FactsInput, draft: bool) -> dict[str, Any]:
        assert ctx.assessment is not None
        save_verification(ctx.session, ctx.user.id, ctx.assessment, clean.entries, draft)
        if not draft:
            mark_verified(ctx.assessment, ctx.user.id)
        attach(ctx.session, ctx.user.id, ctx.assessment, "verify", clean.evidence)
        return {"verified": True}
