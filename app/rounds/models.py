from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base
from app.districts.models import District
from app.schemes.models import Scheme
from app.types import Points
from workflows import clock

ROUND_STATUS_LABELS = {
    "running": "各区考核中",
    "finalising": "汇总定分",
    "approving": "领导审定",
    "published": "已发布",
    "cancelled": "已撤销",
}
STAGE_LABELS = {
    "self_report": "自评填报",
    "verification": "核查",
    "confirmation": "结果确认/申诉",
    "review": "申诉复核",
    "done": "已完成",
}


class Round(Base):
    """考核轮次 — one assessment period run over the districts with one scheme version."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"))
    status: Mapped[str] = mapped_column(String(20), default="running")
    deadline_rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    # What each deadline does and when reminders go out (app/deadlines/settings.py).
    deadline_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    district_definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    round_definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    round_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), nullable=True)
    districts_total: Mapped[int] = mapped_column(Integer, default=0)
    # Maintained counter: the district that brings it to the total moves the round on.
    districts_done: Mapped[int] = mapped_column(Integer, default=0)
    issued_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(default=clock.now)
    finalised_at: Mapped[datetime | None] = mapped_column(nullable=True)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cancel_reason: Mapped[str] = mapped_column(String(500), default="")

    scheme: Mapped[Scheme] = relationship(lazy="joined")

    @property
    def status_label(self) -> str:
        return ROUND_STATUS_LABELS.get(self.status, self.status)

    @property
    def is_published(self) -> bool:
        return self.status == "published"


class DistrictAssessment(Base):
    """One district's part of a round, with its own small process instance."""

    __tablename__ = "district_assessments"
    __table_args__ = (UniqueConstraint("round_id", "district_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), nullable=True)
    stage: Mapped[str] = mapped_column(String(20), default="self_report")
    self_submitted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    self_overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(nullable=True)
    verification_escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    released_at: Mapped[datetime | None] = mapped_column(nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    appealed: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)

    round: Mapped[Round] = relationship(lazy="joined")
    district: Mapped[District] = relationship(lazy="joined")

    @property
    def stage_label(self) -> str:
        return STAGE_LABELS.get(self.stage, self.stage)


class RoundResult(Base):
    """A district's final result in a round, fixed at 汇总定分 and published after 审定."""

    __tablename__ = "round_results"
    __table_args__ = (
        UniqueConstraint("round_id", "district_id"),
        Index("ix_round_results_round", "round_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    total: Mapped[Decimal] = mapped_column(Points)
    rank: Mapped[int] = mapped_column(Integer)
    first_level: Mapped[dict[str, str]] = mapped_column(JSON)
    grade: Mapped[str] = mapped_column(String(10), default="")
    # 一票否决: the district fails the period; the explanations are kept with the result.
    failed: Mapped[bool] = mapped_column(Boolean, default=False)
    veto_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)

    district: Mapped[District] = relationship(lazy="joined")
