"""State changes inside a draft scheme version: add, edit, move and delete indicators."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.errors import Conflict, NotFound, ValidationFailed
from app.schemes.exchange import (
    IndicatorData,
    SchemeData,
    check,
    fmt_points,
    parse_decimal,
)
from app.schemes.models import Indicator, Scheme
from app.schemes.operations import (
    EDITABLE_FIELDS,
    STATUS_LABELS,
    SchemeError,
    ensure_editable,
    rule_findings,
    scheme_data,
)
from app.scoring.rule_reading import dump_rules, parse_rules
from app.scoring.rules import ManualRules, RuleError


def ensure_draft(scheme: Scheme) -> None:
    """Only drafts change: a used version is frozen, an active one may be used by a round any time."""
    ensure_editable(scheme)
    if scheme.status != "draft":
        status = STATUS_LABELS.get(scheme.status, scheme.status)
        raise Conflict(f"{scheme.label} 已{status}，只有草稿可以修改；请复制为新版本后修改")


def indicator_of(scheme: Scheme, indicator_id: int | None) -> Indicator:
    found = next((i for i in scheme.indicators if i.id == indicator_id), None)
    if found is None:
        raise NotFound("指标不存在")
    return found


def _item(values: Mapping[str, Any], parent: str | None) -> IndicatorData:
    points = values.get("max_points")
    if not isinstance(points, Decimal) and parse_decimal(points) is not None:
        points = parse_decimal(points)
    return IndicatorData(
        code=str(values.get("code", "")).strip().upper(),
        name=str(values.get("name", "")).strip(),
        parent=parent,
        max_points=points,  # type: ignore[arg-type]  # check() reports anything but a number
        kind=values.get("kind", "scored"),
        criteria=str(values.get("criteria", "")).strip(),
        rules=values.get("rules"),
        department=str(values.get("department", "")).strip(),
        source=str(values.get("source", "")).strip(),
        frequency=values.get("frequency", ""),
        assessed_in_system=bool(values.get("assessed_in_system", True)),
    )


def _guard(before: SchemeData, after: SchemeData, index: int | None = None) -> None:
    """Refuse a change that brings a new problem. Sums are left out: re-weighting a draft takes
    several edits, and activation checks them. `index` is the edited indicator: its problems are
    also returned by form field (``SchemeError.fields``)."""

    def findings(data: SchemeData) -> list[tuple[int | None, str, str]]:
        out = [(p.index, p.field, p.message) for p in check(data, sums=False)]
        return out + [(n, "rules", message) for n, message in rule_findings(data)]

    old = {message for _n, _f, message in findings(before)}
    fresh = [f for f in findings(after) if f[2] not in old]
    if fresh:
        error = SchemeError([message for _n, _f, message in fresh])
        for n, field, message in fresh:
            if n == index and index is not None:
                error.fields.setdefault("parent_id" if field == "parent" else field, message)
        raise error


def _stored_rules(item: IndicatorData, old: dict[str, Any] | None) -> dict[str, Any] | None:
    """The canonical form of checked rules; the stored dict when they mean the same; None for
    plain manual scoring."""
    parsed = parse_rules(item.rules, item.max_points, item.code)
    try:
        if old is not None and parse_rules(old, item.max_points, item.code) == parsed:
            return old
    except RuleError:
        pass
    if isinstance(parsed, ManualRules) and not parsed.extras:
        return None
    return dump_rules(parsed)


def _snapshot(indicator: Indicator) -> dict[str, Any]:
    parent = next((i.code for i in indicator.scheme.indicators if i.id == indicator.parent_id), None)
    return {"parent": parent, **{f: getattr(indicator, f) for f in EDITABLE_FIELDS}}


def _record(
    session: Session,
    actor_id: int,
    scheme: Scheme,
    action: str,
    indicator_id: int,
    summary: str,
    **change: Any,
) -> None:
    audit(
        session,
        actor_id,
        f"scheme.{action}",
        ("indicator", indicator_id),
        f"{scheme.label} {summary}",
        **change,
    )


def _siblings(scheme: Scheme, parent_id: int | None) -> list[Indicator]:
    kids = [i for i in scheme.indicators if i.parent_id == parent_id]
    return sorted(kids, key=lambda i: (i.sort_order, i.id))


def _renumber(session: Session, scheme: Scheme) -> None:
    """sort_order in tree order again (parents before children, siblings in their order)."""
    session.flush()
    counter, seen = itertools.count(), set()

    def walk(parent_id: int | None) -> None:
        for indicator in _siblings(scheme, parent_id):
            if indicator.id not in seen:
                seen.add(indicator.id)
                indicator.sort_order = next(counter)
                walk(indicator.id)

    walk(None)
    session.flush()
    session.expire(scheme, ["indicators"])


def add_indicator(
    session: Session, actor_id: int, scheme: Scheme, parent_id: int | None, values: Mapping[str, Any]
) -> Indicator:
    """A new indicator at the end of its siblings (top level when `parent_id` is None)."""
    ensure_draft(scheme)
    parent = indicator_of(scheme, parent_id) if parent_id is not None else None
    before, after = scheme_data(scheme), scheme_data(scheme)
    item = _item(values, parent.code if parent else None)
    after.indicators.append(item)
    _guard(before, after, len(after.indicators) - 1)
    last = max((i.sort_order for i in _siblings(scheme, parent_id)), default=-1)
    indicator = Indicator(
        scheme_id=scheme.id,
        parent_id=parent_id,
        sort_order=last + 1,
        **{f: getattr(item, f) for f in EDITABLE_FIELDS if f != "rules"},
        rules=_stored_rules(item, None),
    )
    scheme.indicators.append(indicator)
    _renumber(session, scheme)
    summary = f"新增指标 {indicator.code} {indicator.name}"
    _record(session, actor_id, scheme, "indicator_add", indicator.id, summary, after=_snapshot(indicator))
    return indicator


def update_indicator(
    session: Session, actor_id: int, indicator: Indicator, values: Mapping[str, Any]
) -> Indicator:
    scheme = indicator.scheme
    ensure_draft(scheme)
    index = scheme.indicators.index(indicator)
    before, after = scheme_data(scheme), scheme_data(scheme)
    item = _item(values, before.indicators[index].parent)
    after.indicators[index] = item
    for other in after.indicators:
        if other.parent == indicator.code:
            other.parent = item.code
    _guard(before, after, index)
    item.rules = _stored_rules(item, indicator.rules)
    changed = [f for f in EDITABLE_FIELDS if getattr(item, f) != getattr(indicator, f)]
    if not changed:
        return indicator
    old = {f: getattr(indicator, f) for f in changed}
    for f in changed:
        setattr(indicator, f, getattr(item, f))
    session.flush()
    summary = f"修改指标 {indicator.code}：{'、'.join(changed)}"
    new = {f: getattr(indicator, f) for f in changed}
    _record(session, actor_id, scheme, "indicator_update", indicator.id, summary, before=old, after=new)
    return indicator


def shift_indicator(session: Session, actor_id: int, indicator: Indicator, step: int) -> Indicator:
    """Move one place up (step -1) or down (+1) among its siblings."""
    scheme = indicator.scheme
    ensure_draft(scheme)
    siblings = _siblings(scheme, indicator.parent_id)
    position = siblings.index(indicator)
    if step not in (-1, 1) or not 0 <= position + step < len(siblings):
        raise ValidationFailed(f"指标 {indicator.code} 已在同级{'最前' if step < 0 else '最后'}")
    other = siblings[position + step]
    indicator.sort_order, other.sort_order = other.sort_order, indicator.sort_order
    _renumber(session, scheme)
    summary = f"指标 {indicator.code} {'上移' if step < 0 else '下移'}"
    places = {"before": {"position": position + 1}, "after": {"position": position + step + 1}}
    _record(session, actor_id, scheme, "indicator_move", indicator.id, summary, **places)
    return indicator


def move_indicator(session: Session, actor_id: int, indicator: Indicator, parent_id: int | None) -> Indicator:
    """Move under another parent (None: the top level), at the end of its new siblings."""
    scheme = indicator.scheme
    ensure_draft(scheme)
    parent = indicator_of(scheme, parent_id) if parent_id is not None else None
    if parent_id == indicator.parent_id:
        raise ValidationFailed(f"指标 {indicator.code} 已在{parent.code if parent else '一级'}下")
    index = scheme.indicators.index(indicator)
    before, after = scheme_data(scheme), scheme_data(scheme)
    old_parent = before.indicators[index].parent
    after.indicators[index].parent = parent.code if parent else None
    _guard(before, after, index)
    last = max((i.sort_order for i in _siblings(scheme, parent_id)), default=-1)
    indicator.parent_id, indicator.sort_order = parent_id, last + 1
    _renumber(session, scheme)
    new_parent = parent.code if parent else None
    summary = f"指标 {indicator.code} 移到 {new_parent or '一级'} 下"
    places = {"before": {"parent": old_parent}, "after": {"parent": new_parent}}
    _record(session, actor_id, scheme, "indicator_move", indicator.id, summary, **places)
    return indicator


def delete_indicator(session: Session, actor_id: int, indicator: Indicator) -> None:
    """Delete a leaf, or a group without children."""
    scheme = indicator.scheme
    ensure_draft(scheme)
    if any(i.parent_id == indicator.id for i in scheme.indicators):
        raise ValidationFailed(f"指标 {indicator.code} 还有下级指标，请先删除或移走下级指标")
    index = scheme.indicators.index(indicator)
    before, after = scheme_data(scheme), scheme_data(scheme)
    del after.indicators[index]
    _guard(before, after)
    snapshot, indicator_id = _snapshot(indicator), indicator.id
    summary = f"删除指标 {indicator.code} {indicator.name}（{fmt_points(indicator.max_points)} 分）"
    scheme.indicators.remove(indicator)
    session.delete(indicator)
    _renumber(session, scheme)
    _record(session, actor_id, scheme, "indicator_delete", indicator_id, summary, before=snapshot)
