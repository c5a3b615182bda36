"""规则计分引擎 — scores computed from recorded facts by configured rules, every point explained.

Pure Python (no Flask, no SQLAlchemy): the application loads facts and the scheme, calls
`score_scheme`, and stores what it returns. Guarantees the callers rely on:

- Decimal only, evaluated in a fixed context, so the caller's decimal settings change nothing;
- each indicator's raw score is exact and rounded once (`Rounding`); parents add rounded leaves;
- every leaf lies in [0, max], a bonus within its cap, the total never above the scheme total;
- facts are sorted by id before use, so their order never matters; same input, same output;
- each change to a score is a `Deduction` with a stable rule key and a Chinese reason.
"""

from __future__ import annotations

import decimal
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from app.scoring.rules import (
    FINDER_LABELS,
    FINDERS,
    BonusRules,
    ChecklistRules,
    DeductRules,
    IndicatorRules,
    ManualRules,
    RateRules,
    TieredRules,
    VetoRules,
    parse_rules,
)

FACT_KINDS = ("manual", "occurrence", "rate", "value", "check", "bonus", "veto", "extra")
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
class Fact:
    """一条事实 — one recorded fact (an occurrence, a rate, a ticked item …) about one indicator."""

    id: int
    indicator: str
    kind: str
    amount: Decimal | None = None
    found_by: str | None = None
    rectified: bool = True
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    value: Decimal | None = None
    item: str | None = None
    description: str = ""


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


def _fmt(value: Decimal) -> str:
    """Points in a reason: two decimals; more only if the exact value has them (never hidden)."""
    if value == value.quantize(Decimal("0.01")):
        return f"{value.quantize(Decimal('0.01')):f}"
    text = f"{value.normalize():f}"
    return text if len(text) <= 10 else f"约 {value.quantize(Decimal('0.0001')):f}"


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _fact_error(fact: Fact, message: str) -> ValueError:
    return ValueError(f"事实 #{fact.id}（指标 {fact.indicator}）：{message}")


def _number(fact: Fact, name: str, non_negative: bool = False) -> Decimal:
    value = getattr(fact, name)
    # A float would make the score depend on binary rounding: refuse it rather than convert.
    if not isinstance(value, Decimal) or not value.is_finite() or (non_negative and value < 0):
        need = "不小于 0 的" if non_negative else "有限的"
        raise _fact_error(fact, f"{name} 须为{need} Decimal")
    return value


def _check_fact(node: SchemeNode, rules: IndicatorRules, fact: Fact) -> None:
    if fact.indicator != node.code:
        raise _fact_error(fact, f"不属于指标 {node.code}")
    if fact.kind not in FACT_KINDS:
        raise _fact_error(fact, f"类型 {fact.kind} 未知")
    if fact.kind == "extra":
        if fact.item not in {e.key for e in rules.extras}:
            raise _fact_error(fact, f"附加扣分项 {fact.item} 未在规则中配置")
        return
    if fact.kind != METHOD_FACT_KIND.get(rules.method, rules.method):
        raise _fact_error(fact, f"类型 {fact.kind} 不适用于 {rules.method} 计分方法")
    if fact.kind == "manual":
        _number(fact, "amount")
    elif fact.kind == "occurrence":
        if fact.found_by is not None and fact.found_by not in FINDERS:
            raise _fact_error(fact, f"发现方 {fact.found_by} 须为 {'、'.join(FINDERS)} 之一")
        if isinstance(rules, DeductRules) and rules.per_occurrence(fact.found_by) is None:
            raise _fact_error(fact, "未注明发现方，规则也没有默认扣分")
    elif fact.kind == "rate":
        _number(fact, "numerator", True)
        _number(fact, "denominator", True)
    elif fact.kind == "value":
        _number(fact, "value")
    elif fact.item not in {i.key for i in getattr(rules, "items", ())}:
        raise _fact_error(fact, f"项目 {fact.item} 未在规则中配置")


def _ids(facts: Sequence[Fact]) -> tuple[int, ...]:
    return tuple(f.id for f in facts)


