"""Reading stored rule documents: validation into the rule dataclasses, and back to dicts.

Rules are stored as JSON-able dicts (in YAML files and in the database); this module is the
only place that reads them, so a rule that parses here is one the engine can apply (the classes
are in `rules`). Pure Python: no Flask, no SQLAlchemy. Error messages are shown to scheme
administrators, so they are Chinese and always name the indicator code and the offending field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from app.scoring.rules import (
    FINDERS,
    METHODS,
    NO_DATA,
    RATE_MODES,
    VETO_OUTCOMES,
    ZERO,
    Band,
    BonusRules,
    ChecklistRules,
    DeductRules,
    Extra,
    IndicatorRules,
    Item,
    ManualRules,
    RateRules,
    RuleError,
    TieredRules,
    VetoItem,
    VetoRules,
)

# Keys end up in stable rule ids such as "extra:late", so they stay ASCII identifiers.
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
# `frequency` belongs to the caller (which periods to aggregate); accepted and dropped here.
IGNORED_FIELDS = frozenset({"frequency"})


def written_number(value: Any) -> Decimal | None:
    """The number as its author wrote it, finite, or None: numeric text (stripped), an int, a
    Decimal, or a float — floats come from YAML and JSON (0.3), and their repr is the shortest
    string that round-trips, so Decimal(repr) is the written number, not the binary approximation.
    Booleans are not numbers. Scheme files, the editor and the rules all read numbers this way."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


FIELD_LABELS = {
    "method": "计分方法",
    "amount": "每次扣分",
    "by_finder": "按发现方扣分",
    "multipliers": "按发现方倍数",
    "cap": "上限",
    "unrectified_extra": "未按期整改加扣",
    "mode": "计分方式",
    "threshold": "阈值",
    "per_point": "每个百分点扣分",
    "when_no_data": "无数据时",
    "bands": "分档",
    "items": "项目",
    "extras": "附加扣分",
}


