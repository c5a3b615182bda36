"""Tests of the pure scoring engine; helpers shared by its test modules live here.

The helpers build the 2026 scheme the way the application will: the indicator table of
scheme-2026.yaml, the sub-indicators added by rules-2026.yaml, and each leaf's parsed rules.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from app.scoring.engine import SchemeNode
from app.scoring.rule_reading import ChildIndicator, parse_rules, read_rules_document

DATA = Path(__file__).resolve().parents[2] / "app" / "schemes" / "data"
SCHEME_2026 = DATA / "scheme-2026.yaml"
RULES_2026 = DATA / "rules-2026.yaml"
TOTAL_2026 = Decimal(75)


def load_rules_2026() -> tuple[tuple[ChildIndicator, ...], dict[str, Any]]:
    return read_rules_document(yaml.safe_load(RULES_2026.read_text(encoding="utf-8")))


def nodes_2026() -> list[SchemeNode]:
    rows = yaml.safe_load(SCHEME_2026.read_text(encoding="utf-8"))
    children, rules = load_rules_2026()
    table = [(r["code"], r["name"], Decimal(str(r["max"])), r.get("parent")) for r in rows]
    table += [(c.code, c.name, c.max_points, c.parent) for c in children]
    parents = {parent for *_, parent in table if parent}
    nodes = []
    for code, name, max_points, parent in table:
        kind = {"BONUS": "bonus", "VETO": "veto"}.get(code, "scored")
        leaf_rules = None if code in parents else parse_rules(rules.get(code), max_points, code)
        nodes.append(SchemeNode(code, name, max_points, kind, parent, leaf_rules))
    return nodes
