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

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal, localcontext
from typing import Any

from app.scoring.methods import fact_error, rules_of, score_indicator
from app.scoring.outcomes import (
    ARITHMETIC,
    DEFAULT_GRADE_BANDS,
    DEFAULT_ROUNDING,
    FAILED_GRADE,
    HUNDRED,
    NODE_KINDS,
    ROUNDING_MODES,
    ZERO,
    Deduction,
    Fact,
    IndicatorScore,
    Rounding,
    SchemeNode,
    SchemeScore,
    VetoOutcome,
    fmt,
    grade,
)
from app.scoring.rules import (
    VetoRules,
)

__all__ = [
    "ARITHMETIC",
    "DEFAULT_GRADE_BANDS",
    "FAILED_GRADE",
    "HUNDRED",
    "ROUNDING_MODES",
    "Deduction",
    "Fact",
    "IndicatorScore",
    "Rounding",
    "SchemeNode",
    "SchemeScore",
    "VetoOutcome",
    "grade",
    "rank",
    "score_indicator",
    "score_scheme",
]


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
            rules = rules_of(node, rounding)
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
            raise fact_error(fact, "编号须为不重复的整数")
        seen.add(fact.id)
        if fact.indicator not in known:
            raise fact_error(fact, "指标不存在")
        if fact.indicator in groups:
            raise fact_error(fact, "该指标有下级指标，事实须记录在末级指标上")
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
                was = f"原 {fmt(first_level[target])} 分"
                reason = f"{cause}：一级指标 {target} {names[target]} 记 0 分（{was}）"
                outcomes.append(VetoOutcome(node.code, item.key, False, (target,), reason, got))
    return outcomes


LeafScores = dict[tuple[str, tuple[Fact, ...]], IndicatorScore]


def score_scheme(
    nodes: Sequence[SchemeNode],
    total: Decimal,
    facts: Iterable[Fact],
    rounding: Rounding = DEFAULT_ROUNDING,
    leaf_scores: LeafScores | None = None,
) -> SchemeScore:
    """Score one unit for one period: leaves by rules, parents as sums, veto, capped bonus.

    *leaf_scores*, shared by calls with the same *nodes* and *rounding* (one unit's stages), keeps
    each leaf's score by its facts: a leaf whose facts a later stage left as they were is not
    scored again (a leaf's score depends on its rules and facts alone)."""
    with localcontext(ARITHMETIC):
        children = _tree(nodes, total, rounding)
        facts_of = _facts_by_leaf(facts, nodes, children)

        def leaf(node: SchemeNode) -> IndicatorScore:
            if leaf_scores is None:
                return score_indicator(node, facts_of[node.code], rounding)
            key = (node.code, tuple(facts_of[node.code]))
            found = leaf_scores.get(key)
            if found is None:
                found = leaf_scores[key] = score_indicator(node, facts_of[node.code], rounding)
            return found

        leaves = {n.code: leaf(n) for n in nodes if n.code not in children}
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
        notes: tuple[str, ...] = ()
        if bonus < bonus_raw:
            notes = (f"加分 {fmt(bonus_raw)} 分，总分以 {fmt(total)} 分为限，实加 {fmt(bonus)} 分",)
        sums = (first_level, base_total, bonus_raw, bonus, base_total + bonus)
        return SchemeScore(total, leaves, groups, *sums, tuple(vetoed), notes)


def rank(
    totals: Mapping[str, Decimal],
    tie_break: Callable[[str], Any] | None = None,
    last: Collection[str] = frozenset(),
) -> dict[str, int]:
    """Competition ranking (1, 1, 3) by total, highest first.

    `tie_break(key)` only orders equal totals, ascending (return e.g. the negated first-level
    score to prefer the higher one); units it separates get distinct ranks, units it cannot
    separate share one. Units in `last` (those whose veto failed the period, when the scheme says
    so) rank after all the others, among themselves by the same rule, and never share a rank with
    a unit outside `last`. The result lists keys in rank order, ties by key, for stable output.
    """
    secondary = tie_break or (lambda key: 0)
    ordered = sorted(totals, key=lambda key: (key in last, -totals[key], secondary(key), key))
    ranks: dict[str, int] = {}
    rank_now = 0
    previous: tuple[bool, Decimal, object] | None = None
    for position, key in enumerate(ordered, start=1):
        current = (key in last, totals[key], secondary(key))
        if current != previous:
            rank_now, previous = position, current
        ranks[key] = rank_now
    return ranks
