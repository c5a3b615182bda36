from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base
from app.types import Points
from workflows import clock


class Scheme(Base):
    """考核细则 — a versioned indicator scheme; frozen once a round uses it."""

    __tablename__ = "schemes"
    __table_args__ = (UniqueConstraint("year", "label"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    total_points: Mapped[Decimal] = mapped_column(Points, default=Decimal(75))
    # draft: editable; active: rounds may be issued on it; retired: kept for the rounds that used it.
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    # Set when the first round is issued on this version; from then on it never changes.
    locked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cloned_from_id: Mapped[int | None] = mapped_column(ForeignKey("schemes.id"), nullable=True)
    rounding_places: Mapped[int] = mapped_column(Integer, default=2)
    rounding_mode: Mapped[str] = mapped_column(String(12), default="half_up")
    # [[threshold on a 0–100 scale, grade], ...] highest first
    grade_bands: Mapped[list[list[str]] | None] = mapped_column(JSON, nullable=True)
    tie_break: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # How the year's rounds combine for the comprehensive assessment (app/scoring/annual.py).
    annual_rule: Mapped[str] = mapped_column(String(20), default="mean_scaled")
    # Whether units whose veto fails the period rank after all the others. New versions do; the
    # versions that existed before the setting (migration 0012) keep ranking them by their total,
    # so recomputing or correcting a round published on one never re-ranks it.
    vetoed_rank_last: Mapped[bool] = mapped_column(Boolean, default=True)

    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="scheme", order_by="Indicator.sort_order", cascade="all, delete-orphan"
    )

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    @property
    def scored_leaves(self) -> list[Indicator]:
        """The indicators that carry points toward the total, in scheme order."""
        parents = {i.parent_id for i in self.indicators if i.parent_id is not None}
        return [i for i in self.indicators if i.kind == "scored" and i.id not in parents]

    @property
    def tie_break_label(self) -> str:
        """同分排序规则 as stated on results pages; ``tie_break`` names a first-level code."""
        top = next((i for i in self.first_level if i.code == self.tie_break), None)
        return f"同分时{top.name}得分高者排名在前" if top else ""

    @property
    def vetoed_rank_label(self) -> str:
        """The ranking rule for vetoed units as stated on results pages and the circular; empty
        under the earlier rule (ranked by total), whose pages and circulars stay as they were."""
        return "一票否决（当期不达标）的单位排在其他单位之后" if self.vetoed_rank_last else ""

    @property
    def first_level(self) -> list[Indicator]:
        return [i for i in self.indicators if i.parent_id is None and i.kind == "scored"]


class Indicator(Base):
    """考核指标 — one node of the scheme tree (一级 › 二级 › 三级)."""

    __tablename__ = "indicators"
    __table_args__ = (UniqueConstraint("scheme_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("indicators.id"), nullable=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    max_points: Mapped[Decimal] = mapped_column(Points)
    # scored: counts toward the total; bonus / veto stand outside it.
    kind: Mapped[str] = mapped_column(String(10), default="scored")
    source: Mapped[str] = mapped_column(String(100), default="")
    frequency: Mapped[str] = mapped_column(String(50), default="")
    department: Mapped[str] = mapped_column(String(50), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    criteria: Mapped[str] = mapped_column(Text, default="")  # 评分标准 as published
    # The scoring rules as stored; app/scoring/rule_reading.py reads them into app/scoring/rules.py's types.
    rules: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    assessed_in_system: Mapped[bool] = mapped_column(Boolean, default=True)

    scheme: Mapped[Scheme] = relationship(back_populates="indicators")