class _Explanation(list[Deduction]):
    """The deductions of one indicator, in the order the rules produce them."""

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code

    def add(self, rule: str, amount: Decimal, reason: str, facts: Sequence[Fact] = ()) -> None:
        self.append(Deduction(self.code, rule, amount, reason, _ids(facts)))


def _manual(node: SchemeNode, rules: ManualRules, facts: list[Fact], out: _Explanation) -> None:
    for f in facts:
        amount = f.amount or ZERO
        what = f"扣 {_fmt(amount)} 分" if amount >= 0 else f"恢复 {_fmt(-amount)} 分"
        out.add("manual", amount, f"{f.description or '手工扣分'}：{what}", [f])


def _deduct(node: SchemeNode, rules: DeductRules, facts: list[Fact], out: _Explanation) -> None:
    for finder in (None, *FINDERS):
        found = [f for f in facts if f.found_by == finder]
        if found:
            per = rules.per_occurrence(finder) or ZERO
            factor = dict(rules.multipliers).get(finder or "")
            how = f"{_fmt(rules.amount or ZERO)} × {_plain(factor)} = {_fmt(per)}" if factor else _fmt(per)
            who = f"{FINDER_LABELS[finder]}发现" if finder else "发现"
            rule = f"deduct.{finder}" if finder else "deduct"
            out.add(rule, per * len(found), f"{who} {len(found)} 起，每起扣 {how} 分", found)
    late = [f for f in facts if not f.rectified]
    if late and rules.unrectified_extra > 0:
        per = rules.unrectified_extra
        out.add(
            "deduct.unrectified", per * len(late), f"未按期整改 {len(late)} 起，每起加扣 {_fmt(per)} 分", late
        )


def _rate(node: SchemeNode, rules: RateRules, facts: list[Fact], out: _Explanation) -> None:
    # Several rate facts (e.g. one per month) pool their counts: the period's rate is Σn / Σd.
    num = sum((f.numerator or ZERO for f in facts), ZERO)
    den = sum((f.denominator or ZERO for f in facts), ZERO)
    top = node.max_points
    if den == 0:
        full = rules.when_no_data == "full"
        outcome = "按规则得满分" if full else "按规则不得分"
        out.add(
            "rate.no_data",
            ZERO if full else top,
            f"{node.name}：本期无统计数据（分母为 0），{outcome}",
            facts,
        )
        return
    seen = f"{node.name} {_fmt(num * HUNDRED / den)}%（{_plain(num)}/{_plain(den)}）"
    if rules.mode == "proportional":
        # A single division, at the end, keeps the result exact whenever it can be.
        lost = top - top * min(num, den) / den
        out.add(
            "rate.proportional", lost, f"{seen}，按比例得 {_fmt(top - lost)} 分，扣 {_fmt(lost)} 分", facts
        )
        return
    threshold, per_point = rules.threshold or ZERO, rules.per_point or ZERO
    short = threshold * den - num * HUNDRED  # percentage points below the threshold, times den
    if short <= 0:
        out.add("rate.met", ZERO, f"{seen}，达到 {_plain(threshold)}% 标准，不扣分", facts)
        return
    lost = per_point * short / den
    below = f"{seen}，低于 {_plain(threshold)}% 标准 {_fmt(short / den)} 个百分点"
    out.add(
        "rate.below_threshold", lost, f"{below}，每个百分点扣 {_fmt(per_point)} 分，扣 {_fmt(lost)} 分", facts
    )


def _tiered(node: SchemeNode, rules: TieredRules, facts: list[Fact], out: _Explanation) -> None:
    if not facts:
        out.add("tiered.no_data", node.max_points, f"{node.name}：本期无数值记录，不得分")
        return
    if len(facts) > 1:
        raise _fact_error(facts[1], f"分档指标每期只能有一个数值（另见事实 #{facts[0].id}）")
    value, top = facts[0].value or ZERO, rules.bands[-1]
    for band in rules.bands:
        # Half-open bands, except that the highest one includes its upper bound (e.g. 100).
        if band.min <= value < band.max or (band is top and value == band.max):
            where = f"[{_plain(band.min)}, {_plain(band.max)}{']' if band is top else ')'}"
            reason = f"{node.name} {_plain(value)} 落在 {where} 档，得 {_fmt(band.points)} 分"
            out.add("tiered.band", node.max_points - band.points, reason, facts)
            return
    out.add("tiered.outside", node.max_points, f"{node.name} {_plain(value)} 不在任何分档内，得 0 分", facts)


