"""State changes of a round after its districts: final scores, approval, publication."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.districts.models import District
from app.rounds.models import DistrictAssessment, Round, RoundResult
from app.scoring.annual import AGGREGATION_RULES, RoundScore, annual_result
from app.scoring.engine import rank
from app.scoring.scores import AssessmentScores, load_scores
from workflows import clock


def assessments_of(session: Session, round_id: int) -> list[DistrictAssessment]:
    return list(
        session.scalars(
            select(DistrictAssessment)
            .join(District, District.id == DistrictAssessment.district_id)
            .where(DistrictAssessment.round_id == round_id)
            .order_by(District.sort_order)
        )
    )


def lock_round(session: Session, round_id: int) -> Round | None:
    """The round, row-locked for the rest of the transaction (a no-op on SQLite). The lock is
    taken on the bare row: PostgreSQL refuses FOR UPDATE across the joined scheme."""
    session.execute(select(Round.id).where(Round.id == round_id).with_for_update())
    return session.get(Round, round_id)


def scores_of(session: Session, round_: Round, assessment: DistrictAssessment) -> AssessmentScores:
    return load_scores(session, round_, assessment.id)


def compute_results(session: Session, round_: Round) -> list[RoundResult]:
    """Every district's final total, first-level scores and rank, computed now from the records."""
    computed = [(a, scores_of(session, round_, a)) for a in assessments_of(session, round_.id)]
    totals = {str(a.district_id): s.total("final") for a, s in computed}
    first_level = {str(a.district_id): s.stages["final"].first_level for a, s in computed}
    code = round_.scheme.tie_break if round_.scheme.tie_break_label else None
    # The scheme version decides (it is frozen once a round uses it), so a recomputation or a
    # correction ranks a published round by the rule it was published under.
    vetoed = {str(a.district_id) for a, s in computed if s.stages["final"].failed}
    last = vetoed if round_.scheme.vetoed_rank_last else frozenset()
    ranks = rank(totals, (lambda key: -first_level[key][code]) if code else None, last)
    return [
        RoundResult(
            round_id=round_.id,
            district_id=assessment.district_id,
            district=assessment.district,
            total=scores.total("final"),
            rank=ranks[str(assessment.district_id)],
            first_level={code: str(v) for code, v in scores.stages["final"].first_level.items()},
            grade=scores.grade("final"),
            failed=scores.stages["final"].failed,
            veto_reasons=[v.reason for v in scores.stages["final"].vetoed],
        )
        for assessment, scores in computed
    ]


def recompute_differences(session: Session, round_: Round) -> list[str]:
    """Where the stored results differ from a recomputation from the records (empty: reproducible)."""
    stored = {r.district_id: r for r in results_of(session, round_.id)}
    differences = []
    for fresh in compute_results(session, round_):
        old = stored.pop(fresh.district_id, None)
        name = fresh.district_id if old is None else old.district.name
        if old is None:
            differences.append(f"区 {name}：没有已存结果，重算总分 {fresh.total}")
            continue
        for label, before, after in (
            ("总分", old.total, fresh.total),
            ("排名", old.rank, fresh.rank),
            ("一级指标", old.first_level, fresh.first_level),
            ("等次", old.grade, fresh.grade),
            ("否决", old.failed, fresh.failed),
        ):
            if before != after:
                differences.append(f"{name}：{label} 已存 {before}，重算 {after}")
    differences += [f"区 {district_id}：已存结果在重算中不存在" for district_id in stored]
    return differences


def finalise_round(session: Session, actor_id: int, round_: Round) -> list[RoundResult]:
    """汇总定分: compute every district's final score and rank from its records."""
    session.execute(delete(RoundResult).where(RoundResult.round_id == round_.id))
    results = compute_results(session, round_)
    session.add_all(results)
    round_.finalised_at = clock.now()
    audit(
        session,
        actor_id,
        "round.finalise",
        ("round", round_.id),
        f"{round_.title} 汇总定分",
        after={r.district_id: {"total": str(r.total), "rank": r.rank} for r in results},
        round_id=round_.id,
    )
    session.flush()
    return results


