"""Issuing rounds with chosen deadlines for the deadline tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.accounts.models import User
from app.db import db
from app.rounds.issuing import issue_round
from app.rounds.models import DistrictAssessment
from app.schemes.models import Scheme
from workflows.store import SchedulerRun

WORKING_DAYS = {
    "self_report": {"kind": "working_days", "days": 3},
    "verification": {"kind": "working_days", "days": 3},
    "appeal": {"kind": "working_days", "days": 3},
    "review": {"kind": "working_days", "days": 5},
}


def issue(
    district_ids: list[int],
    rules: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    title: str = "截止测试",
) -> int:
    """The new round's id (its objects do not outlive the transaction's session)."""
    with db.transaction() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        scheme = session.scalar(select(Scheme))
        merged = {**WORKING_DAYS, **(rules or {})}
        return issue_round(session, admin, title, "2026-12", scheme.id, district_ids, merged, settings).id


def fixed(at: Any) -> dict[str, Any]:
    return {"kind": "fixed", "at": at.isoformat()}


def assessments(round_id: int) -> list[DistrictAssessment]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(DistrictAssessment)
            .where(DistrictAssessment.round_id == round_id)
            .order_by(DistrictAssessment.id)
        )
    )


def fired_per_instance(instance_ids: list[int]) -> dict[int, int]:
    """How many deadline firings each instance has on record (each in its firing's transaction)."""
    db.session.expire_all()
    rows = db.session.execute(
        select(SchedulerRun.instance_id, func.count())
        .where(SchedulerRun.job == "deadline", SchedulerRun.outcome == "fired")
        .where(SchedulerRun.instance_id.in_(instance_ids))
        .group_by(SchedulerRun.instance_id)
    ).all()
    db.session.rollback()
    counts = dict.fromkeys(instance_ids, 0)
    counts.update({instance_id: n for instance_id, n in rows})
    return counts
