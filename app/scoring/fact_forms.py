"""Form fields for facts, per scoring method: parse a submission into facts and refill a form.

The self-report, verification and review forms all enter facts the same way, so one module
knows how each method is asked for: occurrences with date, place and finder; a rate's
numerator and denominator; a value for tiers; ticked items; counts of extra deductions.
Field names are flat (``f_<code>_<part>``) so HTML forms and JSON payloads share them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from app.inputs import parse_count
from app.scoring.outcomes import FactContent
from app.scoring.rules import (
    FINDER_LABELS,
    BonusRules,
    ChecklistRules,
    DeductRules,
    IndicatorRules,
    ManualRules,
    RateRules,
    TieredRules,
    VetoRules,
)

MAX_OCCURRENCES = 50
MAX_EXTRA_COUNT = 99
BLANK_ROWS = 2
TRUE_VALUES = ("1", "on", "true", "yes")


@dataclass(frozen=True)
class FactInput(FactContent):
    """A fact as entered, before it is stored: its content (outcomes.FactContent), no id yet."""


@dataclass
class ParsedIndicator:
    facts: list[FactInput] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def name(code: str, part: str) -> str:
    return f"f_{code}_{part}"


def _text(payload: Mapping[str, Any], key: str) -> str:
    return str(payload.get(key) or "").strip()


# ASCII digits only: Decimal() also reads other scripts' digits, and huge exponents would overflow
# the quantize below or the stored column.
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
MAX_WHOLE_DIGITS = 9
MAX_PLACES = 4


def _decimal(raw: str, label: str, maximum: Decimal | None = None) -> Decimal:
    text = raw.strip()
    if text.startswith("-") and _NUMBER.fullmatch(text[1:]):
        raise ValueError(f"{label}须为不小于 0 的数字")
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"{label}须为数字")
    whole, _, fraction = text.partition(".")
    if len(fraction) > MAX_PLACES:
        raise ValueError(f"{label}最多四位小数")
    if len(whole.lstrip("0")) > MAX_WHOLE_DIGITS:
        raise ValueError(f"{label}不能超过 {10**MAX_WHOLE_DIGITS - 1}")
    value = Decimal(text)
    if maximum is not None and value > maximum:
        raise ValueError(f"{label}不能超过 {maximum}")
    return value


def _flag(payload: Mapping[str, Any], key: str) -> bool:
    return str(payload.get(key, "")).strip().lower() in TRUE_VALUES


def parse_indicator(
    rules: IndicatorRules, label: str, payload: Mapping[str, Any], allow_veto: bool = True
) -> ParsedIndicator:
    """The facts one indicator's fields describe; field errors name the indicator in Chinese."""
    out = ParsedIndicator()
    code = rules.code

    def fail(part: str, message: str) -> None:
        out.errors[name(code, part)] = f"{label}：{message}"

    if isinstance(rules, ManualRules):
        raw = _text(payload, name(code, "amount"))
        if raw:
            try:
                out.facts.append(FactInput("manual", amount=_decimal(raw, "扣分", maximum=rules.max_points)))
            except ValueError as exc:
                fail("amount", str(exc))
    elif isinstance(rules, DeductRules):
        _parse_occurrences(code, payload, out, fail)
    elif isinstance(rules, RateRules):
        _parse_rate(code, payload, out, fail)
    elif isinstance(rules, TieredRules):
        raw = _text(payload, name(code, "value"))
        if raw:
            try:
                out.facts.append(FactInput("value", value=_decimal(raw, "数值")))
            except ValueError as exc:
                fail("value", str(exc))
    elif isinstance(rules, ChecklistRules | BonusRules | VetoRules):
        if isinstance(rules, VetoRules) and not allow_veto:
            return out
        kind = {ChecklistRules: "check", BonusRules: "bonus", VetoRules: "veto"}[type(rules)]
        description = _text(payload, name(code, "desc"))
        for item in rules.items:
            if _flag(payload, name(code, f"item_{item.key}")):
                out.facts.append(FactInput(kind, item=item.key, description=description))
    for extra in rules.extras:
        raw = _text(payload, name(code, f"extra_{extra.key}"))
        if not raw:
            continue
        count = parse_count(raw, MAX_EXTRA_COUNT)
        if count is None:
            fail(f"extra_{extra.key}", f"{extra.label}次数须为 0 到 {MAX_EXTRA_COUNT} 的整数")
            continue
        out.facts += [FactInput("extra", item=extra.key) for _ in range(count)]
    return out


def _occurrence_numbers(code: str, payload: Mapping[str, Any]) -> list[int]:
    """The row numbers (1…MAX_OCCURRENCES) the form sent fields for, read off the keys once rather
    than probing every possible row's fields (a click carries ~20 indicators of up to 50 rows)."""
    prefix = name(code, "occ")
    numbers = set()
    for key in payload:
        if key.startswith(prefix):
            digits = key[len(prefix) :].partition("_")[0]
            if digits.isascii() and digits.isdigit() and 1 <= int(digits) <= MAX_OCCURRENCES:
                numbers.add(int(digits))
    return sorted(numbers)


def _parse_occurrences(code: str, payload: Mapping[str, Any], out: ParsedIndicator, fail: Any) -> None:
    for n in _occurrence_numbers(code, payload):
        part = f"occ{n}"
        description = _text(payload, name(code, f"{part}_desc"))
        place = _text(payload, name(code, f"{part}_place"))
        raw_date = _text(payload, name(code, f"{part}_date"))
        finder = _text(payload, name(code, f"{part}_found_by")) or None
        if not (description or place or raw_date):
            continue  # a blank row
        if finder is not None and finder not in FINDER_LABELS:
            fail(f"{part}_found_by", f"第 {n} 起的发现方式无效")
            continue
        occurred_on = None
        if raw_date:
            try:
                occurred_on = date.fromisoformat(raw_date)
            except ValueError:
                fail(f"{part}_date", f"第 {n} 起的日期格式应为 YYYY-MM-DD")
                continue
        if not description:
            fail(f"{part}_desc", f"第 {n} 起须描述问题")
            continue
        out.facts.append(
            FactInput(
                "occurrence",
                found_by=finder,
                rectified=not _flag(payload, name(code, f"{part}_unrectified")),
                occurred_on=occurred_on,
                place=place[:200],
                description=description[:1000],
            )
        )


