"""Forms of the scheme editor: clone, import, an indicator, and its rules (per method or as JSON).

The rules sub-form is plain named inputs (lists as ``items-0-label`` …) held in a "state" dict of
strings, so that a refused submission is shown again exactly as typed. ``rules_from_state`` builds
the rules dict; `app.scoring.rule_reading.parse_rules` (called by the operation) judges it.

Tiered bands typed the way published tables write them (0–60, 61–70) are converted here, where
rules are entered (the editor and an imported file), never where stored rules are read back:
see app.scoring.bands.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from app.forms import Form, choice_list
from app.inputs import JsonTooDeep, load_json
from app.schemes.describe import METHOD_LABELS
from app.schemes.excel import JSON_HINTS
from app.schemes.exchange import (
    FREQUENCY_LABELS,
    KIND_LABELS,
    SchemeData,
    SchemeDataError,
    fmt_points,
    from_json,
    parse_decimal,
)
from app.schemes.workbook_reader import from_workbook
from app.scoring.bands import BandEntry, enter_bands
from app.scoring.rules import FINDER_LABELS, FINDERS, METHODS

RULE_METHODS = {**METHOD_LABELS, "manual": "手工录入扣分", "json": "高级：直接编辑 JSON"}
RATE_MODES = {
    "threshold": "达标线（达到得满分，低于按百分点扣分）",
    "proportional": "按比率折算（分值 × 比率）",
}
NO_DATA = {"full": "得满分", "zero": "得 0 分"}
VETO_OUTCOMES = {"fail": "当期考核不达标", "zero_first_level": "所指一级指标得 0 分"}
# The rows of each list field and their columns; blank rows are ignored.
LISTS = {
    "bands": ("min", "max", "points"),
    "c_items": ("key", "label", "points"),
    "b_items": ("key", "label", "points"),
    "v_items": ("key", "label", "outcome", "target"),
    "extras": ("key", "label", "amount"),
}
SCALARS = ("d_amount", "d_cap", "d_unrectified", "r_mode", "r_threshold", "r_per_point", "r_no_data", "b_cap")
MAX_ROWS, BLANK_ROWS = 40, 2
MAX_POINTS = 1000


class RulesInputError(ValueError):
    """Rules text that is not even JSON; the message is Chinese."""


class CloneForm(Form):
    year = IntegerField(
        "年度",
        validators=[InputRequired("请填写年度"), NumberRange(2000, 2100, "年度须在 2000–2100 之间")],
    )
    label = StringField("版本", validators=[DataRequired("请填写版本，如 2027版"), Length(max=40)])
    name = StringField("名称", validators=[Length(max=200)])


class ImportForm(Form):
    file = FileField("考核细则文件（.xlsx 或 .json）", validators=[FileRequired("请选择要导入的文件")])


class IndicatorForm(Form):
    code = StringField("指标编码", validators=[DataRequired("请填写指标编码")])
    name = StringField("名称", validators=[DataRequired("请填写指标名称")])
    max_points = StringField("分值", validators=[DataRequired("请填写分值")])
    # Unknown choices are reported in Chinese by the operation (kind, frequency) or rules_from_state.
    kind = SelectField("类型", choices=choice_list(KIND_LABELS.items()), validate_choice=False)
    criteria = TextAreaField("评分标准")
    department = StringField("考核部门")
    source = StringField("数据来源")
    frequency = SelectField(
        "考核频次", choices=choice_list([("", "（不限）"), *FREQUENCY_LABELS.items()]), validate_choice=False
    )
    assessed_in_system = BooleanField("在系统中考核（否：线下考核）")
    rule_method = SelectField("计分方法", choices=choice_list(RULE_METHODS.items()), validate_choice=False)

    def validate_max_points(self, field: StringField) -> None:
        value = parse_decimal(field.data)
        if value is None:
            raise ValidationError("分值须为数字，如 6 或 0.5")
        if abs(value) > MAX_POINTS:
            raise ValidationError(f"分值不能超过 {MAX_POINTS}")

    def values(self, rules: dict[str, Any] | None) -> dict[str, Any]:
        """What the operations take (app.schemes.operations.EDITABLE_FIELDS)."""
        return {
            "code": (self.code.data or "").strip().upper(),
            "name": self.name.data or "",
            "max_points": parse_decimal(self.max_points.data),
            "kind": self.kind.data,
            "criteria": self.criteria.data or "",
            "department": self.department.data or "",
            "source": self.source.data or "",
            "frequency": self.frequency.data or "",
            "assessed_in_system": bool(self.assessed_in_system.data),
            "rules": rules,
        }


def read_upload(filename: str, content: bytes) -> SchemeData:
    """A scheme from an uploaded workbook or JSON file; SchemeDataError lists every problem."""
    if filename.lower().endswith(".xlsx"):
        return from_workbook(content)
    if not filename.lower().endswith(".json"):
        raise SchemeDataError([f"不支持的文件类型「{filename}」：请上传 .xlsx 工作簿或 .json 文件"])
    try:
        payload = load_json(content.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise SchemeDataError(["JSON 文件须为 UTF-8 编码"]) from exc
    except JsonTooDeep as exc:
        raise SchemeDataError([f"文件的 {exc}，考核细则不会嵌套这么深"]) from exc
    except json.JSONDecodeError as exc:
        raise SchemeDataError([_json_error("文件", exc)]) from exc
    return from_json(payload)


def convert_imported_bands(data: SchemeData) -> tuple[list[str], list[str]]:
    """Convert published-style bands of a version being imported (in place); the notes on what
    was converted and the warnings on gaps left, to show once the import has succeeded."""
    notes: list[str] = []
    warnings: list[str] = []
    for indicator in data.indicators:
        entry = enter_bands(indicator.rules, indicator.code)
        indicator.rules = entry.rules
        notes += entry.notes
        warnings += entry.warnings
    return notes, warnings


def _json_error(what: str, exc: json.JSONDecodeError) -> str:
    hint = JSON_HINTS.get(exc.msg, exc.msg)
    return f"{what}不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 个字符：{hint}）"


# ------------------------------------------------------------------------------------ rules state


def _text(value: Any) -> str:
    if value is None:
        return ""
    number = parse_decimal(value) if not isinstance(value, str) else None
    return fmt_points(number) if number is not None else str(value)


def empty_state() -> dict[str, Any]:
    state: dict[str, Any] = {key: "" for key in SCALARS}
    state.update(method="manual", r_mode="threshold", r_no_data="full", json="")
    state.update(d_by={f: "" for f in FINDERS}, d_mul={f: "" for f in FINDERS})
    state.update({name: [] for name in LISTS})
    return state


def state_from_rules(rules: Mapping[str, Any] | None) -> dict[str, Any]:
    """The sub-form filled from stored rules (rules it cannot show field by field open as JSON)."""
    state = empty_state()
    state["json"] = json.dumps(rules, ensure_ascii=False, indent=2) if rules else ""
    if rules is None:
        return state
    method = rules.get("method") if isinstance(rules, Mapping) else None
    if method not in METHODS:
        state["method"] = "json"
        return state
    state["method"] = method
    prefix = {"checklist": "c_items", "bonus": "b_items", "veto": "v_items"}.get(method)
    for key, value in rules.items():
        if key in ("amount", "cap", "unrectified_extra") and method == "deduct":
            state[{"amount": "d_amount", "cap": "d_cap", "unrectified_extra": "d_unrectified"}[key]] = _text(
                value
            )
        elif key in ("by_finder", "multipliers") and isinstance(value, Mapping):
            target = state["d_by" if key == "by_finder" else "d_mul"]
            target.update({f: _text(v) for f, v in value.items() if f in target})
        elif key in ("mode", "threshold", "per_point", "when_no_data") and method == "rate":
            state[{"when_no_data": "r_no_data"}.get(key, f"r_{key}")] = _text(value)
        elif key == "cap" and method == "bonus":
            state["b_cap"] = _text(value)
        elif key in ("bands", "items", "extras") and isinstance(value, list):
            name = "bands" if key == "bands" else "extras" if key == "extras" else prefix
            if name is None:
                continue
            state[name] = [
                {col: _text(row.get(col)) for col in LISTS[name]} for row in value if isinstance(row, Mapping)
            ]
    return state


def state_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The sub-form as submitted (`form` is request.form)."""
    state = empty_state()
    state["method"] = form.get("rule_method", "manual")
    state["json"] = form.get("rules_json", "")
    for key in SCALARS:
        state[key] = (form.get(key) or state[key]).strip()
    for finder in FINDERS:
        state["d_by"][finder] = (form.get(f"d_by_{finder}") or "").strip()
        state["d_mul"][finder] = (form.get(f"d_mul_{finder}") or "").strip()
    for name, columns in LISTS.items():
        rows = [{c: (form.get(f"{name}-{n}-{c}") or "").strip() for c in columns} for n in range(MAX_ROWS)]
        state[name] = [row for row in rows if not _blank(row)]
    return state