def _checklist(node: SchemeNode, rules: ChecklistRules, facts: list[Fact], out: _Explanation) -> None:
    # Ticking an item twice still earns it once; the explanation lists what is missing.
    ticked = {f.item for f in facts}
    for i in rules.items:
        if i.key not in ticked:
            out.add(f"checklist.missing:{i.key}", i.points, f"未完成「{i.label}」，扣 {_fmt(i.points)} 分")


def _bonus(node: SchemeNode, rules: BonusRules, facts: list[Fact], out: _Explanation) -> None:
    for i in rules.items:
        got = [f for f in facts if f.item == i.key]
        if got:
            out.add(
                f"bonus:{i.key}",
                -i.points * len(got),
                f"{i.label} {len(got)} 项，每项加 {_fmt(i.points)} 分",
                got,
            )


def _veto(node: SchemeNode, rules: VetoRules, facts: list[Fact], out: _Explanation) -> None:
    for i in rules.items:
        got = [f for f in facts if f.item == i.key]
        if got:
            effect = f"考核{FAILED_GRADE}" if i.outcome == "fail" else f"一级指标 {i.target} 记 0 分"
            out.add(f"veto:{i.key}", ZERO, f"否决事项「{i.label}」成立 {len(got)} 起：当期{effect}", got)


_BASE: dict[str, Callable[..., None]] = {
    "manual": _manual,
    "deduct": _deduct,
    "rate": _rate,
    "tiered": _tiered,
    "checklist": _checklist,
    "bonus": _bonus,
    "veto": _veto,
}


def _rules_of(node: SchemeNode, rounding: Rounding) -> IndicatorRules:
    """The node's rules after the checks that keep its score inside [0, max]."""
    if not isinstance(node.max_points, Decimal) or not node.max_points.is_finite() or node.max_points < 0:
        raise ValueError(f"指标 {node.code}：分值须为不小于 0 的 Decimal")
    if rounding.apply(node.max_points) != node.max_points:
        raise ValueError(f"指标 {node.code}：分值 {node.max_points} 超出保留的 {rounding.places} 位小数")
    if node.rules is None and node.kind != "scored":
        raise ValueError(f"指标 {node.code}：加分项、否决项须配置 {node.kind} 规则")
    rules = node.rules or parse_rules(None, node.max_points, node.code)
    wanted = {"bonus": "bonus", "veto": "veto"}.get(node.kind)
    if (rules.method if rules.method in ("bonus", "veto") else None) != wanted:
        raise ValueError(f"指标 {node.code}：{node.kind} 类指标不能使用 {rules.method} 计分方法")
    if rules.code != node.code or rules.max_points != node.max_points:
        raise ValueError(f"指标 {node.code}：规则属于 {rules.code}（{rules.max_points} 分），与指标不符")
    if isinstance(rules, BonusRules) and rounding.apply(rules.limit) != rules.limit:
        raise ValueError(f"指标 {node.code}：加分上限 {rules.limit} 超出保留的 {rounding.places} 位小数")
    return rules


