from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import Base
from app.schemes.models import Indicator
from app.types import Points
from workflows import clock

ENTRY_STAGES = ("self", "verify", "appeal")
STAGE_ENTRY_LABELS = {"self": "自评扣分", "verify": "核查调整", "appeal": "申诉撤销"}


class ScoreEntry(Base):
    """扣分记录 — one recorded fact that moves an indicator's score at one stage.

    ``amount`` is points lost (negative restores points). A stage's score is the
    indicator maximum less the entries of that stage and the ones before it.
    """

    __tablename__ = "score_entries"
    __table_args__ = (Index("ix_score_entries_assessment_stage", "assessment_id", "stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("district_assessments.id"))
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    stage: Mapped[str] = mapped_column(String(10))
    method: Mapped[str] = mapped_column(String(20), default="manual")
    amount: Mapped[Decimal] = mapped_column(Points)
    reason: Mapped[str] = mapped_column(Text, default="")
    is_draft: Mapped[bool] = mapped_column(Boolean, default=False)
    # The appeal whose decision withdrew points (no FK: appeals reference entries).
    appeal_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=clock.now)

    indicator: Mapped[Indicator] = relationship(lazy="joined")
    recorder: Mapped[User] = relationship(lazy="joined")
