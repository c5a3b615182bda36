"""Scoring one indicator by its method: the facts in, the score and its explanation out."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal, localcontext

from app.scoring.outcomes import (
    ARITHMETIC,
    DEFAULT_ROUNDING,
    FACT_KINDS,
    FAILED_GRADE,
    HUNDRED,
    METHOD_FACT_KIND,
    UNREPORTED,
    ZERO,
    Deduction,
    Fact,
    IndicatorScore,
    Rounding,
    SchemeNode,
    fmt,
    plain,
)
from app.scoring.rule_reading import parse_rules
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
)


def fact_error(fact: Fact, message: str) -> ValueError:
    return ValueError(f"事实 #{fact.id}（指标 {fact.indicator}）：{message}")


def _number(fact: Fact, name: str, non_negative: bool = False) -> Decimal:
    value = getattr(fact, name)
    # A float would make the score depend on binary rounding: refuse it rather than convert.
    if not isinstance(value, Decimal) or not value.is_finite() or (non_negative and value < 0):
        need = "不小于 0 的" if non_negative else "有限的"
        raise fact_error(fact, f"{name} 须为{need} Decimal")
    return value


def _check_fact(node: SchemeNode, rules: IndicatorRules, fact: Fact) -> None:
    if fact.indicator != node.code:
        raise fact_error(fact, f"不属于指标 {node.code}")
    if fact.kind not in FACT_KINDS:
        raise fact_error(fact, f"类型 {fact.kind} 未知")
    if fact.kind == UNREPORTED:
        return
    if fact.kind == "extra":
        if fact.item not in {e.key for e in rules.extras}:
            raise fact_error(fact, f"附加扣分项 {fact.item} 未在规则中配置")
        return
    if fact.kind != METHOD_FACT_KIND.get(rules.method, rules.method):
        raise fact_error(fact, f"类型 {fact.kind} 不适用于 {rules.method} 计分方法")
    if fact.kind == "manual":
        _number(fact, "amount")
    elif fact.kind == "occurrence":
        if fact.found_by is not None and fact.found_by not in FINDERS:
            raise fact_error(fact, f"发现方 {fact.found_by} 须为 {'、'.join(FINDERS)} 之一")
        if isinstance(rules, DeductRules) and rules.per_occurrence(fact.found_by) is None:
            raise fact_error(fact, "未注明发现方，规则也没有默认扣分")
    elif fact.kind == "rate":
        _number(fact, "numerator", True)
        _number(fact, "denominator", True)
    elif fact.kind == "value":
        _number(fact, "value")
    elif fact.item not in {i.key for i in getattr(rules, "items", ())}:
        raise fact_error(fact, f"项目 {fact.item} 未在规则中配置")


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
        what = f"扣 {fmt(amount)} 分" if amount >= 0 else f"恢复 {fmt(-amount)} 分"
        out.add("manual", amount, f"{f.description or '手工扣分'}：{what}", [f])


def _deduct(node: SchemeNode, rules: DeductRules, facts: list[Fact], out: _Explanation) -> None:
    for finder in (None, *FINDERS):
        found = [f for f in facts if f.found_by == finder]
        if found:
            per = rules.per_occurrence(finder) or ZERO
            factor = dict(rules.multipliers).get(finder or "")
            how = f"{fmt(rules.amount or ZERO)} × {plain(factor)} = {fmt(per)}" if factor else fmt(per)
            who = f"{FINDER_LABELS[finder]}发现" if finder else "发现"
            rule = f"deduct.{finder}" if finder else "deduct"
            out.add(rule, per * len(found), f"{who} {len(found)} 起，每起扣 {how} 分", found)
    late = [f for f in facts if not f.rectified]
    if late and rules.unrectified_extra > 0:
        per = rules.unrectified_extra
        out.add(
            "deduct.unrectified", per * len(late), f"未按期整改 {len(late)} 起，每起加扣 {fmt(per)} 分", late
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
    seen = f"{node.name} {fmt(num * HUNDRED / den)}%（{plain(num)}/{plain(den)}）"
    if rules.mode == "proportional":
        # A single division, at the end, keeps the result exact whenever it can be.
        lost = top - top * min(num, den) / den
        out.add("rate.proportional", lost, f"{seen}，按比例得 {fmt(top - lost)} 分，扣 {fmt(lost)} 分", facts)
        return
    threshold, per_point = rules.threshold or ZERO, rules.per_point or ZERO
    short = threshold * den - num * HUNDRED  # percentage points below the threshold, times den
    if short <= 0:
        out.add("rate.met", ZERO, f"{seen}，达到 {plain(threshold)}% 标准，不扣分", facts)
        return
    lost = per_point * short / den
    below = f"{seen}，低于 {plain(threshold)}% 标准 {fmt(short / den)} 个百分点"
    out.add(
        "rate.below_threshold", lost, f"{below}，每个百分点扣 {fmt(per_point)} 分，扣 {fmt(lost)} 分", facts
    )


def _tiered(node: SchemeNode, rules: TieredRules, facts: list[Fact], out: _Explanation) -> None:
    if not facts:
        out.add("tiered.no_data", node.max_points, f"{node.name}：本期无数值记录，不得分")
        return
    if len(facts) > 1:
        raise fact_error(facts[1], f"分档指标每期只能有一个数值（另见事实 #{facts[0].id}）")
    value, top = facts[0].value or ZERO, rules.bands[-1]
    for band in rules.bands:
        # Half-open bands, except that the highest one includes its upper bound (e.g. 100).
        if band.min <= value < band.max or (band is top and value == band.max):
            where = f"[{plain(band.min)}, {plain(band.max)}{']' if band is top else ')'}"
            reason = f"{node.name} {plain(value)} 落在 {where} 档，得 {fmt(band.points)} 分"
            out.add("tiered.band", node.max_points - band.points, reason, facts)
            return
    out.add("tiered.outside", node.max_points, f"{node.name} {plain(value)} 不在任何分档内，得 0 分", facts)


def _checklist(node: SchemeNode, rules: ChecklistRules, facts: list[Fact], out: _Explanation) -> None:
    # Ticking an item twice still earns it once; the explanation lists what is missing.
    ticked = {f.item for f in facts}
    for i in rules.items:
        if i.key not in ticked:
            out.add(f"checklist.missing:{i.key}", i.points, f"未完成「{i.label}」，扣 {fmt(i.points)} 分")


def _bonus(node: SchemeNode, rules: BonusRules, facts: list[Fact], out: _Explanation) -> None:
    for i in rules.items:
        got = [f for f in facts if f.item == i.key]
        if got:
            out.add(
                f"bonus:{i.key}",
                -i.points * len(got),
                f"{i.label} {len(got)} 项，每项加 {fmt(i.points)} 分",
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


def rules_of(node: SchemeNode, rounding: Rounding) -> IndicatorRules:
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
    node: SchemeNode, facts: Iterable[Fact], rounding: Rounding = DEFAULT_ROUNDING
) -> IndicatorScore:
    """Score one leaf from its facts; see the module docstring for the guarantees."""
    with localcontext(ARITHMETIC):
        rules = rules_of(node, rounding)
        own = sorted(facts, key=lambda f: f.id)
        for fact in own:
            _check_fact(node, rules, fact)
        out = _Explanation(node.code)
        if any(f.kind == UNREPORTED for f in own):
            marked = [f for f in own if f.kind == UNREPORTED]
            out.add(UNREPORTED, node.max_points, "逾期未报，按 0 分计", marked)
            return IndicatorScore(node.code, node.max_points, rounding.apply(ZERO), tuple(out), ZERO)
        _BASE[rules.method](node, rules, [f for f in own if f.kind != "extra"], out)
        moved = sum((d.amount for d in out), ZERO)
        if isinstance(rules, BonusRules):
            start = min(-moved, rules.limit)
            if -moved > rules.limit:
                reason = f"加分合计 {fmt(-moved)} 分，超过上限 {fmt(rules.limit)} 分，按上限计"
                out.add("cap", -moved - rules.limit, reason)
        elif isinstance(rules, VetoRules):
            start = ZERO
        else:
            limit = rules.limit if isinstance(rules, DeductRules) else node.max_points
            start = node.max_points - min(max(moved, ZERO), limit)
            if moved > limit:
                out.add("cap", limit - moved, f"扣分合计 {fmt(moved)} 分，超过上限 {fmt(limit)} 分，扣完为止")
            elif moved < 0:  # manual corrections restored more than had been deducted
                out.add("ceiling", -moved, "恢复分值超过已扣分值，按满分计")
        extra_total = ZERO
        for extra in rules.extras:
            got = [f for f in own if f.kind == "extra" and f.item == extra.key]
            if got:
                extra_total += extra.amount * len(got)
                reason = f"{extra.label} {len(got)} 次，每次扣 {fmt(extra.amount)} 分"
                out.add(f"extra:{extra.key}", extra.amount * len(got), reason, got)
        if extra_total > start:
            out.add("floor", start - extra_total, f"附加扣分超过剩余得分 {fmt(start)} 分，本项按 0 分计")
        raw = start - min(extra_total, start)
        return IndicatorScore(node.code, node.max_points, rounding.apply(raw), tuple(out), raw)
