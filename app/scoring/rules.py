"""计分规则 — the rule configuration of one indicator, as frozen dataclasses.

What each scoring method is configured with, and the constants the rules are written in. Rules
are stored as JSON-able dicts (in YAML files and in the database); `rule_reading` is the only
place that reads and validates them into these classes (and writes them back), so a rule that
exists here is one the engine can apply. Pure Python: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

FINDERS = ("city", "district", "media", "superior")
FINDER_LABELS = {"city": "市局检查", "district": "区级自查", "media": "媒体曝光", "superior": "上级督查"}
METHODS = ("manual", "deduct", "rate", "tiered", "checklist", "bonus", "veto")
RATE_MODES = ("threshold", "proportional")
NO_DATA = ("full", "zero")
VETO_OUTCOMES = ("fail", "zero_first_level")
ZERO = Decimal(0)


class RuleError(ValueError):
    """A rule configuration the engine refuses; the message is Chinese and names code and field."""


@dataclass(frozen=True)
class Extra:
    """附加扣分 — a deduction per occurrence on top of the method's base score."""

    key: str
    label: str
    amount: Decimal


@dataclass(frozen=True)
class Item:
    """A checklist or bonus item worth `points`."""

    key: str
    label: str
    points: Decimal


@dataclass(frozen=True)
class VetoItem:
    """否决事项 — `fail` fails the period; `zero_first_level` sets `target` (一级指标) to 0."""

    key: str
    label: str
    outcome: str
    target: str | None = None


@dataclass(frozen=True)
class Band:
    """One tier: values in [min, max) earn `points`; the highest band also includes its max."""

    min: Decimal
    max: Decimal
    points: Decimal


@dataclass(frozen=True, kw_only=True)
class IndicatorRules:
    method: ClassVar[str] = ""
    code: str
    max_points: Decimal
    extras: tuple[Extra, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ManualRules(IndicatorRules):
    """手工扣分 — points lost are entered directly (the behaviour before rule-based scoring)."""

    method: ClassVar[str] = "manual"


@dataclass(frozen=True, kw_only=True)
class DeductRules(IndicatorRules):
    """按次扣分 — per occurrence, by finder or multiplied, capped (扣完为止)."""

    method: ClassVar[str] = "deduct"
    amount: Decimal | None = None
    by_finder: tuple[tuple[str, Decimal], ...] = ()
    multipliers: tuple[tuple[str, Decimal], ...] = ()
    # None means the indicator maximum; kept as None so a later change of the maximum follows.
    cap: Decimal | None = None
    unrectified_extra: Decimal = ZERO

    @property
    def limit(self) -> Decimal:
        return self.max_points if self.cap is None else self.cap

    def per_occurrence(self, finder: str | None) -> Decimal | None:
        """Points per occurrence found by `finder`; None when the rules give no amount for it."""
        if finder is not None and self.by_finder:
            return dict(self.by_finder).get(finder, self.amount)
        if finder is not None and self.multipliers and self.amount is not None:
            return self.amount * dict(self.multipliers).get(finder, Decimal(1))
        return self.amount


@dataclass(frozen=True, kw_only=True)
class RateRules(IndicatorRules):
    """比率计分 — `threshold` (full at or above, pro rata loss below) or `proportional`."""

    method: ClassVar[str] = "rate"
    mode: str
    threshold: Decimal | None = None
    per_point: Decimal | None = None
    when_no_data: str = "full"


@dataclass(frozen=True, kw_only=True)
class TieredRules(IndicatorRules):
    """分档计分 — a value (e.g. survey average) falls into one band; outside all bands earns 0."""

    method: ClassVar[str] = "tiered"
    bands: tuple[Band, ...]


@dataclass(frozen=True, kw_only=True)
class ChecklistRules(IndicatorRules):
    """清单计分 — the sum of ticked items; the items add up to the maximum."""

    method: ClassVar[str] = "checklist"
    items: tuple[Item, ...]


@dataclass(frozen=True, kw_only=True)
class BonusRules(IndicatorRules):
    """加分 — points added per recorded item, capped (`cap` None means the maximum)."""

    method: ClassVar[str] = "bonus"
    items: tuple[Item, ...]
    cap: Decimal | None = None

    @property
    def limit(self) -> Decimal:
        return self.max_points if self.cap is None else self.cap


@dataclass(frozen=True, kw_only=True)
class VetoRules(IndicatorRules):
    """否决 — recorded items fail the period or zero a first-level indicator."""

    method: ClassVar[str] = "veto"
    items: tuple[VetoItem, ...]
