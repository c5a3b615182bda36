"""Correcting a published result (更正): never an overwrite. The corrected indicator gets facts at
the ``correct`` stage, the round's results are recomputed, and a 更正通知 with its own number
names and supersedes the circular (and the district's final letter)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.audit.operations import record as audit
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.notices.content import ranking_of
from app.notices.models import Notice
from app.notices.operations import issue_notice
from app.notices.render import CorrectionContent
from app.notifications.operations import notify
from app.rounds.models import DistrictAssessment, RoundResult
from app.rounds.operations import compute_results, lock_round, scores_of
from app.schemes.models import Indicator
from app.scoring.fact_forms import FactInput
from app.scoring.operations import record_stage, signature

REASON_MAX = 1000


def _current(session: Session, round_id: int, kind: str, district_id: int | None = None) -> Notice | None:
    query = select(Notice).where(
        Notice.round_id == round_id, Notice.kind == kind, Notice.superseded_by_id.is_(None)
    )
    if district_id is not None:
        query = query.where(Notice.district_id == district_id, Notice.stage == "final")
    return session.scalars(query.order_by(Notice.id.desc()).limit(1)).first()


def correct_result(
    session: Session,
    actor: User,
    round_id: int,
    district_id: int,
    indicator_id: int,
    facts: Sequence[FactInput],
    reason: str,
) -> Notice:
    if actor.role != "admin":
        raise Forbidden("只有考核管理员可以更正考核结果")
    round_ = lock_round(session, round_id)
    assessment = session.scalar(
        select(DistrictAssessment).where(
            DistrictAssessment.round_id == round_id, DistrictAssessment.district_id == district_id
        )
    )
    indicator = session.get(Indicator, indicator_id)
    if round_ is None or assessment is None or indicator is None or indicator.scheme_id != round_.scheme_id:
        raise NotFound("轮次、区或指标不存在")
    if not round_.is_published:
        raise Conflict("结果尚未发布，发布前请在汇总定分前由核查、复核环节调整")
    superseded = _current(session, round_id, "circular")
    if superseded is None:
        raise Conflict("本轮通报尚未生成完毕，请稍后再更正")
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX:
        message = f"请填写更正理由（不超过 {REASON_MAX} 字）"
        raise ValidationFailed(f"更正失败：{message}", {"reason": message})
    before = scores_of(session, round_, assessment)
    if signature(before.facts_at("final", indicator.id)) == signature(facts):
        raise ValidationFailed(
            "更正失败：更正后的内容与现有结果相同", {"reason": "更正后的内容与现有结果相同"}
        )

    record_stage(session, actor.id, assessment, indicator, "correct", facts, f"结果更正：{reason}")
    old_results = {
        r.district_id: (r.total, r.rank)
        for r in session.scalars(select(RoundResult).where(RoundResult.round_id == round_id))
    }
    session.execute(delete(RoundResult).where(RoundResult.round_id == round_id))
    session.add_all(compute_results(session, round_))
    session.flush()
    after = scores_of(session, round_, assessment)
    first_level_names, ranking = ranking_of(session, round_)  # the recomputed results
    body = CorrectionContent(
        round_title=round_.title,
        district=assessment.district.name,
        code=indicator.code,
        name=indicator.name,
        before=before.leaf("final", indicator.code).score,
        after=after.leaf("final", indicator.code).score,
        total_before=before.total("final"),
        total_after=after.total("final"),
        reason=reason,
        ranking=ranking,
        first_level_names=first_level_names,
    )
    notice = issue_notice(
        session, actor.id, "correction", round_, assessment, correction=body, supersedes=superseded
    )
    superseded.superseded_by_id = notice.id
    letter = _current(session, round_id, "letter", district_id)
    if letter is not None:
        letter.superseded_by_id = notice.id
    new_results = {
        r.district_id: (r.total, r.rank)
        for r in session.scalars(select(RoundResult).where(RoundResult.round_id == round_id))
    }
    audit(
        session,
        actor.id,
        "result.correct",
        ("round", round_id),
        f"更正 {assessment.district.name} {indicator.code}：{body.before} → {body.after}"
        f"，印发 {notice.doc_number}",
        before={str(k): [str(t), r] for k, (t, r) in old_results.items()},
        after={
            "results": {str(k): [str(t), r] for k, (t, r) in new_results.items()},
            "reason": reason,
            "supersedes": superseded.doc_number,
        },
        round_id=round_id,
        district_id=district_id,
    )
    users = session.scalars(
        select(User.id).where(
            User.active.is_(True),
            User.role.in_(["admin", "leader"])
            | ((User.role == "liaison") & (User.district_id == district_id)),
        )
    )
    notify(
        session,
        users,
        f"{round_.title} 结果更正",
        f"{assessment.district.name} {indicator.code} 由 {body.before} 分更正为 {body.after} 分"
        f"。理由：{reason}",
        f"/rounds/{round_id}",
    )
    return notice
