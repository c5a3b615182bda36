from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import Base
from app.schemes.models import Indicator
from app.types import Points
from workflows import clock

# "correct": an administrator's correction after publication (更正), issued with a 更正通知.
FACT_STAGES = ("self", "verify", "appeal", "correct")


class Fact(Base):
    """考核事实 — what was recorded about one indicator at one stage: an occurrence, a rate, a tick.

    Scores are computed from facts by the indicator's rules (app/scoring/engine.py); nobody
    types a score. A later stage's facts for an indicator replace the earlier ones only where
    that stage has a revision for it (see IndicatorRevision).

    What a fact says is described once, by `outcomes.FactContent`: the columns from ``kind`` to
    ``description`` are one per field of it (tests/scoring/test_fact_fields.py checks), and rows
    are written and read through `outcomes.fact_values`.
    """

    __tablename__ = "score_facts"
    __table_args__ = (Index("ix_score_facts_assessment_stage", "assessment_id", "stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("district_assessments.id"))
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    stage: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(12))
    amount: Mapped[Decimal | None] = mapped_column(Points, nullable=True)
    found_by: Mapped[str | None] = mapped_column(String(20), nullable=True)
    rectified: Mapped[bool] = mapped_column(Boolean, default=True)
    numerator: Mapped[Decimal | None] = mapped_column(Points, nullable=True)
    denominator: Mapped[Decimal | None] = mapped_column(Points, nullable=True)
    value: Mapped[Decimal | None] = mapped_column(Points, nullable=True)
    item: Mapped[str | None] = mapped_column(String(50), nullable=True)
    occurred_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    place: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    is_draft: Mapped[bool] = mapped_column(Boolean, default=False)
    # Facts fed by the big-data platform are typed in by inspectors until the interface exists.
    manual_entry: Mapped[bool] = mapped_column(Boolean, default=True)
    # None when the system wrote it (a deadline closing the self-report).
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(default=clock.now)

    indicator: Mapped[Indicator] = relationship(lazy="joined")
    recorder: Mapped[User | None] = relationship(lazy="joined")

    @property
    def recorder_name(self) -> str:
        return self.recorder.display_name if self.recorder else "系统（截止处理）"


class IndicatorRevision(Base):
    """A stage's judgement of one indicator: at verification (核查调整) or review (复核), its facts
    replace the earlier stage's facts for that indicator; ``reason`` says why."""

    __tablename__ = "indicator_revisions"
    __table_args__ = (UniqueConstraint("assessment_id", "indicator_id", "stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("district_assessments.id"))
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    stage: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")
    is_draft: Mapped[bool] = mapped_column(Boolean, default=False)
    # None when the system wrote it (a deadline closing the self-report).
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(default=clock.now)

    indicator: Mapped[Indicator] = relationship(lazy="joined")
    recorder: Mapped[User | None] = relationship(lazy="joined")

    @property
    def recorder_name(self) -> str:
        return self.recorder.display_name if self.recorder else "系统（截止处理）"
