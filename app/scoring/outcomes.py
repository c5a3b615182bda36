"""What the scoring engine works on and returns: facts, nodes, deductions, scores, grades."""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

from app.scoring.rules import IndicatorRules

FACT_KINDS = ("manual", "occurrence", "rate", "value", "check", "bonus", "veto", "extra", "unreported")
# Written when a self-report closes overdue with the "zero" rule: the indicator scores 0 at that
# stage, whatever its method, until a later stage revises it.
UNREPORTED = "unreported"
NODE_KINDS = ("scored", "bonus", "veto")
# The one fact kind each method consumes; "extra" facts are accepted wherever extras are configured.
METHOD_FACT_KIND = {
    "deduct": "occurrence",
    "tiered": "value",
    "checklist": "check",
}  # others: the method name
FAILED_GRADE = "不达标"
DEFAULT_GRADE_BANDS: tuple[tuple[Decimal, str], ...] = tuple(
    (Decimal(threshold), label) for threshold, label in ((90, "优"), (80, "良"), (60, "中"), (0, "差"))
)
ZERO = Decimal(0)
HUNDRED = Decimal(100)
# 34 digits (decimal128) is far beyond any score; only divisions (rates) ever use them, and
# a fixed context makes those reproducible whatever the calling thread has set.
ARITHMETIC = decimal.Context(
    prec=34,
    rounding=ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
ROUNDING_MODES = {"half_up": ROUND_HALF_UP, "down": ROUND_DOWN, "half_even": ROUND_HALF_EVEN}


@dataclass(frozen=True)
class FactContent:
    """事实内容 — what a fact says: the one description of a fact's fields.

    Every holder of a fact takes its fields from here: the form's `FactInput` is this class,
    the engine's `Fact` adds an id and an indicator code, and the stored row (`score_facts`,
    app/scoring/models.py) has one column per field, which a test checks. Copies between them go
    through `fact_values`, so a new field is added here (and as a column) and nowhere else.
    """

    kind: str
    amount: Decimal | None = None
    found_by: str | None = None
    rectified: bool = True
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    value: Decimal | None = None
    item: str | None = None
    occurred_on: date | None = None
    place: str = ""
    description: str = ""


FACT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(FactContent))


def fact_values(fact: Any) -> dict[str, Any]:
    """The content of *fact* (a stored row, a FactInput, an engine Fact) by field name."""
    return {name: getattr(fact, name) for name in FACT_FIELDS}


@dataclass(frozen=True)
class FactIdentity:
    """Which fact it is: a unique id (it orders the facts) and the indicator's code."""

    id: int
    indicator: str


# Dataclasses take the fields of the bases in reverse order, so FactIdentity's come first:
# Fact(id, indicator, kind, amount=…, …).
@dataclass(frozen=True)
class Fact(FactContent, FactIdentity):
    """一条事实 — one recorded fact (an occurrence, a rate, a ticked item …) about one indicator."""

    @classmethod
    def of(cls, fact: Any, fact_id: int, indicator: str) -> Fact:
        """The engine's copy of *fact* (a stored row or a FactInput) as fact *fact_id* of *indicator*."""
        return cls(id=fact_id, indicator=indicator, **fact_values(fact))


@dataclass(frozen=True)
class Deduction:
    """扣分说明 — one change to an indicator's score: points lost (negative: points added)."""

    indicator: str
    rule: str
    amount: Decimal
    reason: str
    fact_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class IndicatorScore:
    """A leaf's score: `raw` is exact; `score` is `raw` rounded once. raw = start − Σ amounts,
    where start is the maximum for scored indicators and 0 for bonus and veto ones."""

    code: str
    max_points: Decimal
    score: Decimal
    deductions: tuple[Deduction, ...]
    raw: Decimal


@dataclass(frozen=True)
class Rounding:
    """How an indicator's exact score is rounded: `places` decimals, half_up / down / half_even."""

    places: int = 2
    mode: str = "half_up"

    def __post_init__(self) -> None:
        if isinstance(self.places, bool) or not isinstance(self.places, int) or not 0 <= self.places <= 6:
            raise ValueError("保留小数位数须为 0 到 6 的整数")
        if self.mode not in ROUNDING_MODES:
            raise ValueError(f"舍入方式须为 {'、'.join(ROUNDING_MODES)} 之一")

    def apply(self, value: Decimal) -> Decimal:
        return value.quantize(Decimal(1).scaleb(-self.places), rounding=ROUNDING_MODES[self.mode])


DEFAULT_ROUNDING = Rounding()


@dataclass
class SchemeNode:
    """考核指标 — a node of the scheme tree; leaves carry rules (None on a scored leaf: manual)."""

    code: str
    name: str
    max_points: Decimal
    kind: str = "scored"
    parent: str | None = None
    rules: IndicatorRules | None = None


@dataclass(frozen=True)
class VetoOutcome:
    """An applied veto item: the period failed and/or first-level indicators zeroed."""

    indicator: str
    item: str
    failed: bool
    zeroed: tuple[str, ...]
    reason: str
    fact_ids: tuple[int, ...]


@dataclass(frozen=True)
class SchemeScore:
    """One unit's scores; `groups` are sums before veto, `first_level` after it."""

    total_points: Decimal
    leaves: dict[str, IndicatorScore]
    groups: dict[str, Decimal]
    first_level: dict[str, Decimal]
    base_total: Decimal
    bonus_raw: Decimal
    bonus: Decimal
    total: Decimal
    vetoed: tuple[VetoOutcome, ...]
    notes: tuple[str, ...]

    @property
    def failed(self) -> bool:
        return any(v.failed for v in self.vetoed)

    def grade(self, bands: Sequence[tuple[Decimal | int, str]] = DEFAULT_GRADE_BANDS) -> str:
        return grade(self.total, bands, scheme_total=self.total_points, failed=self.failed)


def fmt(value: Decimal) -> str:
    """Points in a reason: two decimals; more only if the exact value has them (never hidden)."""
    if value == value.quantize(Decimal("0.01")):
        return f"{value.quantize(Decimal('0.01')):f}"
    text = f"{value.normalize():f}"
    return text if len(text) <= 10 else f"约 {value.quantize(Decimal('0.0001')):f}"


def plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def grade(
    total: Decimal,
    bands: Sequence[tuple[Decimal | int, str]] = DEFAULT_GRADE_BANDS,
    *,
    scheme_total: Decimal = Decimal(75),
    failed: bool = False,
) -> str:
    """等次 — thresholds are percentages of the scheme total (0–100), so the same bands serve a
    75-point and a 100-point scheme: 优 ≥ 90 %, 良 ≥ 80 %, 中 ≥ 60 %, else 差. A failed veto
    gives 不达标 whatever the total."""
    if failed:
        return FAILED_GRADE
    if scheme_total <= 0:
        raise ValueError("细则总分须大于 0")
    for threshold, label in sorted(bands, key=lambda band: Decimal(band[0]), reverse=True):
        if isinstance(threshold, float) or not 0 <= threshold <= 100:
            raise ValueError(f"等次 {label} 的下限须为 0 到 100 之间的 Decimal")
        # Cross-multiplied so no division (and no rounding) decides a boundary case.
        if total * HUNDRED >= Decimal(threshold) * scheme_total:
            return label
    raise ValueError(f"总分 {total} 低于所有等次的下限")
