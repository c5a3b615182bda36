"""State changes of scheme versions: create, import, clone, activate; a used version is frozen.

Changes inside a draft (its indicators) live in editing.py."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.errors import Conflict, ValidationFailed
from app.schemes.exchange import (
    FREQUENCIES,
    IndicatorData,
    SchemeData,
    tree_rows,
    validate,
)
from app.schemes.models import Indicator, Scheme
from app.scoring.rule_reading import parse_rules, read_rules_document
from app.scoring.rules import RuleError, VetoRules
from workflows import clock

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_SCHEME_FILE = DATA_DIR / "scheme-2026.yaml"
DEFAULT_RULES_FILE = DATA_DIR / "rules-2026.yaml"
STATUS_LABELS = {"draft": "草稿", "active": "启用", "retired": "停用"}
# The fields of an indicator that the editor changes (the place in the tree moves separately).
EDITABLE_FIELDS: tuple[str, ...] = ("code", "name", "max_points", "kind", "criteria", "department", "source")
EDITABLE_FIELDS += ("frequency", "assessed_in_system", "rules")


class SchemeError(ValidationFailed):
    """A scheme that breaks the rules; ``errors`` lists every problem, each naming the indicator."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("考核细则有误：" + "；".join(errors[:5]) + ("……" if len(errors) > 5 else ""))
        self.errors = errors


def _frequency(text: str) -> str:
    """The draft tables write frequencies as prose; keep the first cadence they name."""
    lowered = text.lower()
    for frequency in ("monthly", "quarterly", "annual"):
        if lowered.startswith(frequency):
            return frequency
    return "per_event" if lowered.startswith(("per", "any")) else ""


def _rules_of(rules: Mapping[str, Mapping[str, Any]], code: str) -> dict[str, Any] | None:
    """An indicator's rules from the rules file, as the JSON object an indicator holds."""
    found = rules.get(code)
    return None if found is None else dict(found)


def rule_findings(data: SchemeData) -> list[tuple[int, str]]:
    """(indicator index, message) for rules that do not parse, rules on groups, and veto items whose
    target is not a first-level scored indicator."""
    parents = {i.parent for i in data.indicators if i.parent}
    first = {i.code for i in data.indicators if i.parent is None and i.kind == "scored"}
    findings = []
    for n, indicator in enumerate(data.indicators):
        if indicator.code in parents:
            if indicator.rules:
                findings.append((n, f"指标 {indicator.code} 有下级指标，不能设置计分规则"))
            continue
        if not isinstance(indicator.max_points, Decimal):
            continue  # validate() reports the points
        try:
            parsed = parse_rules(indicator.rules, indicator.max_points, indicator.code)
        except RuleError as exc:
            findings.append((n, str(exc)))
            continue
        if isinstance(parsed, VetoRules):
            findings += [
                (n, f"指标 {indicator.code}：否决事项「{item.label}」的对象 {item.target} 不是一级计分指标")
                for item in parsed.items
                if item.target is not None and item.target not in first
            ]
    return findings


def rule_problems(data: SchemeData) -> list[str]:
    """Rules of every leaf parse against its maximum; groups carry none; veto targets exist."""
    return [message for _n, message in rule_findings(data)]


def scheme_problems(data: SchemeData) -> list[str]:
    """Everything that keeps a version from being activated, each message naming the indicator."""
    return validate(data) + rule_problems(data)


def scheme_data(scheme: Scheme) -> SchemeData:
    by_id = {i.id: i for i in scheme.indicators}
    return SchemeData(
        year=scheme.year,
        label=scheme.label,
        name=scheme.name,
        total_points=scheme.total_points,
        indicators=[
            IndicatorData(
                code=i.code,
                name=i.name,
                parent=by_id[i.parent_id].code if i.parent_id else None,
                max_points=i.max_points,
                kind=i.kind,
                criteria=i.criteria,
                rules=i.rules,
                department=i.department,
                source=i.source,
                frequency=i.frequency,
                assessed_in_system=i.assessed_in_system,
            )
            for i in scheme.indicators
        ],
    )


