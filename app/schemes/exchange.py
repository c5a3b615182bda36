"""Plain-data exchange of indicator schemes (考核细则): validation, JSON and Excel workbooks.

Nothing here touches Flask or the database. A scheme travels as `SchemeData` holding a flat list of
`IndicatorData` whose `parent` fields form the tree 一级 › 二级 › 三级. Scoring rules stay opaque
JSON objects (`dict | None`); their meaning belongs to the scoring engine.

    validate(data)        -> list of Chinese messages, [] when the scheme is sound
    to_json / from_json   -> JSON-able dict with Decimals as strings (exact round trip)

Workbooks laid out like a published table are written by app.schemes.excel.to_workbook and read
by app.schemes.workbook_reader.from_workbook, both on top of this module.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.scoring.rule_reading import written_number

KINDS = ("scored", "bonus", "veto")
KIND_LABELS = {"scored": "计分", "bonus": "加分", "veto": "否决"}
FREQUENCIES = ("monthly", "quarterly", "annual", "per_event")
FREQUENCY_LABELS = {"monthly": "月度", "quarterly": "季度", "annual": "年度", "per_event": "按次"}
MAX_DEPTH = 3
CODE_PATTERN = re.compile(r"[A-Z0-9]{1,20}")
# Column sizes of app.schemes.models, so that valid data always fits the database.
NAME_MAX, DEPARTMENT_MAX, SOURCE_MAX, LABEL_MAX, SCHEME_NAME_MAX = 100, 50, 100, 40, 200
JSON_FORMAT, JSON_VERSION = "szcg-scheme", 1


@dataclass
class IndicatorData:
    code: str  # ZF, ZF01, ZF0101 (A-Z0-9, 1..20 chars, unique)
    name: str
    parent: str | None  # parent code
    max_points: Decimal
    kind: str  # "scored" | "bonus" | "veto"
    criteria: str = ""  # 评分标准 as published
    rules: dict[str, Any] | None = None  # opaque scoring rule (JSON object)
    department: str = ""  # 考核部门
    source: str = ""  # 数据来源
    frequency: str = ""  # monthly | quarterly | annual | per_event | ""
    assessed_in_system: bool = True


@dataclass
class SchemeData:
    year: int
    label: str
    name: str
    total_points: Decimal
    indicators: list[IndicatorData] = field(default_factory=list)


class SchemeDataError(ValueError):
    """Raised with every problem found; nothing partial is ever returned alongside it."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class Problem:
    """One validation finding. `index` points into `indicators` (None: scheme level); `field` names
    the offending attribute so that the workbook reader can point at a cell; `other` is a second
    indicator index involved (the first occurrence of a duplicated code)."""

    index: int | None
    field: str
    message: str
    other: int | None = None


