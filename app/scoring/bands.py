"""分档的录入写法 — tiered bands as published tables write them, converted once, when entered.

Published tables write tiers as whole-number ranges that include both ends (0–60, 61–70, 71–80,
81–100), while the engine reads every band half-open, [min, max), the highest one including its
max. Stored as typed, a value such as 60.5 would fall between two bands and score 0 without a word.
So when rules are *entered* (the scheme editor, an imported workbook or JSON file), a band whose
successor starts exactly one above its max, all bounds being whole numbers, is widened to reach
that successor: 61–70 becomes [61, 71). The highest band keeps its max (it is closed already).

Rules already stored are never converted: parse_rules reads them as they are, so recomputing a
round gives the published scores. Gaps that remain after the conversion (e.g. [0, 59.9) then
[60, 70)) are only warned about; overlaps are refused by parse_rules.

Pure Python on the JSON-able rules dict, numbers as typed (text from the form, numbers from JSON).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from itertools import pairwise
from typing import Any

from app.scoring.outcomes import ARITHMETIC
from app.scoring.rule_reading import written_number

# Published scales are 0–100 or a few hundred points. Bounds far outside (1E+999999999 is a finite
# Decimal) are left to parse_rules untouched: they are no table's tiers, and spelling them out in a
# message would take gigabytes.
MAGNITUDE = 12


@dataclass(frozen=True)
class BandEntry:
    """Rules as they are to be stored, with what the administrator should be told about them."""

    rules: Any  # the rules dict (a converted copy when notes is not empty), or whatever was given
    notes: tuple[str, ...] = ()  # conversions made, in Chinese
    warnings: tuple[str, ...] = ()  # real gaps left between bands, in Chinese


def _bounds(rules: Any) -> list[tuple[Decimal, Decimal, Decimal | None]] | None:
    """(min, max, points) of each band of tiered rules; None when they cannot be read (not tiered,
    or a bound that is not a number: parse_rules then says what is wrong)."""
    if not isinstance(rules, Mapping) or rules.get("method") != "tiered":
        return None
    rows = rules.get("bands")
    if not isinstance(rows, list) or not all(isinstance(row, Mapping) for row in rows):
        return None
    out = []
    for row in rows:
        low, high = written_number(row.get("min")), written_number(row.get("max"))
        if low is None or high is None or not (_moderate(low) and _moderate(high)):
            return None
        out.append((low, high, written_number(row.get("points"))))
    return out


def _moderate(value: Decimal) -> bool:
    return value.is_zero() or -MAGNITUDE < value.adjusted() < MAGNITUDE


def _whole(value: Decimal) -> bool:
    return value == value.to_integral_value()


def _shown(value: Decimal) -> str:
    """A bound as people write it (60, 59.5): format() without a precision never rounds, so the
    caller's decimal context plays no part (normalize() would use it)."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _interval(low: Decimal, high: Decimal, closed: bool) -> str:
    return f"[{_shown(low)}, {_shown(high)}{']' if closed else ')'}"


def gap_warnings(code: str, bands: Sequence[tuple[Decimal, Decimal, Any]]) -> list[str]:
    """A warning for every value range left between two neighbouring bands (it scores 0)."""
    warnings = []
    last = len(bands) - 1
    for n, (before, after) in enumerate(pairwise(bands), start=1):
        if after[0] > before[1]:  # exact Decimal comparison: no context takes part
            first = _interval(before[0], before[1], False)
            second = _interval(after[0], after[1], n == last)
            warnings.append(
                f"指标 {code}：分档第 {n} 档 {first} 与第 {n + 1} 档 {second} 之间有空档，"
                f"{_shown(before[1])} ≤ 数值 < {_shown(after[0])} 不在任何一档，得 0 分；如非有意，请修改分档"
            )
    return warnings


def enter_bands(rules: Any, code: str, stored: Any = None) -> BandEntry:
    """Convert published-style bands of entered *rules* for indicator *code* (see the module
    docstring). *stored* is what the indicator holds now: bands re-submitted unchanged are kept
    as they are, so opening and saving an indicator never reinterprets its stored bands."""
    bands = _bounds(rules)
    if bands is None:
        return BandEntry(rules)
    if stored is not None and _bounds(stored) == bands:
        return BandEntry(rules, warnings=tuple(gap_warnings(code, bands)))
    rows = [dict(row) for row in rules["bands"]]
    widened: list[int] = []
    if all(_whole(low) and _whole(high) for low, high, _points in bands):
        for n in range(len(bands) - 1):
            # int() of a whole Decimal is exact, so the caller's decimal context plays no part.
            if int(bands[n + 1][0]) == int(bands[n][1]) + 1:
                rows[n]["max"] = rows[n + 1]["min"]  # kept as typed (text or number)
                widened.append(n)
    if not widened:
        return BandEntry(rules, warnings=tuple(gap_warnings(code, bands)))
    converted = [
        (low, bands[n + 1][0] if n in widened else high, points)
        for n, (low, high, points) in enumerate(bands)
    ]
    written = "、".join(
        f"{_shown(bands[n][0])}–{_shown(bands[n][1])} 记为 {_interval(bands[n][0], bands[n + 1][0], False)}"
        for n in widened
    )
    first, second, top = bands[widened[0]], bands[widened[0] + 1], bands[-1]
    with localcontext(ARITHMETIC):  # whole numbers of at most 12 digits: exact
        between = _shown(first[1] + Decimal("0.5"))
    published = f"{_shown(first[0])}–{_shown(first[1])}、{_shown(second[0])}–{_shown(second[1])}"
    note = (
        f"指标 {code}：分档按公布表格“{published}”"
        f"这样两端都含的整数写法录入，已换算为下限含、上限不含的区间保存：{written}，"
        f"最高一档 {_interval(top[0], top[1], True)} 含上限；{between} 这样的数值因此计入"
        f" {_shown(first[0])}–{_shown(first[1])} 档，不会落在两档之间得 0 分"
    )
    return BandEntry({**rules, "bands": rows}, (note,), tuple(gap_warnings(code, converted)))