def create_scheme(
    session: Session,
    actor_id: int | None,
    data: SchemeData,
    status: str = "draft",
    cloned_from: int | None = None,
) -> Scheme:
    """A new scheme version from checked data; nothing is written when anything is wrong."""
    problems = validate(data) + rule_problems(data)
    if session.scalar(select(Scheme.id).where(Scheme.year == data.year, Scheme.label == data.label)):
        problems.append(f"{data.year} 年已有版本 {data.label}")
    if problems:
        raise SchemeError(problems)
    scheme = Scheme(
        year=data.year,
        label=data.label,
        name=data.name,
        total_points=data.total_points,
        status=status,
        cloned_from_id=cloned_from,
    )
    session.add(scheme)
    session.flush()
    by_code: dict[str, Indicator] = {}
    # Tree order (parents before children, siblings as given) is the order tables are read in.
    for order, (item, _level, _number) in enumerate(tree_rows(data.indicators)):
        indicator = Indicator(
            scheme_id=scheme.id,
            parent_id=by_code[item.parent].id if item.parent else None,
            code=item.code,
            name=item.name,
            max_points=item.max_points,
            kind=item.kind,
            criteria=item.criteria,
            rules=item.rules,
            department=item.department,
            source=item.source,
            frequency=item.frequency,
            assessed_in_system=item.assessed_in_system,
            sort_order=order,
        )
        session.add(indicator)
        session.flush()
        by_code[item.code] = indicator
    session.refresh(scheme)
    audit(
        session,
        actor_id,
        "scheme.create",
        ("scheme", scheme.id),
        f"新建考核细则 {data.year} {data.label}（{len(data.indicators)} 项指标，{status}）",
    )
    return scheme


def ensure_editable(scheme: Scheme) -> None:
    if scheme.is_locked:
        raise Conflict(f"{scheme.label} 已被考核轮次使用，不能修改；请复制为新版本后修改")


def clone_scheme(session: Session, actor_id: int, source: Scheme, year: int, label: str, name: str) -> Scheme:
    data = scheme_data(source)
    data.year, data.label, data.name = year, label.strip(), name.strip() or source.name
    clone = create_scheme(session, actor_id, data, status="draft", cloned_from=source.id)
    # The scoring settings travel with the indicators: a clone made to change one indicator must
    # not quietly score, grade, break ties or aggregate the year differently. (Vetoed units ranking
    # last is the rule of every new version.)
    for setting in ("rounding_places", "rounding_mode", "grade_bands", "tie_break", "annual_rule"):
        setattr(clone, setting, copy.deepcopy(getattr(source, setting)))
    return clone


def activate_scheme(session: Session, actor_id: int, scheme: Scheme) -> Scheme:
    ensure_editable(scheme)
    if scheme.status == "active":
        raise Conflict(f"{scheme.label} 已是启用状态")
    problems = scheme_problems(scheme_data(scheme))
    if problems:
        raise SchemeError(problems)
    before = scheme.status
    scheme.status = "active"
    session.flush()
    audit(
        session,
        actor_id,
        "scheme.activate",
        ("scheme", scheme.id),
        f"启用考核细则 {scheme.label}",
        before={"status": before},
        after={"status": "active"},
    )
    return scheme


def default_scheme_data(year: int, label: str, name: str) -> SchemeData:
    """The shipped 2026 scheme: the draft table, split where it has sub-items, with its rules."""
    rows: list[dict[str, Any]] = yaml.safe_load(DEFAULT_SCHEME_FILE.read_text(encoding="utf-8"))
    children, rules = read_rules_document(yaml.safe_load(DEFAULT_RULES_FILE.read_text(encoding="utf-8")))
    indicators = [
        IndicatorData(
            code=row["code"],
            name=row["name"],
            parent=row.get("parent"),
            max_points=Decimal(str(row["max"])),
            kind="bonus" if row["code"] == "BONUS" else "veto" if row["code"] == "VETO" else "scored",
            criteria=str(row.get("method", "")),
            rules=_rules_of(rules, row["code"]),
            source=str(row.get("source", "")),
            frequency=_frequency(str(row.get("freq", ""))),
        )
        for row in rows
    ]
    by_code = {i.code: i for i in indicators}
    for child in children:
        parent = by_code[child.parent]
        parent.rules = None
        indicators.append(
            IndicatorData(
                code=child.code,
                name=child.name,
                parent=child.parent,
                max_points=child.max_points,
                kind="scored",
                rules=_rules_of(rules, child.code),
                source=parent.source,
                frequency=parent.frequency,
            )
        )
    assert all(i.frequency in (*FREQUENCIES, "") for i in indicators)
    return SchemeData(year=year, label=label, name=name, total_points=Decimal(75), indicators=indicators)


def load_default_scheme(session: Session, year: int, label: str, name: str) -> Scheme:
    existing = session.scalar(select(Scheme).where(Scheme.year == year, Scheme.label == label))
    if existing is not None:
        return existing
    return create_scheme(session, None, default_scheme_data(year, label, name), status="active")


def freeze_version(scheme: Scheme) -> None:
    """A round keeps the version it was issued with: from its first round on, it never changes
    (changes go into a clone)."""
    if scheme.locked_at is None:
        scheme.locked_at = clock.now()
