"""Correcting a published result (更正): never an overwrite. The corrected indicator gets facts at
the ``correct`` stage, the round's results are recomputed, and two documents are issued in the
same transaction, each with its own number:

- a public 更正通知 (kind ``correction``, every district reads it) that supersedes the circular
  (or the previous correction) and carries only the circular's columns — the district whose result
  was corrected, its total and rank before and after, and the restated ranking;
- a 考核结果更正告知书 (kind ``corrected_letter``, that district and the city's staff only) that
  supersedes the district's final letter (or its previous corrected letter) and says what was
  corrected: the indicator, its score and the total before and after, and the reason."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.audit.operations import record as audit
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.notices.content import ranking_of
from app.notices.models import Notice, NoticeJob
from app.notices.operations import issue_notice
from app.notices.render import CorrectedItem, CorrectionContent
from app.notifications.operations import notify
from app.rounds.models import DistrictAssessment
from app.rounds.operations import lock_round, replace_results, scores_of
from app.schemes.models import Indicator
from app.scoring.fact_forms import FactInput
from app.scoring.operations import record_stage, signature

REASON_MAX = 1000
PUBLIC_KINDS = ("circular", "correction")  # the round's results as every district reads them
FINAL_LETTER_KINDS = ("letter", "corrected_letter")  # a district's final result, to it alone


def _current(
    session: Session, round_id: int, kinds: Sequence[str], district_id: int | None = None
) -> Notice | None:
    """The latest document of *kinds* not yet superseded (of the district, at the final stage)."""
    query = select(Notice).where(
        Notice.round_id == round_id, Notice.kind.in_(kinds), Notice.superseded_by_id.is_(None)
    )
    if district_id is not None:
        query = query.where(Notice.district_id == district_id, Notice.stage == "final")
    return session.scalars(query.order_by(Notice.id.desc()).limit(1)).first()


def _unfinished_jobs(session: Session, round_id: int, assessment_id: int) -> bool:
    """Is the circular or the district's final letter still to be generated (or failed)? A letter
    generated after the correction would stand beside the corrected letter, unsuperseded."""
    return (
        session.scalar(
            select(NoticeJob.id)
            .where(
                NoticeJob.round_id == round_id,
                NoticeJob.status != "done",
                (NoticeJob.kind == "circular") | (NoticeJob.assessment_id == assessment_id),
            )
            .limit(1)
        )
        is not None
    )


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
    superseded = _current(session, round_id, PUBLIC_KINDS)
    if superseded is None or _unfinished_jobs(session, round_id, assessment.id):
        raise Conflict("本轮通报或该区最终结果告知书尚未生成完毕，请稍后再更正（生成失败的请先重新生成）")
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
    old_results, new_results = replace_results(session, round_)
    after = scores_of(session, round_, assessment)
    first_level_names, ranking = ranking_of(session, round_)  # the recomputed results
    total_before, rank_before = old_results.get(district_id, (None, None))
    total_after, rank_after = new_results.get(district_id, (None, None))
    public = issue_notice(
        session,
        actor.id,
        "correction",
        round_,
        assessment,
        correction=CorrectionContent(
            round_title=round_.title,
            period=round_.period,
            district=assessment.district.name,
            total_before=total_before,
            total_after=total_after,
            rank_before=rank_before,
            rank_after=rank_after,
            ranking=ranking,
            first_level_names=first_level_names,
            ranking_rule=round_.scheme.vetoed_rank_label,
        ),
        supersedes=superseded,
    )
    superseded.superseded_by_id = public.id
    item = CorrectedItem(
        code=indicator.code,
        name=indicator.name,
        before=before.leaf("final", indicator.code).score,
        after=after.leaf("final", indicator.code).score,
        total_before=before.total("final"),
        total_after=after.total("final"),
        reason=reason,
        public_number=public.doc_number,
    )
    old_letter = _current(session, round_id, FINAL_LETTER_KINDS, district_id)
    letter = issue_notice(
        session, actor.id, "corrected_letter", round_, assessment, correction=item, supersedes=old_letter
    )
    if old_letter is not None:
        old_letter.superseded_by_id = letter.id
    audit(
        session,
        actor.id,
        "result.correct",
        ("round", round_id),
        f"更正 {assessment.district.name} {indicator.code}：{item.before} → {item.after}"
        f"，印发 {public.doc_number}、{letter.doc_number}",
        before={str(k): [str(t), r] for k, (t, r) in old_results.items()},
        after={
            "results": {str(k): [str(t), r] for k, (t, r) in new_results.items()},
            "reason": reason,
            "supersedes": superseded.doc_number,
            "letter": letter.doc_number,
            "supersedes_letter": old_letter.doc_number if old_letter is not None else None,
        },
        round_id=round_id,
        district_id=district_id,
    )
    # The reason may be told here: only the city's administrators and leaders and the corrected
    # district's own liaison are notified.
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
        f"{assessment.district.name} {indicator.code} 由 {item.before} 分更正为 {item.after} 分"
        f"。理由：{reason}。已印发更正通知 {public.doc_number} 和考核结果更正告知书 {letter.doc_number}。",
        f"/rounds/{round_id}",
    )
    return public
