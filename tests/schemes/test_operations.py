"""Scheme versions in the database: the shipped 2026 version, freezing, cloning, import and export."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.db import db
from app.errors import Conflict
from app.schemes.models import Scheme
from app.schemes.operations import (
    SchemeError,
    activate_scheme,
    clone_scheme,
    create_scheme,
    ensure_editable,
    scheme_data,
)
from app.scoring.rule_reading import parse_rules
from tests.helpers import issue_round

pytestmark = pytest.mark.db


def test_shipped_2026_scheme_has_rules_for_every_leaf(app, demo) -> None:
    scheme = db.session.scalar(select(Scheme))
    assert (scheme.year, scheme.label, scheme.status) == (2026, "2026版", "active")
    leaves = scheme.scored_leaves
    assert sum((leaf.max_points for leaf in leaves), Decimal(0)) == Decimal(75)
    assert {leaf.code for leaf in leaves} >= {"ZF0101", "ZF0301", "DW0101", "DW0102", "DW0203", "DW06"}
    for leaf in leaves:
        assert leaf.rules and parse_rules(leaf.rules, leaf.max_points, leaf.code)
    codes = [i.code for i in scheme.indicators]
    assert codes.index("DW01") < codes.index("DW0101") < codes.index("DW02")  # tree order kept
    assert {i.kind for i in scheme.indicators if i.code in ("BONUS", "VETO")} == {"bonus", "veto"}


def test_a_used_version_is_frozen_and_cloned_for_changes(app, demo, client_as) -> None:
    issue_round(client_as("admin"))
    scheme = db.session.scalar(select(Scheme))
    assert scheme.is_locked
    with pytest.raises(Conflict, match="复制为新版本"):
        ensure_editable(scheme)
    with db.transaction() as session:
        clone = clone_scheme(session, 1, session.get(Scheme, scheme.id), 2027, "2027版", "")
        clone_id = clone.id
    clone = db.session.get(Scheme, clone_id)
    assert clone.status == "draft" and not clone.is_locked and clone.cloned_from_id == scheme.id
    assert scheme_data(clone).indicators == scheme_data(scheme).indicators
    ensure_editable(clone)


def test_bad_scheme_is_refused_naming_the_indicators_and_nothing_is_written(app, demo) -> None:
    scheme = db.session.scalar(select(Scheme))
    data = scheme_data(scheme)
    data.label = "2026版修订"
    zf0101 = next(i for i in data.indicators if i.code == "ZF0101")
    zf0101.max_points = Decimal(7)
    dw03 = next(i for i in data.indicators if i.code == "DW03")
    dw03.rules = {"method": "rate", "mode": "threshold", "threshold": "120", "per_point": "0.3"}
    before = db.session.scalar(select(func.count(Scheme.id)))
    with pytest.raises(SchemeError) as excinfo, db.transaction() as session:
        create_scheme(session, 1, data)
    text = "\n".join(excinfo.value.errors)
    assert "ZF01" in text and "DW03" in text
    assert db.session.scalar(select(func.count(Scheme.id))) == before


def test_activation_checks_the_scheme_again(app, demo) -> None:
    scheme = db.session.scalar(select(Scheme))
    data = scheme_data(scheme)
    data.label = "2026版草稿"
    with db.transaction() as session:
        draft = create_scheme(session, 1, data)
        draft_id = draft.id
    with db.transaction() as session:
        draft = session.get(Scheme, draft_id)
        draft.indicators[0].max_points = Decimal(49)
        with pytest.raises(SchemeError, match="ZF"):
            activate_scheme(session, 1, draft)
        session.rollback()


def test_cli_exports_json_and_round_trips_a_workbook(app, demo, tmp_path) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["scheme", "export", "--format", "json", "--version", "2026版"])
    assert result.exit_code == 0, result.output
    exported = json.loads(result.output)
    zf0301 = next(i for i in exported["indicators"] if i["code"] == "ZF0301")
    assert zf0301["max_points"] == "6" and zf0301["rules"]["method"] == "rate"
    assert zf0301["assessed_in_system"] is True and zf0301["frequency"] == "monthly"
    assert runner.invoke(args=["scheme", "export", "--version", "1999版"]).exit_code != 0

    workbook = tmp_path / "scheme.xlsx"
    assert (
        runner.invoke(args=["scheme", "export", "--format", "xlsx", "--output", str(workbook)]).exit_code == 0
    )
    same = runner.invoke(args=["scheme", "import", str(workbook)])
    assert same.exit_code != 0 and "已有版本" in same.output
    book = load_workbook(io.BytesIO(workbook.read_bytes()))
    notes = book["说明"]
    label_cell = next(row[1] for row in notes.iter_rows(min_row=1, max_row=6) if row[0].value == "版本")
    label_cell.value = "2026版（修订）"
    book.save(workbook)
    imported = runner.invoke(args=["scheme", "import", str(workbook)])
    assert imported.exit_code == 0, imported.output
    copy = db.session.scalar(select(Scheme).where(Scheme.label == "2026版（修订）"))
    original = db.session.scalar(select(Scheme).where(Scheme.label == "2026版"))
    assert copy.status == "draft"
    assert scheme_data(copy).indicators == scheme_data(original).indicators


def test_a_clone_keeps_the_scoring_settings_of_its_source(app, demo) -> None:
    source = db.session.scalar(select(Scheme))
    with db.transaction() as session:
        settings = session.get(Scheme, source.id)
        settings.rounding_places, settings.rounding_mode = 1, "half_even"
        settings.grade_bands = [["85", "优秀"], ["0", "一般"]]
        settings.tie_break, settings.annual_rule = "ZF", "pooled"
    with db.transaction() as session:
        clone = clone_scheme(session, 1, session.get(Scheme, source.id), 2027, "2027版", "")
        clone_id = clone.id
    db.session.expire_all()
    clone = db.session.get(Scheme, clone_id)
    assert (clone.rounding_places, clone.rounding_mode) == (1, "half_even")
    assert clone.grade_bands == [["85", "优秀"], ["0", "一般"]]
    assert (clone.tie_break, clone.annual_rule) == ("ZF", "pooled")
    assert clone.vetoed_rank_last  # the rule of every new version