def fmt_points(value: Decimal) -> str:
    """Points as people write them: 16, 0.5, 1.25 (no exponent, no trailing zeros)."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, Decimal | int) and Decimal(value).is_finite()


def _summable(value: Any) -> bool:
    """A number small enough to add up (a far larger one is already reported as too large)."""
    return _is_number(value) and Decimal(value).adjusted() < 6


def _points_problem(value: Any) -> str | None:
    if not _is_number(value):
        return f"分值「{value}」不是数字"
    value = Decimal(value)
    if value.adjusted() >= 6:  # 1E+999999999 is a finite Decimal that overflows normalize() and sums
        return f"分值「{value}」过大（须小于 1000000）"
    if value < 0:
        return f"分值 {fmt_points(value)} 不能为负数"
    if value.normalize().as_tuple().exponent < -2:
        return f"分值 {value} 最多保留两位小数"
    return None


def _text_problem(value: Any, what: str, limit: int, required: bool = False) -> str | None:
    if not isinstance(value, str):
        return f"{what}须为文本"
    if required and not value.strip():
        return f"{what}不能为空"
    if len(value) > limit:
        return f"{what}超过 {limit} 个字"
    return None


def check(data: SchemeData, *, skip_points: Collection[int] = (), sums: bool = True) -> list[Problem]:
    """All findings. Sum checks leave out indicators listed in `skip_points` (their points are
    unknown) and are skipped entirely when `sums` is False (the tree itself is uncertain)."""
    out: list[Problem] = []
    out += _check_scheme(data)
    items = data.indicators
    if not items:
        out.append(Problem(None, "indicators", "考核细则中没有任何指标"))
        return out
    first: dict[str, int] = {}
    for i, ind in enumerate(items):
        out += _check_fields(i, ind)
        if isinstance(ind.code, str):
            if ind.code in first:
                out.append(Problem(i, "code", f"指标编码 {ind.code} 重复", other=first[ind.code]))
            else:
                first[ind.code] = i
    _check_tree(items, first, out)
    if sums:
        _check_sums(data, first, set(skip_points), out)
    return out


def _check_scheme(data: SchemeData) -> list[Problem]:
    out: list[Problem] = []
    if isinstance(data.year, bool) or not isinstance(data.year, int) or not 2000 <= data.year <= 2100:
        out.append(Problem(None, "year", f"年度「{data.year}」无效，须为 2000–2100 之间的整数"))
    for attr, what, limit in (("label", "版本", LABEL_MAX), ("name", "名称", SCHEME_NAME_MAX)):
        problem = _text_problem(getattr(data, attr), what, limit, required=True)
        if problem:
            out.append(Problem(None, attr, problem))
    problem = _points_problem(data.total_points)
    if problem:
        out.append(Problem(None, "total_points", f"总分：{problem}"))
    return out


def _check_fields(i: int, ind: IndicatorData) -> list[Problem]:
    out: list[Problem] = []
    code = ind.code
    if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
        out.append(Problem(i, "code", f"指标编码「{code}」无效：只能由大写字母 A–Z 和数字 0–9 组成，1–20 位"))
    for attr, what, limit, required in (
        ("name", "名称", NAME_MAX, True),
        ("department", "考核部门", DEPARTMENT_MAX, False),
        ("source", "数据来源", SOURCE_MAX, False),
    ):
        problem = _text_problem(getattr(ind, attr), what, limit, required)
        if problem:
            out.append(Problem(i, attr, f"指标 {code} {problem}"))
    if not isinstance(ind.criteria, str):
        out.append(Problem(i, "criteria", f"指标 {code} 评分标准须为文本"))
    problem = _points_problem(ind.max_points)
    if problem:
        out.append(Problem(i, "max_points", f"指标 {code} {problem}"))
    if ind.kind not in KINDS:
        allowed = "、".join(f"{k}（{label}）" for k, label in KIND_LABELS.items())
        out.append(Problem(i, "kind", f"指标 {code} 类型「{ind.kind}」无效，须为 {allowed}"))
    if ind.frequency not in ("", *FREQUENCIES):
        allowed = "、".join(f"{f}（{FREQUENCY_LABELS[f]}）" for f in FREQUENCIES)
        message = f"指标 {code} 考核频次「{ind.frequency}」无效，须为 {allowed} 或留空"
        out.append(Problem(i, "frequency", message))
    if ind.rules is not None:
        if not isinstance(ind.rules, dict):
            out.append(Problem(i, "rules", f"指标 {code} 计分规则须为 JSON 对象"))
        else:
            try:
                json.dumps(ind.rules, ensure_ascii=False, allow_nan=False)
            except (TypeError, ValueError):
                out.append(Problem(i, "rules", f"指标 {code} 计分规则含有无法写成 JSON 的值"))
    if not isinstance(ind.assessed_in_system, bool):
        out.append(Problem(i, "assessed_in_system", f"指标 {code} 系统考核须为是或否"))
    return out


def _check_tree(items: list[IndicatorData], first: dict[str, int], out: list[Problem]) -> None:
    """Parents exist, no cycles, depth ≤ 3, bonus/veto only at the first level."""
    in_cycles: set[int] = set()
    for i, ind in enumerate(items):
        if ind.parent is None:
            continue
        if not isinstance(ind.parent, str) or ind.parent not in first:
            out.append(Problem(i, "parent", f"指标 {ind.code} 的上级指标 {ind.parent} 不存在"))
            continue
        chain = [i]  # i, its parent, grandparent, …
        while isinstance(up := items[chain[-1]].parent, str) and up in first:
            if first[up] in chain:
                cycle = chain[chain.index(first[up]) :]
                if not in_cycles & set(cycle):
                    start = cycle.index(min(cycle))
                    cycle = cycle[start:] + cycle[:start]
                    path = " → ".join(items[c].code for c in [*cycle, cycle[0]])
                    message = f"指标 {items[cycle[0]].code} 的上级关系形成循环（{path}）"
                    out.append(Problem(cycle[0], "parent", message))
                in_cycles.update(cycle)
                break
            chain.append(first[up])
        else:
            if len(chain) > MAX_DEPTH:
                path = " › ".join(items[c].code for c in reversed(chain))
                out.append(Problem(i, "parent", f"指标 {ind.code} 超过三级（{path}）"))
        parent = items[first[ind.parent]]
        if parent.kind in ("bonus", "veto"):
            message = f"指标 {ind.code} 的上级 {parent.code} 是{KIND_LABELS[parent.kind]}项，不能设下级指标"
            out.append(Problem(i, "kind", message))
        elif ind.kind in ("bonus", "veto"):
            out.append(Problem(i, "kind", f"指标 {ind.code} 是{KIND_LABELS[ind.kind]}项，只能作为一级指标"))


def _check_sums(data: SchemeData, first: dict[str, int], skip: set[int], out: list[Problem]) -> None:
    items = data.indicators
    children: dict[int, list[int]] = {}
    for i, ind in enumerate(items):
        if isinstance(ind.parent, str) and ind.parent in first:
            children.setdefault(first[ind.parent], []).append(i)
    for parent, kids in children.items():
        group = [parent, *kids]
        if skip & set(group) or not all(_summable(items[k].max_points) for k in group):
            continue
        total = sum((items[k].max_points for k in kids), Decimal(0))
        if total != items[parent].max_points:
            own = fmt_points(items[parent].max_points)
            message = f"指标 {items[parent].code} 分值 {own} 与下级指标分值合计 {fmt_points(total)} 不符"
            out.append(Problem(parent, "max_points", message))
    top = [i for i, ind in enumerate(items) if ind.parent is None and ind.kind == "scored"]
    if skip & set(top) or not all(_summable(items[i].max_points) for i in top):
        return
    if not _summable(data.total_points):
        return
    total = sum((items[i].max_points for i in top), Decimal(0))
    if total != data.total_points:
        message = (
            f"一级计分指标分值合计 {fmt_points(total)} 分，与总分 {fmt_points(data.total_points)} 分不符"
        )
        out.append(Problem(None, "total_points", message))


def validate(data: SchemeData) -> list[str]:
    """Every problem as a Chinese message naming the indicator code; [] when the scheme is sound.

    Codes unique and well formed; parents exist, in any order, without cycles; depth ≤ 3; points
    ≥ 0 with ≤ 2 decimals; children's points add up to their parent; scored first-level points add
    up to the total; bonus/veto only at the first level (outside the total); kind and frequency
    from the allowed sets; rules a JSON object or None."""
    return [p.message for p in check(data)]


def chinese_numeral(n: int) -> str:
    digits = "零一二三四五六七八九"
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else digits[tens]) + "十" if tens else "") + (digits[ones] if ones else "")


def tree_rows(items: list[IndicatorData]) -> list[tuple[IndicatorData, int, str]]:
    """Indicators in tree order with their level (1..3) and 序号."""
    children: dict[str | None, list[IndicatorData]] = {}
    for ind in items:
        children.setdefault(ind.parent, []).append(ind)
    rows: list[tuple[IndicatorData, int, str]] = []
    for n1, top in enumerate(children.get(None, []), start=1):
        rows.append((top, 1, chinese_numeral(n1)))
        for n2, mid in enumerate(children.get(top.code, []), start=1):
            rows.append((mid, 2, str(n2)))
            for n3, leaf in enumerate(children.get(mid.code, []), start=1):
                rows.append((leaf, 3, f"{n2}.{n3}"))
    return rows


# ---------------------------------------------------------------------------------------------- JSON


def to_json(data: SchemeData) -> dict[str, Any]:
    """A JSON-able dict; Decimals become strings so that the round trip is exact."""
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "year": data.year,
        "label": data.label,
        "name": data.name,
        "total_points": str(data.total_points),
        "indicators": [
            {
                "code": ind.code,
                "name": ind.name,
                "parent": ind.parent,
                "max_points": str(ind.max_points),
                "kind": ind.kind,
                "criteria": ind.criteria,
                "rules": copy.deepcopy(ind.rules),
                "department": ind.department,
                "source": ind.source,
                "frequency": ind.frequency,
                "assessed_in_system": ind.assessed_in_system,
            }
            for ind in data.indicators
        ],
    }


# A finite Decimal from a number or numeric text (floats by their shortest repr), else None.
parse_decimal = written_number


def from_json(payload: Any, *, check_scheme: bool = True) -> SchemeData:
    """Rebuild SchemeData from `to_json` output. Raises SchemeDataError listing every malformed
    number and, unless `check_scheme` is False (trusted input only), every `validate` problem —
    which also covers fields of the wrong JSON type."""
    if not isinstance(payload, dict) or not isinstance(payload.get("indicators", []), list):
        raise SchemeDataError(["考核细则数据须为 JSON 对象，其中 indicators 为列表"])
    errors: list[str] = []
    fmt, version = payload.get("format", JSON_FORMAT), payload.get("version", JSON_VERSION)
    if fmt != JSON_FORMAT or version != JSON_VERSION:
        errors.append(f"不支持的数据格式：{fmt} 版本 {version}")
    total = parse_decimal(payload.get("total_points"))
    if total is None:
        errors.append(f"总分（total_points）不是数字：「{payload.get('total_points')}」")
    indicators: list[IndicatorData] = []
    for n, row in enumerate(payload.get("indicators", []), start=1):
        if not isinstance(row, dict):
            errors.append(f"第 {n} 项指标须为 JSON 对象")
            continue
        points = parse_decimal(row.get("max_points"))
        if points is None:
            errors.append(
                f"第 {n} 项指标 {row.get('code')} 分值（max_points）不是数字：「{row.get('max_points')}」"
            )
        indicators.append(
            IndicatorData(
                code=row.get("code"),  # type: ignore[arg-type]  # validate() checks the types
                name=row.get("name", ""),
                parent=row.get("parent"),
                max_points=points if points is not None else Decimal(0),
                kind=row.get("kind", "scored"),
                criteria=row.get("criteria", ""),
                rules=copy.deepcopy(row.get("rules")),
                department=row.get("department", ""),
                source=row.get("source", ""),
                frequency=row.get("frequency", ""),
                assessed_in_system=row.get("assessed_in_system", True),
            )
        )
    if errors:
        raise SchemeDataError(errors)
    data = SchemeData(
        payload.get("year"),  # type: ignore[arg-type]
        payload.get("label", ""),
        payload.get("name", ""),
        total,  # type: ignore[arg-type]
        indicators,
    )
    problems = validate(data) if check_scheme else []
    if problems:
        raise SchemeDataError(problems)
    return data