def _blank(row: Mapping[str, str]) -> bool:
    """Keys are kept in hidden inputs and outcomes always have a value: clearing the rest deletes a row."""
    return not any(value for column, value in row.items() if column not in ("key", "outcome"))


def with_blank_rows(state: dict[str, Any]) -> dict[str, Any]:
    """A copy with empty rows after each list, to type new entries into."""
    padded = dict(state)
    for name, columns in LISTS.items():
        blank = {c: "fail" if c == "outcome" else "" for c in columns}
        padded[name] = list(state[name]) + [dict(blank) for _ in range(BLANK_ROWS)]
    return padded


def _keyed(rows: list[dict[str, str]], stem: str) -> list[dict[str, str]]:
    """Rows with a key each: blank keys get item1, item2 … not already used."""
    used = {row["key"] for row in rows if row.get("key")}
    numbers = (f"{stem}{n}" for n in range(1, 10_000) if f"{stem}{n}" not in used)
    return [{**row, "key": row.get("key") or next(numbers)} for row in rows]


def rules_from_state(state: Mapping[str, Any]) -> dict[str, Any] | None:
    """The rules dict the sub-form describes (numbers stay text; parse_rules checks them)."""
    method = state["method"]
    if method == "json":
        text = state["json"].strip()
        if not text:
            return None
        try:
            parsed = load_json(text)
        except JsonTooDeep as exc:
            raise RulesInputError(f"计分规则的 {exc}") from exc
        except json.JSONDecodeError as exc:
            raise RulesInputError(_json_error("计分规则", exc)) from exc
        if parsed is not None and not isinstance(parsed, dict):
            raise RulesInputError('计分规则须为 JSON 对象，如 {"method": "deduct", "amount": 1}')
        return parsed
    if method not in METHODS:
        raise RulesInputError("请选择计分方法")
    rules: dict[str, Any] = {"method": method}
    if method == "deduct":
        pairs = (("amount", "d_amount"), ("cap", "d_cap"), ("unrectified_extra", "d_unrectified"))
        rules.update({key: state[name] for key, name in pairs if state[name]})
        for key, name in (("by_finder", "d_by"), ("multipliers", "d_mul")):
            if any(state[name].values()):
                rules[key] = {f: v for f, v in state[name].items() if v}
    elif method == "rate":
        rules.update(mode=state["r_mode"], when_no_data=state["r_no_data"])
        if state["r_mode"] == "threshold":
            rules.update(threshold=state["r_threshold"], per_point=state["r_per_point"])
    elif method == "tiered":
        rules["bands"] = [dict(row) for row in state["bands"]]
    elif method in ("checklist", "bonus"):
        rules["items"] = _keyed(state["c_items" if method == "checklist" else "b_items"], "item")
        if method == "bonus" and state["b_cap"]:
            rules["cap"] = state["b_cap"]
    elif method == "veto":
        rules["items"] = [
            {k: v for k, v in row.items() if k != "target" or row["outcome"] == "zero_first_level"}
            for row in _keyed(state["v_items"], "item")
        ]
    if method != "veto" and state["extras"]:
        rules["extras"] = _keyed(state["extras"], "extra")
    return rules


def entered_rules(state: Mapping[str, Any], code: str, stored: dict[str, Any] | None) -> BandEntry:
    """The rules the sub-form describes, published-style bands converted; *stored* (the
    indicator's rules now) keeps bands that are re-submitted unchanged as they are."""
    return enter_bands(rules_from_state(state), code.strip().upper(), stored)


FINDER_CHOICES = [(f, FINDER_LABELS[f]) for f in FINDERS]


class ScoringSettingsForm(Form):
    """计分设置 of a draft version."""

    rounding_places = SelectField(
        "得分保留小数位", choices=choice_list((str(n), f"{n} 位") for n in range(5))
    )
    rounding_mode = SelectField("舍入方式", choices=[])
    grade_bands = StringField("等次划分（占总分百分比的下限）", validators=[Length(max=200)])
    tie_break = SelectField("同分排序", choices=[])
    vetoed_rank_last = BooleanField("一票否决（当期不达标）的单位排在其他单位之后")
    annual_rule = SelectField("年度汇总规则", choices=[])
