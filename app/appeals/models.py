from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base
from app.scoring.models import IndicatorRevision
from app.types import Points
from workflows import clock

DECISION_LABELS = {"pending": "待复核", "upheld": "申诉成立", "partly": "部分成立", "rejected": "维持原核查"}


class Appeal(Base):
    """申诉 — a district's objection to one verification adjustment (核查调整) of an indicator."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("district_assessments.id"))
    revision_id: Mapped[int] = mapped_column(ForeignKey("indicator_revisions.id"))
    reason: Mapped[str] = mapped_column(Text)
    submitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=clock.now)
    decision: Mapped[str] = mapped_column(String(10), default="pending")
    # Points the decision gave back (upheld: all the adjustment took; partly: some of it).
    withdrawn: Mapped[Decimal | None] = mapped_column(Points, nullable=True)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)

    revision: Mapped[IndicatorRevision] = relationship(lazy="joined")

    @property
    def decision_label(self) -> str:
        return DECISION_LABELS.get(self.decision, self.decision)
