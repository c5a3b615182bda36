"""Readable Chinese summaries of an indicator's scoring rules, for the scheme pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.schemes.exchange import chinese_numeral, fmt_points, parse_decimal
from app.schemes.models import Indicator, Scheme
from app.scoring.rule_reading import parse_rules
from app.scoring.rules import (
    FINDER_LABELS,
    BonusRules,
    ChecklistRules,
    DeductRules,
    IndicatorRules,
    ManualRules,
    RateRules,
    RuleError,
    TieredRules,
    VetoRules,
)

METHOD_LABELS = {
    "manual": "手工录入",
    "deduct": "按次扣分",
    "rate": "比率计分",
    "tiered": "分档计分",
    "checklist": "清单计分",
    "bonus": "加分",
    "veto": "否决",
}


def _p(value: Decimal) -> str:
    return f"{value:.2f}"


def _implied_max(rules: Mapping[str, Any]) -> Decimal:
    """A maximum the rules accept when the caller gives none: the sum of checklist items, else large."""
    if rules.get("method") == "checklist" and isinstance(rules.get("items"), list):
        points = [parse_decimal(i.get("points")) for i in rules["items"] if isinstance(i, Mapping)]
        return sum((p for p in points if p is not None), Decimal(0))
    return Decimal(1_000_000)


def describe_rules(
    rules: Mapping[str, Any] | None, max_points: Decimal | None = None, subject: str = ""
) -> str:
    """One sentence per method, e.g. "每起扣 1.00 分（媒体曝光 ×2），扣完为止"; `subject` names a rate."""
    if max_points is None:
        max_points = _implied_max(rules) if isinstance(rules, Mapping) else Decimal(0)
    try:
        parsed = parse_rules(rules, max_points, "")
    except RuleError as exc:
        return "计分规则有误：" + str(exc).removeprefix("指标 ：")
    parts = [_describe(parsed, subject)]
    parts += [f"{e.label}每起扣 {_p(e.amount)} 分" for e in parsed.extras]
    return "；".join(parts)


def _describe(r: IndicatorRules, subject: str) -> str:
    if isinstance(r, ManualRules):
        return "手工录入扣分"
    if isinstance(r, DeductRules):
        return _deduct(r)
    if isinstance(r, RateRules):
        name = subject if subject.endswith("率") else "比率"
        no_data = "无数据时得满分" if r.when_no_data == "full" else "无数据时得 0 分"
        if r.mode == "threshold":
            assert r.threshold is not None and r.per_point is not None
            return (
                f"{name} ≥ {fmt_points(r.threshold)}% 得满分，"
                f"每低 1 个百分点扣 {_p(r.per_point)} 分；{no_data}"
            )
        return f"按{name}折算（分值 × 比率，最多得满分）；{no_data}"
    if isinstance(r, TieredRules):
        last = len(r.bands) - 1
        bands = [
            f"{fmt_points(b.min)}–{fmt_points(b.max)}{'' if i == last else '（不含）'} 得 {_p(b.points)} 分"
            for i, b in enumerate(r.bands)
        ]
        return "分档计分：" + "，".join(bands) + "，不在各档得 0 分"
    if isinstance(r, ChecklistRules):
        return "逐项计分：" + "、".join(f"{i.label} {_p(i.points)} 分" for i in r.items)
    if isinstance(r, BonusRules):
        items = "、".join(f"{i.label} +{_p(i.points)} 分" for i in r.items)
        return f"加分：{items}；最多加 {_p(r.limit)} 分"
    if isinstance(r, VetoRules):
        outcomes = [
            f"{i.label}（当期考核不达标）" if i.outcome == "fail" else f"{i.label}（{i.target} 得 0 分）"
            for i in r.items
        ]
        return "否决：" + "；".join(outcomes)
    return METHOD_LABELS.get(r.method, r.method)


def _deduct(r: DeductRules) -> str:
    if r.by_finder:
        finders = " / ".join(f"{FINDER_LABELS[f]} {_p(a)}" for f, a in r.by_finder)
        text = (
            f"每起扣 {_p(r.amount)} 分（{finders}）"
            if r.amount is not None
            else f"每起按发现方扣分（{finders}）"
        )
    else:
        text = f"每起扣 {_p(r.amount or Decimal(0))} 分"
        if r.multipliers:
            text += "（" + "、".join(f"{FINDER_LABELS[f]} ×{fmt_points(m)}" for f, m in r.multipliers) + "）"
    text += "，扣完为止" if r.cap is None else f"，最多扣 {_p(r.cap)} 分"
    if r.unrectified_extra:
        text += f"；未按期整改每起加扣 {_p(r.unrectified_extra)} 分"
    return text


@dataclass
class TreeRow:
    """One line of the scheme page: an indicator with its place and, for groups, its children's sum."""

    indicator: Indicator
    level: int
    number: str  # 序号: 一 / 1 / 1.2
    child_sum: Decimal | None  # None for leaves
    first: bool  # first / last among its siblings
    last: bool
    summary: str  # the rules in words (leaves)

    @property
    def sum_ok(self) -> bool:
        return self.child_sum is None or self.child_sum == self.indicator.max_points


def tree_view(scheme: Scheme) -> list[TreeRow]:
    """The indicators in tree order (siblings by sort_order), as the scheme page shows them."""
    children: dict[int | None, list[Indicator]] = {}
    for indicator in sorted(scheme.indicators, key=lambda i: (i.sort_order, i.id)):
        children.setdefault(indicator.parent_id, []).append(indicator)
    rows: list[TreeRow] = []

    def walk(parent_id: int | None, level: int, prefix: str) -> None:
        kids = children.get(parent_id, [])
        for n, indicator in enumerate(kids, start=1):
            number = chinese_numeral(n) if level == 1 else f"{prefix}{n}"
            own = children.get(indicator.id)
            child_sum = sum((c.max_points for c in own), Decimal(0)) if own else None
            summary = "" if own else describe_rules(indicator.rules, indicator.max_points, indicator.name)
            rows.append(TreeRow(indicator, level, number, child_sum, n == 1, n == len(kids), summary))
            if level < 3:
                walk(indicator.id, level + 1, "" if level == 1 else f"{number}.")

    walk(None, 1, "")
    return rows
