"""Invariants of the engine on random schemes and random facts (hypothesis).

Schemes are random trees whose maxima add up (steps of 0.5 points), with a random rule on
every leaf, a bonus node and a veto node; facts are random but of the kinds the rules accept.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from itertools import count, pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.scoring.engine import ARITHMETIC, Fact, Rounding, SchemeNode, SchemeScore, score_scheme
from app.scoring.rule_reading import dump_rules, parse_rules
from app.scoring.rules import FINDERS, BonusRules, DeductRules

D = Decimal
HALF = D("0.5")
SETTINGS = settings(max_examples=100, deadline=None)

points = st.integers(0, 12).map(lambda n: n * HALF)  # 0 … 6 in half points
amounts = st.integers(0, 40).map(lambda n: n * D("0.05"))
keys = ("a", "b", "c")


@st.composite
def split(draw: st.DrawFn, total: Decimal, parts: int) -> list[Decimal]:
    """`parts` non-negative multiples of 0.5 adding up to `total` (itself a multiple of 0.5)."""
    units = int(total / HALF)
    cuts = sorted(draw(st.lists(st.integers(0, units), min_size=parts - 1, max_size=parts - 1)))
    bounds = [0, *cuts, units]
    return [(bounds[i + 1] - bounds[i]) * HALF for i in range(parts)]


@st.composite
def leaf_rules(draw: st.DrawFn, max_points: Decimal) -> dict[str, Any] | None:
    method = draw(st.sampled_from(["manual", "deduct", "rate", "tiered", "checklist", None]))
    data: dict[str, Any]
    if method is None:
        return None
    if method == "manual":
        data = {"method": "manual"}
    elif method == "deduct":
        data = {"method": "deduct", "amount": str(draw(amounts))}
        pricing = draw(st.sampled_from(["plain", "by_finder", "multipliers"]))
        if pricing != "plain":
            finders = draw(st.lists(st.sampled_from(FINDERS), unique=True, min_size=1))
            values = st.integers(1, 5) if pricing == "multipliers" else amounts
            data[pricing] = {f: str(draw(values)) for f in finders}
        if draw(st.booleans()):
            data["cap"] = str(draw(st.integers(0, int(max_points / HALF))) * HALF)
        data["unrectified_extra"] = str(draw(amounts))
    elif method == "rate":
        data = {
            "method": "rate",
            "mode": draw(st.sampled_from(["threshold", "proportional"])),
            "when_no_data": draw(st.sampled_from(["full", "zero"])),
        }
        if data["mode"] == "threshold":
            data |= {"threshold": str(draw(st.integers(0, 100))), "per_point": str(draw(amounts))}
    elif method == "tiered":
        edges = sorted(draw(st.lists(st.integers(0, 100), min_size=2, max_size=5, unique=True)))
        limit = int(max_points / HALF)
        data = {
            "method": "tiered",
            "bands": [
                {"min": lo, "max": hi, "points": str(draw(st.integers(0, limit)) * HALF)}
                for lo, hi in pairwise(edges)
            ],
        }
    else:
        parts = draw(split(max_points, len(keys)))
        data = {
            "method": "checklist",
            "items": [
                {"key": k, "label": f"项目{k}", "points": str(p)} for k, p in zip(keys, parts, strict=True)
            ],
        }
    if draw(st.booleans()):
        data["extras"] = [{"key": "late", "label": "迟报", "amount": str(draw(amounts))}]
    return data


@st.composite
def schemes(draw: st.DrawFn) -> tuple[list[SchemeNode], Decimal]:
    nodes: list[SchemeNode] = []
    serial = count(1)

    def subtree(parent: str | None, depth: int) -> Decimal:
        code = f"N{next(serial)}"
        node = SchemeNode(code, f"指标{code}", D(0), "scored", parent)
        nodes.append(node)
        if depth == 0 or draw(st.booleans()):
            node.max_points = draw(points)
            node.rules = parse_rules(draw(leaf_rules(node.max_points)), node.max_points, code)
        else:
            node.max_points = sum((subtree(code, depth - 1) for _ in range(draw(st.integers(1, 3)))), D(0))
        return node.max_points

    total = sum((subtree(None, 2) for _ in range(draw(st.integers(1, 3)))), D(0))
    tops = [n.code for n in nodes if n.parent is None]
    bonus_max = draw(st.integers(0, 6)) * HALF
    bonus = {
        "method": "bonus",
        "cap": str(draw(st.integers(0, int(bonus_max / HALF))) * HALF),
        "items": [
            {"key": "a", "label": "表彰", "points": str(min(bonus_max, D(1)))},
            {"key": "b", "label": "报道", "points": str(min(bonus_max, HALF))},
        ],
    }
    veto = {
        "method": "veto",
        "items": [
            {"key": "a", "label": "暴力执法", "outcome": "fail"},
            {
                "key": "b",
                "label": "督查通报",
                "outcome": "zero_first_level",
                "target": draw(st.sampled_from(tops)),
            },
        ],
    }
    nodes.append(
        SchemeNode("BONUS", "加分项", bonus_max, "bonus", None, parse_rules(bonus, bonus_max, "BONUS"))
    )
    nodes.append(SchemeNode("VETO", "否决项", D(0), "veto", None, parse_rules(veto, D(0), "VETO")))
    return nodes, total


def fact_for(draw: st.DrawFn, node: SchemeNode, fact_id: int) -> Fact:
    rules = node.rules
    method = rules.method if rules else "manual"
    if rules is not None and rules.extras and draw(st.booleans()):
        return Fact(fact_id, node.code, "extra", item="late")
    if method == "manual":
        return Fact(fact_id, node.code, "manual", amount=draw(st.integers(-20, 40)) * D("0.1"))
    if method == "deduct":
        finder = draw(st.sampled_from([None, *FINDERS]))
        if isinstance(rules, DeductRules) and rules.per_occurrence(finder) is None:
            finder = "city"
        return Fact(fact_id, node.code, "occurrence", found_by=finder, rectified=draw(st.booleans()))
    if method == "rate":
        den = draw(st.integers(0, 50))
        return Fact(fact_id, node.code, "rate", numerator=D(draw(st.integers(0, 60))), denominator=D(den))
    if method == "tiered":
        return Fact(fact_id, node.code, "value", value=draw(st.integers(-5, 105)) * D("1.01"))
    kind = {"checklist": "check", "bonus": "bonus", "veto": "veto"}[method]
    return Fact(
        fact_id,
        node.code,
        kind,
        item=draw(st.sampled_from(["a", "b", "c"] if kind == "check" else ["a", "b"])),
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[SchemeNode], Decimal, list[Fact], Rounding]:
    nodes, total = draw(schemes())
    parents = {n.parent for n in nodes}
    leaves = [n for n in nodes if n.code not in parents]
    facts: list[Fact] = []
    tiered_done: set[str] = set()
    for _ in range(draw(st.integers(0, 25))):
        node = draw(st.sampled_from(leaves))
        fact = fact_for(draw, node, draw(st.integers(1, 10_000)))
        if fact.id in {f.id for f in facts} or (fact.kind == "value" and node.code in tiered_done):
            continue  # ids are unique and a tiered indicator takes one value per period
        if fact.kind == "value":
            tiered_done.add(node.code)
        if node.kind == "veto" and draw(st.integers(0, 3)):
            continue  # keep most periods free of vetoes
        facts.append(fact)
    rounding = Rounding(draw(st.integers(1, 3)), draw(st.sampled_from(["half_up", "down", "half_even"])))
    return nodes, total, facts, rounding


def children_of(nodes: list[SchemeNode]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for node in nodes:
        if node.parent:
            out.setdefault(node.parent, []).append(node.code)
    return out


@SETTINGS
@given(cases())
def test_scores_stay_within_their_bounds(
    case: tuple[list[SchemeNode], Decimal, list[Fact], Rounding],
) -> None:
    nodes, total, facts, rounding = case
    result = score_scheme(nodes, total, facts, rounding)
    by_code = {n.code: n for n in nodes}
    for code, score in result.leaves.items():
        node = by_code[code]
        assert 0 <= score.score <= node.max_points
        assert score.score == rounding.apply(score.raw)
        # The explanation accounts for every point: start − Σ amounts is the raw score, exactly
        # unless a rate's division is inexact (then to the engine's 34 significant digits).
        start = node.max_points if node.kind == "scored" else D(0)
        with localcontext(ARITHMETIC):
            assert abs(start - sum((d.amount for d in score.deductions), D(0)) - score.raw) <= D("1e-30")
        assert all(d.fact_ids == tuple(sorted(d.fact_ids)) for d in score.deductions)
    bonus_rules = by_code["BONUS"].rules
    assert isinstance(bonus_rules, BonusRules)
    assert 0 <= result.leaves["BONUS"].score <= bonus_rules.limit
    assert 0 <= result.bonus <= result.bonus_raw
    assert result.total <= total
    assert result.total == sum(result.first_level.values(), D(0)) + result.bonus


@SETTINGS
@given(cases())
def test_parents_are_sums_of_their_children_before_veto(
    case: tuple[list[SchemeNode], Decimal, list[Fact], Rounding],
) -> None:
    nodes, total, facts, rounding = case
    result = score_scheme(nodes, total, facts, rounding)

    def value(code: str) -> Decimal:
        return result.leaves[code].score if code in result.leaves else result.groups[code]

    for parent, kids in children_of(nodes).items():
        assert result.groups[parent] == sum((value(k) for k in kids), D(0))
    zeroed = {code for v in result.vetoed for code in v.zeroed}
    for code, score in result.first_level.items():
        assert score == (0 if code in zeroed else value(code))


@SETTINGS
@given(cases(), st.randoms(use_true_random=False))
def test_recomputation_and_fact_order_change_nothing(
    case: tuple[list[SchemeNode], Decimal, list[Fact], Rounding], random: Any
) -> None:
    nodes, total, facts, rounding = case
    first: SchemeScore = score_scheme(nodes, total, facts, rounding)
    assert score_scheme(nodes, total, facts, rounding) == first
    shuffled = list(facts)
    random.shuffle(shuffled)
    assert score_scheme(nodes, total, shuffled, rounding) == first
    assert score_scheme(nodes, total, iter(shuffled), rounding) == first


@SETTINGS
@given(schemes())
def test_generated_rules_round_trip(scheme: tuple[list[SchemeNode], Decimal]) -> None:
    for node in scheme[0]:
        if node.rules is not None:
            assert parse_rules(dump_rules(node.rules), node.max_points, node.code) == node.rules
