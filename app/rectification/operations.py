"""Every state change of rectification: ordering it at publication, reports, acceptance."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.deadlines.recipients import stage_recipients
from app.notifications.operations import notify
from app.processes import RECTIFICATION_PROCESS, library
from app.processes.runtime import ProcessRun
from app.rectification.models import Rectification
from app.rounds.models import DistrictAssessment, Round
from app.rounds.operations import district_page, results_of
from app.scoring.scores import load_scores
from workflows import clock


def reasons_for(
    session: Session, round_: Round, assessment: DistrictAssessment, grade: str, failed: bool
) -> list[str]:
    """Why the district must rectify: a veto, a grade at or below the configured ones, or
    deductions marked 逾期未整改 (must rectify) in the final result."""
    reasons = []
    if failed:
        reasons.append("本期触发一票否决")
    if grade in current_app.config["RECTIFY_GRADES"]:
        reasons.append(f"本期等次为“{grade}”")
    scores = load_scores(session, round_, assessment.id)
    unrectified = [f for f in scores.counted["final"] if f.kind == "occurrence" and not f.rectified]
    for fact in unrectified:
        reasons.append(f"{fact.indicator.code} {fact.indicator.name}：{fact.description or '问题'}（须整改）")
    return reasons


def order_rectifications(run: ProcessRun, round_: Round) -> int:
    """At publication: one rectification process per district that must rectify."""
    session, actor_id = run.session, run.actor_id
    ordered = 0
    definition = library().current_file(RECTIFICATION_PROCESS)
    days = current_app.config["RECTIFICATION_WORKING_DAYS"]
    for result in results_of(session, round_.id):
        assessment = session.scalar(
            select(DistrictAssessment).where(
                DistrictAssessment.round_id == round_.id, DistrictAssessment.district_id == result.district_id
            )
        )
        assert assessment is not None
        reasons = reasons_for(session, round_, assessment, result.grade, result.failed)
        if not reasons:
            continue
        item = Rectification(
            round_id=round_.id, district_id=result.district_id, assessment_id=assessment.id, reasons=reasons
        )
        session.add(item)
        session.flush()
        data = {
            "round_id": round_.id,
            "district_id": result.district_id,
            "assessment_id": assessment.id,
            "rectification_id": item.id,
            "deadline_rules": {"rectification": {"kind": "working_days", "days": days}},
        }
        instance, _wf = run.start(definition, data)
        item.instance_id = instance.id
        audit(
            session,
            actor_id,
            "rectification.order",
            ("rectification", item.id),
            f"{result.district.name} 须整改：{'；'.join(reasons)}",
            round_id=round_.id,
            district_id=result.district_id,
        )
        liaisons = stage_recipients(session, ["liaison"], result.district_id)
        notify(
            session,
            liaisons,
            f"{round_.title} 整改通知",
            "；".join(reasons),
            district_page(round_.id, result.district_id),
        )
        ordered += 1
    return ordered


def record_report(session: Session, user_id: int, item: Rectification, report: str) -> None:
    item.report = report
    item.submitted_at = clock.now()
    audit(
        session,
        user_id,
        "rectification.report",
        ("rectification", item.id),
        "报送整改报告",
        after={"report": report[:500]},
        round_id=item.round_id,
        district_id=item.district_id,
    )


def record_review(session: Session, user_id: int, item: Rectification, accepted: bool, comment: str) -> None:
    item.review_comment = comment
    item.reviewed_by = user_id
    audit(
        session,
        user_id,
        "rectification.accept" if accepted else "rectification.return",
        ("rectification", item.id),
        "整改验收通过" if accepted else f"整改退回：{comment}",
        after={"accepted": accepted, "comment": comment},
        round_id=item.round_id,
        district_id=item.district_id,
    )


def rectifications_of(session: Session, district_id: int, round_id: int | None = None) -> list[Rectification]:
    query = select(Rectification).where(Rectification.district_id == district_id)
    if round_id is not None:
        query = query.where(Rectification.round_id == round_id)
    return list(session.scalars(query.order_by(Rectification.id.desc())))


def rectification_run_by(session: Session, instance_id: int) -> Rectification | None:
    """The rectification whose process is *instance_id*, if any."""
    return session.scalar(select(Rectification).where(Rectification.instance_id == instance_id))


def open_before(session: Session, round_: Round) -> dict[int, list[Rectification]]:
    """Rectifications of earlier rounds not yet accepted, per district (the next round's overview)."""
    rows = session.scalars(
        select(Rectification).where(Rectification.round_id != round_.id, Rectification.status != "accepted")
    )
    out: dict[int, list[Rectification]] = {}
    for row in rows:
        if row.round_id < round_.id:
            out.setdefault(row.district_id, []).append(row)
    return out


# Transitions the rectification process reaches (its handler, app/rectification/process.py).


def mark_overdue(item: Rectification) -> None:
    item.overdue = True


def mark_accepted(item: Rectification) -> None:
    item.status, item.accepted_at = "accepted", clock.now()


def follow_process(item: Rectification, ready: set[str]) -> None:
    """The status the process's open step means: waiting for acceptance, or sent back."""
    if item.status == "accepted":
        return
    if "review_rectification" in ready:
        item.status = "submitted"
    elif "submit_rectification" in ready and item.submitted_at is not None:
        item.status = "returned"