def record_approval(session: Session, actor_id: int, round_: Round, approved: bool, comment: str) -> None:
    round_.approved_by = actor_id if approved else None
    audit(
        session,
        actor_id,
        "round.approve" if approved else "round.return",
        ("round", round_.id),
        f"{round_.title} {'审定通过' if approved else '退回重新汇总'}：{comment}",
        round_id=round_.id,
    )


def publish_round(session: Session, actor_id: int | None, round_: Round) -> None:
    round_.status = "published"
    round_.published_at = clock.now()
    audit(
        session,
        actor_id,
        "round.publish",
        ("round", round_.id),
        f"{round_.title} 结果发布",
        round_id=round_.id,
    )


def results_of(session: Session, round_id: int) -> list[RoundResult]:
    return list(
        session.scalars(
            select(RoundResult).where(RoundResult.round_id == round_id).order_by(RoundResult.rank)
        )
    )


def annual_rows(session: Session, rounds: Sequence[Round]) -> tuple[list[dict[str, Any]], str]:
    """Per district: its published totals in *rounds* and the year's result by the scheme's rule."""
    rule = rounds[-1].scheme.annual_rule if rounds else "mean_scaled"
    by_district: dict[int, dict[str, Any]] = {}
    for round_ in rounds:
        for result in results_of(session, round_.id):
            row = by_district.setdefault(result.district_id, {"district": result.district, "totals": {}})
            row["totals"][round_.id] = result.total
    rows = []
    for row in by_district.values():
        scores = [
            RoundScore(r.period, row["totals"][r.id], r.scheme.total_points)
            for r in rounds
            if r.id in row["totals"]
        ]
        row["annual"] = annual_result(scores, rounds[-1].scheme.total_points, rule)
        rows.append(row)
    ranks = rank({str(r["district"].id): r["annual"] for r in rows if r["annual"] is not None})
    for row in rows:
        row["rank"] = ranks.get(str(row["district"].id))
    rows.sort(key=lambda r: (r["rank"] or 10**6, r["district"].sort_order))
    return rows, AGGREGATION_RULES.get(rule, rule)


def district_page(round_id: int, district_id: int) -> str:
    """The link notifications and e-mails give to a district's page of a round (stored with them,
    so the address must keep working: see the URL table in docs/architecture.md)."""
    return f"/rounds/{round_id}/districts/{district_id}"


# Milestones of a district's assessment, recorded by the step that reaches them. The assessment
# row is the rounds area's; scoring, appeals and the task forms call these instead of writing it.


def mark_self_reported(assessment: DistrictAssessment) -> None:
    assessment.self_submitted_at = clock.now()


def mark_self_overdue(assessment: DistrictAssessment) -> None:
    """逾期未报: the deadline closed the self-report (drafts counted as submitted)."""
    assessment.self_overdue = True


def mark_verified(assessment: DistrictAssessment, user_id: int) -> None:
    """The inspector who verified is excluded (回避) from reviewing the district's appeals."""
    assessment.verified_by, assessment.verified_at = user_id, clock.now()


def mark_confirmed(assessment: DistrictAssessment) -> None:
    assessment.confirmed_at = clock.now()


def mark_appealed(assessment: DistrictAssessment) -> None:
    assessment.appealed = True


def replace_results(
    session: Session, round_: Round
) -> tuple[dict[int, tuple[Any, int]], dict[int, tuple[Any, int]]]:
    """Recompute and store a round's results (after a correction); (old, new) total and rank per district."""
    old = {r.district_id: (r.total, r.rank) for r in results_of(session, round_.id)}
    session.execute(delete(RoundResult).where(RoundResult.round_id == round_.id))
    session.add_all(compute_results(session, round_))
    session.flush()
    new = {r.district_id: (r.total, r.rank) for r in results_of(session, round_.id)}
    return old, new
