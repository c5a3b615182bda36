from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base
from app.districts.models import District
from workflows import clock

STATUS_LABELS = {
    "open": "待整改",
    "submitted": "待验收",
    "returned": "退回重报",
    "accepted": "已销号",
}


class Rectification(Base):
    """整改 — what a published round requires of one district, run as its own small process
    (report with evidence → inspector accepts or sends it back)."""

    __tablename__ = "rectifications"
    __table_args__ = (
        Index("ix_rectifications_district", "district_id", "status"),
        Index("ix_rectifications_round", "round_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    assessment_id: Mapped[int] = mapped_column(ForeignKey("district_assessments.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), nullable=True)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="open")
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    report: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    district: Mapped[District] = relationship(lazy="joined")

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status) + (
            "（逾期）" if self.overdue and self.status != "accepted" else ""
        )
