"""Scheme data and workbooks the scheme tests build: the 75-point draft as SchemeData, a small
scheme, and helpers that edit an exported workbook and read back its refusal."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import Workbook, load_workbook

from app.schemes.exchange import IndicatorData, SchemeData, SchemeDataError
from app.schemes.workbook_reader import from_workbook

SCHEME_YAML = Path(__file__).resolve().parents[2] / "app" / "schemes" / "data" / "scheme-2026.yaml"

# The draft's free-text frequencies, reduced to the allowed set.
FREQUENCY = {
    "monthly": "monthly",
    "quarterly": "quarterly",
    "annual": "annual",
    "monthly progress, annual final": "monthly",
    "per task + monthly": "per_event",
    "per task": "per_event",
    "any": "per_event",
}
SOURCE_WORDS = {"SELF": "自评填报", "INSP": "市局核查", "FEED": "大数据平台"}
DEPARTMENT = {"ZF01": "违法建设治理处", "ZF02": "市容秩序处", "ZF03": "数字城管中心", "ZF04": "法制处"}
RULES: dict[str, dict[str, Any]] = {
    "ZF0101": {"method": "deduct", "per": "1.0", "cap": "6", "extras": {"上级督查": {"multiplier": 2}}},
    "ZF0301": {"method": "rate", "threshold": "0.95", "full": "6", "per_point": "0.3"},
    "ZF0202": {
        "method": "checklist",
        "items": [{"name": "方案", "points": "1"}, {"name": "人员到岗", "points": "1"}],
    },
    "BONUS": {"method": "bonus", "cap": "3"},
    "VETO": {"method": "veto", "effect": "fail_period"},
}


def draft_scheme() -> SchemeData:
    """The 75-point draft (scheme-75-draft.yaml) as SchemeData; BONUS → bonus, VETO → veto."""
    rows = yaml.safe_load(SCHEME_YAML.read_text(encoding="utf-8"))
    indicators = []
    for row in rows:
        source = str(row.get("source", ""))
        for word, chinese in SOURCE_WORDS.items():
            source = source.replace(word, chinese)
        code = row["code"]
        indicators.append(
            IndicatorData(
                code=code,
                name=row["name"],
                parent=row["parent"],
                max_points=Decimal(str(row["max"])),
                kind={"BONUS": "bonus", "VETO": "veto"}.get(code, "scored"),
                criteria=str(row.get("method", "")),
                rules=RULES.get(code),
                department=DEPARTMENT.get(code[:4], "市局考核办" if code.startswith("DW") else ""),
                source=source,
                frequency=FREQUENCY[row["freq"]] if "freq" in row else "",
                assessed_in_system=code != "DW04",
            )
        )
    return SchemeData(2026, "2026版", "城管执法考核实施细则", Decimal(75), indicators)


def small_scheme() -> SchemeData:
    def ind(code: str, parent: str | None, points: str, kind: str = "scored") -> IndicatorData:
        return IndicatorData(code, f"指标{code}", parent, Decimal(points), kind)

    return SchemeData(
        2026,
        "试行",
        "测试细则",
        Decimal(10),
        [
            ind("A", None, "10"),
            ind("A01", "A", "5"),
            ind("A0101", "A01", "3"),
            ind("A0102", "A01", "2"),
            ind("A02", "A", "5"),
            ind("BONUS", None, "2", "bonus"),
            ind("VETO", None, "0", "veto"),
        ],
    )


def errors_of(content: bytes) -> list[str]:
    with pytest.raises(SchemeDataError) as caught:
        from_workbook(content)
    assert str(caught.value) == "\n".join(caught.value.errors)
    return caught.value.errors


def edited(content: bytes, change: Callable[[Workbook], None]) -> bytes:
    wb = load_workbook(BytesIO(content))
    change(wb)
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def cells(**values: Any) -> Callable[[Workbook], None]:
    """Set cells of the 考核细则 sheet, e.g. cells(E5="六分")."""

    def change(wb: Workbook) -> None:
        for ref, value in values.items():
            wb["考核细则"][ref] = value

    return change


def row_of(scheme: SchemeData, code: str) -> int:
    """Sheet row of an indicator in an exported workbook (title row 1, header row 2)."""
    return [ind.code for ind in scheme.indicators].index(code) + 3
