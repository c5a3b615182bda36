"""Task forms of the rectification process: the district's report, the inspector's acceptance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.errors import ValidationFailed
from app.evidence.models import EvidenceFile
from app.evidence.operations import PendingEvidence, attach, discard, store_uploads
from app.rectification.models import Rectification
from app.rectification.operations import record_report, record_review
from app.tasks.context import Files, Payload, TaskContext

MAX_REPORT = 5000
EVIDENCE_STAGE = "rectify"


def _item(ctx: TaskContext) -> Rectification:
    item = ctx.session.scalar(
        select(Rectification).where(Rectification.instance_id == ctx.record.instance_id)
    )
    assert item is not None
    return item


def _context(ctx: TaskContext) -> dict[str, Any]:
    item = _item(ctx)
    files = ctx.session.scalars(
        select(EvidenceFile)
        .where(EvidenceFile.assessment_id == item.assessment_id, EvidenceFile.stage == EVIDENCE_STAGE)
        .order_by(EvidenceFile.id)
    ).all()
    return {"item": item, "evidence": list(files)}


@dataclass
class Report:
    text: str
    evidence: list[PendingEvidence] = field(default_factory=list)


class RectificationReportForm:
    form_key = "rectification_report"
    template = "tasks/rectification_report.html"
    supports_draft = False

    def context(self, ctx: TaskContext) -> dict[str, Any]:
        return _context(ctx)

    def fields(self, ctx: TaskContext) -> list[dict[str, Any]]:
        return [
            {"name": "report", "type": "text", "label": "整改情况报告"},
            {"name": "evidence", "type": "files", "label": "整改佐证材料（整改前后照片等）"},
        ]

    def parse(self, ctx: TaskContext, payload: Payload, files: Files, draft: bool) -> Report:
        text = str(payload.get("report") or "").strip()
        if not text:
            raise ValidationFailed("请填写整改情况报告", {"report": "请填写整改情况报告"})
        if len(text) > MAX_REPORT:
            raise ValidationFailed("整改报告过长", {"report": f"不能超过 {MAX_REPORT} 字"})
        return Report(text, store_uploads(ctx.uploads, "evidence", files.get("evidence", [])))

    def apply(self, ctx: TaskContext, clean: Report, draft: bool) -> dict[str, Any]:
        assert ctx.assessment is not None
        try:
            attach(ctx.session, ctx.user.id, ctx.assessment, EVIDENCE_STAGE, clean.evidence)
            record_report(ctx.session, ctx.user.id, _item(ctx), clean.text)
        except Exception:
            discard(ctx.uploads, clean.evidence)
            raise
        return {"reported": True}


class RectificationReviewForm:
    form_key = "rectification_review"
    template = "tasks/rectification_review.html"
    supports_draft = False

    def context(self, ctx: TaskContext) -> dict[str, Any]:
        return _context(ctx)

    def fields(self, ctx: TaskContext) -> list[dict[str, Any]]:
        return [
            {"name": "decision", "type": "choice", "choices": ["accept", "return"], "label": "验收结论"},
            {"name": "comment", "type": "text", "label": "验收意见"},
        ]

    def parse(self, ctx: TaskContext, payload: Payload, files: Files, draft: bool) -> tuple[bool, str]:
        decision = payload.get("decision")
        comment = str(payload.get("comment") or "").strip()
        errors = {}
        if decision not in ("accept", "return"):
            errors["decision"] = "请选择验收通过或退回"
        if decision == "return" and not comment:
            errors["comment"] = "退回时请写明需补充整改的内容"
        if len(comment) > 2000:
            errors["comment"] = "意见不能超过 2000 字"
        if errors:
            raise ValidationFailed("验收内容有误", errors)
        return decision == "accept", comment

    def apply(self, ctx: TaskContext, clean: tuple[bool, str], draft: bool) -> dict[str, Any]:
        accepted, comment = clean
        record_review(ctx.session, ctx.user.id, _item(ctx), accepted, comment)
        return {"accepted": accepted}