def score_indicator(
    node: SchemeNode, facts: Iterable[Fact], rounding: Rounding = Rounding()
) -> IndicatorScore:
    """Score one leaf from its facts; see the module docstring for the guarantees."""
    with localcontext(ARITHMETIC):
        rules = _rules_of(node, rounding)
        own = sorted(facts, key=lambda f: f.id)
        for fact in own:
            _check_fact(node, rules, fact)
        out = _Explanation(node.code)
        _BASE[rules.method](node, rules, [f for f in own if f.kind != "extra"], out)
        moved = sum((d.amount for d in out), ZERO)
        if isinstance(rules, BonusRules):
            start = min(-moved, rules.limit)
            if -moved > rules.limit:
                reason = f"加分合计 {_fmt(-moved)} 分，超过上限 {_fmt(rules.limit)} 分，按上限计"
                out.add("cap", -moved - rules.limit, reason)
        elif isinstance(rules, VetoRules):
            start = ZERO
        else:
            limit = rules.limit if isinstance(rules, DeductRules) else node.max_points
            start = node.max_points - min(max(moved, ZERO), limit)
            if moved > limit:
                out.add(
                    "cap", limit - moved, f"扣分合计 {_fmt(moved)} 分，超过上限 {_fmt(limit)} 分，扣完为止"
                )
            elif moved < 0:  # manual corrections restored more than had been deducted
                out.add("ceiling", -moved, "恢复分值超过已扣分值，按满分计")
        extra_total = ZERO
        for extra in rules.extras:
            got = [f for f in own if f.kind == "extra" and f.item == extra.key]
            if got:
                extra_total += extra.amount * len(got)
                reason = f"{extra.label} {len(got)} 次，每次扣 {_fmt(extra.amount)} 分"
                out.add(f"extra:{extra.key}", extra.amount * len(got), reason, got)
        if extra_total > start:
            out.add("floor", start - extra_total, f"附加扣分超过剩余得分 {_fmt(start)} 分，本项按 0 分计")
        raw = start - min(extra_total, start)
        return IndicatorScore(node.code, node.max_points, rounding.apply(raw), tuple(out), raw)


def _tree(nodes: Sequence[SchemeNode], total: Decimal, rounding: Rounding) -> dict[str, list[str]]:
    """Check the scheme's shape and return children by parent code ('' for the top level)."""
    by_code: dict[str, SchemeNode] = {}
    for node in nodes:
        if node.code in by_code:
            raise ValueError(f"指标代码 {node.code} 重复")
        if node.kind not in NODE_KINDS:
            raise ValueError(f"指标 {node.code}：类别须为 {'、'.join(NODE_KINDS)} 之一")
        by_code[node.code] = node
    children: dict[str, list[str]] = defaultdict(list)
    for node in nodes:
        if node.parent is not None and node.parent not in by_code:
            raise ValueError(f"指标 {node.code}：上级指标 {node.parent} 不存在")
        if node.parent is not None and by_code[node.parent].kind != node.kind:
            raise ValueError(f"指标 {node.code}：类别须与上级指标 {node.parent} 相同")
        seen, up = {node.code}, node.parent
        while up is not None:
            if up in seen:
                raise ValueError(f"指标 {node.code}：上下级关系形成循环")
            seen.add(up)
            up = by_code[up].parent
        children[node.parent or ""].append(node.code)
    for node in nodes:
        kids = children.get(node.code)
        if not kids:
            rules = _rules_of(node, rounding)
            # Checked up front: a wrong target must not wait for the first veto to surface.
            for item in rules.items if isinstance(rules, VetoRules) else ():
                target = by_code.get(item.target or "")
                if item.outcome == "zero_first_level" and (
                    not target or target.parent or target.kind != "scored"
                ):
                    raise ValueError(
                        f"指标 {node.code}：否决事项 {item.key} 的目标 {item.target} 不是一级计分指标"
                    )
            continue
        if node.rules is not None:
            raise ValueError(f"指标 {node.code} 有下级指标，计分规则须配置在末级指标上")
        # Parents are sums of their children, so only matching maxima keep scores within max.
        kid_total = sum((by_code[k].max_points for k in kids), ZERO)
        if kid_total != node.max_points:
            raise ValueError(f"指标 {node.code} 分值 {node.max_points} 与下级合计 {kid_total} 不符")
    top = sum((by_code[c].max_points for c in children[""] if by_code[c].kind == "scored"), ZERO)
    if not isinstance(total, Decimal) or top != total or rounding.apply(total) != total:
        raise ValueError(f"一级指标合计 {top} 分，与细则总分 {total} 不符")
    return children


def _facts_by_leaf(
    facts: Iterable[Fact], nodes: Sequence[SchemeNode], groups: Mapping[str, list[str]]
) -> dict[str, list[Fact]]:
    known = {n.code for n in nodes}
    facts_of: dict[str, list[Fact]] = defaultdict(list)
    seen: set[int] = set()
    for fact in facts:
        # Ids order the facts (and so the explanations): they must be unique integers.
        if isinstance(fact.id, bool) or not isinstance(fact.id, int) or fact.id in seen:
            raise _fact_error(fact, "编号须为不重复的整数")
        seen.add(fact.id)
        if fact.indicator not in known:
            raise _fact_error(fact, "指标不存在")
        if fact.indicator in groups:
            raise _fact_error(fact, "该指标有下级指标，事实须记录在末级指标上")
        facts_of[fact.indicator].append(fact)
    return facts_of