class _Reader:
    """Reads one rules dict, raising RuleError with the indicator code and the field path."""

    def __init__(self, code: str) -> None:
        self.code = code

    def fail(self, field: str, message: str) -> RuleError:
        # Top-level fields get their Chinese name too; nested paths ("items 第 2 项 points") are
        # readable as they are.
        label = FIELD_LABELS.get(field)
        return RuleError(
            f"指标 {self.code}：{field}（{label}）{message}"
            if label
            else f"指标 {self.code}：{field} {message}"
        )

    def decimal(
        self, value: Any, field: str, low: Decimal | None = ZERO, high: Decimal | None = None
    ) -> Decimal:
        number = written_number(value)
        if number is None:
            raise self.fail(field, "须为有限数字")
        if low is not None and high is not None and not low <= number <= high:
            raise self.fail(field, f"须在 {low} 到 {high} 之间")
        if low is not None and number < low:
            raise self.fail(field, f"不能小于 {low}")
        return number

    def text(self, value: Any, field: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, "须为非空文字")
        return value.strip()

    def key(self, value: Any, field: str) -> str:
        if not isinstance(value, str) or not KEY_PATTERN.match(value):
            raise self.fail(field, "须为小写英文字母开头的标识（a-z、0-9、_）")
        return value

    def choice(self, value: Any, field: str, choices: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value not in choices:
            raise self.fail(field, f"须为 {'、'.join(choices)} 之一")
        return value

    def mapping(self, value: Any, field: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(field, "须为映射（键: 值）")
        return value

    def only(self, data: Mapping[str, Any], allowed: set[str], where: str = "") -> None:
        unknown = sorted(str(k) for k in data if k not in allowed and k not in IGNORED_FIELDS)
        if unknown:
            raise self.fail(where or unknown[0], f"含未知字段 {unknown[0]}" if where else "为未知字段")

    def rows(
        self, value: Any, field: str, required: set[str], optional: frozenset[str] = frozenset()
    ) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """Yield (path, row) for a non-empty list of dicts with exactly the given fields."""
        if not isinstance(value, list) or not value:
            raise self.fail(field, "须为非空列表")
        for position, row in enumerate(value, start=1):
            where = f"{field} 第 {position} 项"
            row = self.mapping(row, where)
            self.only(row, required | optional, where)
            missing = sorted(required - set(row))
            if missing:
                raise self.fail(where, f"缺少字段 {missing[0]}")
            yield where, row

    def unique(self, keys: list[str], field: str) -> None:
        repeated = [k for i, k in enumerate(keys) if k in keys[:i]]
        if repeated:
            raise self.fail(field, f"的键 {repeated[0]} 重复")

    def finder_map(self, value: Any, field: str, positive: bool) -> tuple[tuple[str, Decimal], ...]:
        pairs = []
        for finder, amount in self.mapping(value, field).items():
            self.choice(finder, f"{field} 的键", FINDERS)
            number = self.decimal(amount, f"{field} {finder}")
            if positive and number <= 0:
                raise self.fail(f"{field} {finder}", "须大于 0")
            pairs.append((str(finder), number))
        # Canonical (FINDERS) order, so equal configurations compare equal whatever the input order.
        return tuple(sorted(pairs, key=lambda p: FINDERS.index(p[0])))


def _items(r: _Reader, data: Mapping[str, Any], max_points: Decimal) -> tuple[Item, ...]:
    items = tuple(
        Item(
            r.key(row["key"], f"{w} key"),
            r.text(row["label"], f"{w} label"),
            r.decimal(row["points"], f"{w} points", ZERO, max_points),
        )
        for w, row in r.rows(data.get("items"), "items", {"key", "label", "points"})
    )
    r.unique([item.key for item in items], "items")
    return items


def _parse_deduct(r: _Reader, data: Mapping[str, Any], max_points: Decimal) -> dict[str, Any]:
    r.only(data, {"method", "extras", "amount", "by_finder", "multipliers", "cap", "unrectified_extra"})
    if "by_finder" in data and "multipliers" in data:
        raise r.fail("by_finder", "与 multipliers 只能设置其一")
    by_finder = r.finder_map(data["by_finder"], "by_finder", False) if "by_finder" in data else ()
    amount = r.decimal(data["amount"], "amount") if "amount" in data else None
    # Without a default amount every finder needs its own, or an occurrence could not be priced.
    if amount is None and len(by_finder) < len(FINDERS):
        raise r.fail("amount", "未设置时，by_finder 须覆盖全部发现方（city、district、media、superior）")
    return {
        "amount": amount,
        "by_finder": by_finder,
        "multipliers": r.finder_map(data["multipliers"], "multipliers", True)
        if "multipliers" in data
        else (),
        "cap": r.decimal(data["cap"], "cap", ZERO, max_points) if "cap" in data else None,
        "unrectified_extra": r.decimal(data.get("unrectified_extra", 0), "unrectified_extra"),
    }


def _parse_rate(r: _Reader, data: Mapping[str, Any], max_points: Decimal) -> dict[str, Any]:
    r.only(data, {"method", "extras", "mode", "threshold", "per_point", "when_no_data"})
    out: dict[str, Any] = {
        "mode": r.choice(data.get("mode"), "mode", RATE_MODES),
        "when_no_data": r.choice(data.get("when_no_data", "full"), "when_no_data", NO_DATA),
    }
    for field in ("threshold", "per_point"):
        if out["mode"] == "proportional" and field in data:
            raise r.fail(field, "仅适用于 threshold 方式")
        if out["mode"] == "threshold" and field not in data:
            raise r.fail(field, "为 threshold 方式的必填项")
    if out["mode"] == "threshold":
        out["threshold"] = r.decimal(data["threshold"], "threshold", ZERO, Decimal(100))
        out["per_point"] = r.decimal(data["per_point"], "per_point")
    return out


def _parse_tiered(r: _Reader, data: Mapping[str, Any], max_points: Decimal) -> dict[str, Any]:
    r.only(data, {"method", "extras", "bands"})
    bands: list[Band] = []
    for w, row in r.rows(data.get("bands"), "bands", {"min", "max", "points"}):
        band = Band(
            r.decimal(row["min"], f"{w} min", None),
            r.decimal(row["max"], f"{w} max", None),
            r.decimal(row["points"], f"{w} points", ZERO, max_points),
        )
        if band.min >= band.max:
            raise r.fail(w, "的 min 须小于 max")
        # Ascending order is the canonical form; half-open bands may touch but not overlap.
        if bands and band.min < bands[-1].max:
            raise r.fail(w, "与上一档重叠（各档须按 min 升序排列且互不重叠）")
        bands.append(band)
    return {"bands": tuple(bands)}


def _parse_checklist(r: _Reader, data: Mapping[str, Any], max_points: Decimal) -> dict[str, Any]:
    r.only(data, {"method", "extras", "items"})
    items = _items(r, data, max_points)
    total = sum((item.points for item in items), ZERO)
    if total != max_points:
        raise r.fail("items", f"分值合计 {total} 须等于指标分值 {max_points}")
    return {"items": items}


def _parse_bonus(r: _Reader, data: Mapping[str, Any], max_points: Decimal) -> dict[str, Any]:
    r.only(data, {"method", "extras", "items", "cap"})
    cap = r.decimal(data["cap"], "cap", ZERO, max_points) if "cap" in data else None
    return {"items": _items(r, data, max_points), "cap": cap}


def _parse_veto(r: _Reader, data: Mapping[str, Any], max_points: Decimal) -> dict[str, Any]:
    # Extras would deduct from a 0-point indicator and silently do nothing: refuse them.
    if "extras" in data:
        raise r.fail("extras", "不适用于否决项")
    r.only(data, {"method", "items"})
    items = []
    for w, row in r.rows(data.get("items"), "items", {"key", "label", "outcome"}, frozenset({"target"})):
        outcome = r.choice(row["outcome"], f"{w} outcome", VETO_OUTCOMES)
        if outcome == "fail" and "target" in row:
            raise r.fail(f"{w} target", "仅适用于 zero_first_level")
        target = r.text(row.get("target"), f"{w} target") if outcome == "zero_first_level" else None
        items.append(
            VetoItem(r.key(row["key"], f"{w} key"), r.text(row["label"], f"{w} label"), outcome, target)
        )
    r.unique([item.key for item in items], "items")
    return {"items": tuple(items)}


def _parse_manual(r: _Reader, data: Mapping[str, Any], max_points: Decimal) -> dict[str, Any]:
    r.only(data, {"method", "extras"})
    return {}


_Parser = Callable[[_Reader, Mapping[str, Any], Decimal], dict[str, Any]]
_METHODS: dict[str, tuple[type[IndicatorRules], _Parser]] = {
    "manual": (ManualRules, _parse_manual),
    "deduct": (DeductRules, _parse_deduct),
    "rate": (RateRules, _parse_rate),
    "tiered": (TieredRules, _parse_tiered),
    "checklist": (ChecklistRules, _parse_checklist),
    "bonus": (BonusRules, _parse_bonus),
    "veto": (VetoRules, _parse_veto),
}


def parse_rules(data: Mapping[str, Any] | None, max_points: Decimal, code: str) -> IndicatorRules:
    """Validate `data` for indicator `code` worth `max_points`; None means manual scoring."""
    r = _Reader(code)
    if isinstance(max_points, bool) or not isinstance(max_points, int | Decimal) or not max_points >= 0:
        raise RuleError(f"指标 {code}：分值须为不小于 0 的 Decimal")
    max_points = Decimal(max_points)
    if data is None:
        return ManualRules(code=code, max_points=max_points)
    data = r.mapping(data, "rules")
    cls, parser = _METHODS[r.choice(data.get("method"), "method", METHODS)]
    specific = parser(r, data, max_points)
    extras: tuple[Extra, ...] = ()
    if "extras" in data:
        extras = tuple(
            Extra(
                r.key(row["key"], f"{w} key"),
                r.text(row["label"], f"{w} label"),
                r.decimal(row["amount"], f"{w} amount"),
            )
            for w, row in r.rows(data["extras"], "extras", {"key", "label", "amount"})
        )
        r.unique([e.key for e in extras], "extras")
    return cls(code=code, max_points=max_points, extras=extras, **specific)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if is_dataclass(value):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in fields(value)
            if getattr(value, f.name) is not None
        }
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):  # finder → amount pairs
        return {finder: str(amount) for finder, amount in value}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def dump_rules(rules: IndicatorRules) -> dict[str, Any]:
    """The canonical dict of `rules` (Decimals as strings); parse_rules(dump_rules(r)) == r.

    Unset optional fields (None, empty) are left out: a cap that defaults to the indicator
    maximum stays a default, so the dump still follows a later change of the maximum.
    """
    out: dict[str, Any] = {"method": rules.method}
    for f in fields(rules):
        value = getattr(rules, f.name)
        if f.name not in ("code", "max_points") and value is not None and value != ():
            out[f.name] = _plain(value)
    return out


@dataclass(frozen=True)
class ChildIndicator:
    """A sub-indicator a rules file adds under an existing one (e.g. DW0101 under DW01)."""

    code: str
    name: str
    max_points: Decimal
    parent: str


def read_rules_document(doc: Any) -> tuple[tuple[ChildIndicator, ...], dict[str, Mapping[str, Any]]]:
    """Split a rules file (code → rules, plus the reserved key `children`) into its two parts.

    Rules stay unparsed: parse_rules needs each indicator's maximum, which only the scheme
    (merged with the children) knows.
    """
    if not isinstance(doc, Mapping):
        raise RuleError("规则文件须为映射：指标代码 → 规则")
    children = []
    for w, row in _Reader("children").rows(
        doc.get("children") or [], "children", {"code", "name", "max", "parent"}
    ):
        r = _Reader(str(row["code"]))
        children.append(
            ChildIndicator(
                r.text(row["code"], "code"),
                r.text(row["name"], f"{w} name"),
                r.decimal(row["max"], f"{w} max"),
                r.text(row["parent"], f"{w} parent"),
            )
        )
    rules = {str(code): value for code, value in doc.items() if code != "children"}
    for code, value in rules.items():
        _Reader(code).mapping(value, "rules")
    return tuple(children), rules