def _parse_rate(code: str, payload: Mapping[str, Any], out: ParsedIndicator, fail: Any) -> None:
    raw_num, raw_den = _text(payload, name(code, "numerator")), _text(payload, name(code, "denominator"))
    if not raw_num and not raw_den:
        return
    try:
        numerator = _decimal(raw_num or "x", "分子")
        denominator = _decimal(raw_den or "x", "分母")
    except ValueError as exc:
        fail("numerator" if "分子" in str(exc) else "denominator", str(exc))
        return
    if numerator > denominator:
        fail("numerator", "分子不能大于分母")
        return
    out.facts.append(FactInput("rate", numerator=numerator, denominator=denominator))


def prefill(rules: IndicatorRules, facts: Sequence[Any]) -> dict[str, str]:
    """Form values that show *facts* (stored rows or FactInputs) again, blank rows included."""
    code = rules.code
    values: dict[str, str] = {}
    occurrences = [f for f in facts if f.kind == "occurrence"]
    for n, fact in enumerate(occurrences, start=1):
        values[name(code, f"occ{n}_desc")] = fact.description
        values[name(code, f"occ{n}_place")] = fact.place or ""
        values[name(code, f"occ{n}_date")] = fact.occurred_on.isoformat() if fact.occurred_on else ""
        values[name(code, f"occ{n}_found_by")] = fact.found_by or ""
        if not fact.rectified:
            values[name(code, f"occ{n}_unrectified")] = "1"
    for fact in facts:
        if fact.kind == "manual" and fact.amount is not None:
            values[name(code, "amount")] = str(fact.amount)
        elif fact.kind == "rate":
            values[name(code, "numerator")] = str(fact.numerator)
            values[name(code, "denominator")] = str(fact.denominator)
        elif fact.kind == "value":
            values[name(code, "value")] = str(fact.value)
        elif fact.kind in ("check", "bonus", "veto"):
            values[name(code, f"item_{fact.item}")] = "1"
            if fact.description:
                values[name(code, "desc")] = fact.description
    for extra in rules.extras:
        count = sum(1 for f in facts if f.kind == "extra" and f.item == extra.key)
        if count:
            values[name(code, f"extra_{extra.key}")] = str(count)
    return values


def occurrence_rows(facts: Sequence[Any]) -> int:
    """How many occurrence rows a form shows: the recorded ones and a couple of blank ones."""
    return sum(1 for f in facts if f.kind == "occurrence") + BLANK_ROWS


def describe_fields(rules: IndicatorRules, label: str) -> list[dict[str, Any]]:
    """The fields of one indicator for API clients."""
    code = rules.code
    fields: list[dict[str, Any]] = []
    if isinstance(rules, ManualRules):
        fields.append({"name": name(code, "amount"), "type": "decimal", "label": f"{label} 扣分"})
    elif isinstance(rules, DeductRules):
        fields.append(
            {
                "name": name(code, "occ{n}_desc|_place|_date|_found_by|_unrectified"),
                "type": "rows",
                "label": f"{label} 问题（每起一行，n 从 1 起）",
                "choices": list(FINDER_LABELS),
            }
        )
    elif isinstance(rules, RateRules):
        fields.append({"name": name(code, "numerator"), "type": "decimal", "label": f"{label} 分子"})
        fields.append({"name": name(code, "denominator"), "type": "decimal", "label": f"{label} 分母"})
    elif isinstance(rules, TieredRules):
        fields.append({"name": name(code, "value"), "type": "decimal", "label": f"{label} 数值"})
    elif isinstance(rules, ChecklistRules | BonusRules | VetoRules):
        for item in rules.items:
            fields.append({"name": name(code, f"item_{item.key}"), "type": "boolean", "label": item.label})
    for extra in rules.extras:
        fields.append(
            {"name": name(code, f"extra_{extra.key}"), "type": "integer", "label": f"{extra.label}（次）"}
        )
    return fields


def describe_fact(fact: Any, rules: IndicatorRules | None) -> str:
    """One fact in a line of Chinese, for pages and notices."""
    labels: dict[str, str] = {}
    for item in (*getattr(rules, "items", ()), *getattr(rules, "extras", ())):
        labels[item.key] = item.label
    if fact.kind == "unreported":
        return "逾期未报，按 0 分计"
    if fact.kind == "occurrence":
        when = fact.occurred_on.isoformat() if fact.occurred_on else ""
        notes = [FINDER_LABELS.get(fact.found_by, "")] if fact.found_by else []
        if not fact.rectified:
            notes.append("逾期未整改")
        tail = f"（{'，'.join(notes)}）" if notes else ""
        return " ".join(part for part in (when, fact.place, fact.description) if part) + tail
    if fact.kind == "rate":
        share = f"（{fact.numerator / fact.denominator * 100:.2f}%）" if fact.denominator else ""
        return f"{fact.numerator} / {fact.denominator}{share}"
    if fact.kind == "value":
        return f"数值 {fact.value}"
    if fact.kind == "manual":
        return f"扣 {fact.amount} 分"
    label = labels.get(fact.item or "", fact.item or "")
    return f"{label}：{fact.description}" if fact.description else label