def _veto_outcomes(
    nodes: Sequence[SchemeNode], facts_of: Mapping[str, list[Fact]], first_level: Mapping[str, Decimal]
) -> list[VetoOutcome]:
    names = {n.code: n.name for n in nodes}
    outcomes = []
    for node in nodes:
        if not isinstance(node.rules, VetoRules):
            continue
        for item in node.rules.items:
            got = tuple(sorted(f.id for f in facts_of.get(node.code, ()) if f.item == item.key))
            if not got:
                continue
            cause = f"否决事项「{item.label}」成立（事实 {'、'.join(f'#{i}' for i in got)}）"
            if item.outcome == "fail":
                outcomes.append(
                    VetoOutcome(node.code, item.key, True, (), f"{cause}：当期考核{FAILED_GRADE}", got)
                )
            else:
                target = item.target or ""
                was = f"原 {_fmt(first_level[target])} 分"
                reason = f"{cause}：一级指标 {target} {names[target]} 记 0 分（{was}）"
                outcomes.append(VetoOutcome(node.code, item.key, False, (target,), reason, got))
    return outcomes


def score_scheme(
    nodes: Sequence[SchemeNode], total: Decimal, facts: Iterable[Fact], rounding: Rounding = Rounding()
) -> SchemeScore:
    """Score one unit for one period: leaves by rules, parents as sums, veto, capped bonus."""
    with localcontext(ARITHMETIC):
        children = _tree(nodes, total, rounding)
        facts_of = _facts_by_leaf(facts, nodes, children)
        leaves = {
            n.code: score_indicator(n, facts_of[n.code], rounding) for n in nodes if n.code not in children
        }
        zero = rounding.apply(ZERO)  # sums start at 0.00 so every figure shows the same places

        def value(code: str) -> Decimal:
            if code in leaves:
                return leaves[code].score
            return sum((value(k) for k in children[code]), zero)

        groups = {n.code: value(n.code) for n in nodes if n.code in children}
        tops = [n for n in nodes if n.parent is None]
        first_level = {n.code: value(n.code) for n in tops if n.kind == "scored"}
        vetoed = _veto_outcomes(nodes, facts_of, first_level)
        for target in (code for outcome in vetoed for code in outcome.zeroed):
            first_level[target] = zero
        base_total = sum(first_level.values(), zero)
        bonus_raw = sum((value(n.code) for n in tops if n.kind == "bonus"), zero)
        # Bonus points fill lost points but never lift the total above the scheme total.
        bonus = min(bonus_raw, total - base_total)
        notes = ()
        if bonus < bonus_raw:
            notes = (f"加分 {_fmt(bonus_raw)} 分，总分以 {_fmt(total)} 分为限，实加 {_fmt(bonus)} 分",)
        sums = (first_level, base_total, bonus_raw, bonus, base_total + bonus)
        return SchemeScore(total, leaves, groups, *sums, tuple(vetoed), notes)


def rank(totals: Mapping[str, Decimal], tie_break: Callable[[str], Any] | None = None) -> dict[str, int]:
    """Competition ranking (1, 1, 3) by total, highest first.

    `tie_break(key)` only orders equal totals, ascending (return e.g. the negated first-level
    score to prefer the higher one); units it separates get distinct ranks, units it cannot
    separate share one. The result lists keys in rank order, ties by key, for stable output.
    """
    secondary = tie_break or (lambda key: 0)
    ordered = sorted(totals, key=lambda key: (-totals[key], secondary(key), key))
    ranks: dict[str, int] = {}
    rank_now = 0
    previous: tuple[Decimal, object] | None = None
    for position, key in enumerate(ordered, start=1):
        current = (totals[key], secondary(key))
        if current != previous:
            rank_now, previous = position, current
        ranks[key] = rank_now
    return ranks


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
