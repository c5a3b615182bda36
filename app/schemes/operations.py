"""State changes of schemes. The rule-based editor comes with the scoring engine."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.schemes.models import Indicator, Scheme

DEFAULT_SCHEME_FILE = Path(__file__).parent / "data" / "scheme-2026.yaml"


class SchemeError(ValueError):
    pass


def _kind(row: dict[str, Any]) -> str:
    if row["code"] == "BONUS" or str(row.get("method", "")).startswith("bonus"):
        return "bonus"
    if row["code"] == "VETO" or str(row.get("method", "")).startswith("veto"):
        return "veto"
    return "scored"


def check_totals(scheme: Scheme) -> None:
    """Children's maxima add up to the parent; scored top levels add up to the declared total."""
    children: dict[int | None, list[Indicator]] = {}
    for indicator in scheme.indicators:
        children.setdefault(indicator.parent_id, []).append(indicator)
    for indicator in scheme.indicators:
        kids = children.get(indicator.id)
        if kids:
            total = sum((k.max_points for k in kids), Decimal(0))
            if total != indicator.max_points:
                raise SchemeError(
                    f"指标 {indicator.code} 分值 {indicator.max_points} 与下级合计 {total} 不符"
                )
    top = sum((i.max_points for i in children.get(None, []) if i.kind == "scored"), Decimal(0))
    if top != scheme.total_points:
        raise SchemeError(f"一级指标合计 {top} 分，与细则总分 {scheme.total_points} 不符")


def load_scheme_yaml(session: Session, path: Path, year: int, label: str, name: str) -> Scheme:
    existing = session.scalar(select(Scheme).where(Scheme.year == year, Scheme.label == label))
    if existing is not None:
        return existing
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    scheme = Scheme(year=year, label=label, name=name, total_points=Decimal(75), status="active")
    session.add(scheme)
    session.flush()
    by_code: dict[str, Indicator] = {}
    for order, row in enumerate(rows):
        parent = by_code.get(row["parent"]) if row.get("parent") else None
        indicator = Indicator(
            scheme_id=scheme.id,
            parent_id=parent.id if parent else None,
            code=row["code"],
            name=row["name"],
            max_points=Decimal(str(row["max"])),
            kind=_kind(row),
            method=str(row.get("method", "")),
            source=str(row.get("source", "")),
            frequency=str(row.get("freq", "")),
            sort_order=order,
        )
        session.add(indicator)
        session.flush()
        by_code[indicator.code] = indicator
    session.refresh(scheme)
    check_totals(scheme)
    audit(
        session, None, "scheme.import", ("scheme", scheme.id), f"导入考核细则 {label}（{len(rows)} 项指标）"
    )
    return scheme
