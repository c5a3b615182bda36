"""A fact's fields are described once (outcomes.FactContent); every holder of a fact follows it."""

from __future__ import annotations

from dataclasses import MISSING, fields
from datetime import date
from decimal import Decimal as D

from app.scoring import models
from app.scoring.fact_forms import FactInput
from app.scoring.outcomes import FACT_FIELDS, Fact, FactContent, fact_values
from app.scoring.scores import to_engine

# Every field set to something other than its default, so a copy that drops one is seen.
FULL = FactInput(
    "occurrence",
    amount=D("1.5"),
    found_by="city",
    rectified=False,
    numerator=D(3),
    denominator=D(4),
    value=D("82.5"),
    item="late",
    occurred_on=date(2026, 3, 1),
    place="人民路",
    description="占道经营",
)


def test_the_example_sets_every_field() -> None:
    unset = [f.name for f in fields(FactContent) if getattr(FULL, f.name) == f.default]
    assert unset == []


def test_the_stored_row_has_a_column_for_every_fact_field() -> None:
    columns = models.Fact.__table__.columns
    assert [name for name in FACT_FIELDS if name not in columns] == []


def test_a_column_may_be_empty_exactly_when_the_field_may_be_none() -> None:
    columns = models.Fact.__table__.columns
    for f in fields(FactContent):
        assert columns[f.name].nullable == (f.default is None), f.name
        assert f.default is not MISSING or f.name == "kind"


def test_a_fact_keeps_its_content_from_form_to_row_to_engine() -> None:
    row = models.Fact(assessment_id=1, indicator_id=2, stage="self", **fact_values(FULL))
    assert fact_values(row) == fact_values(FULL)
    assert FactInput(**fact_values(row)) == FULL
    scored = to_engine(row, 7, "ZF0101")
    assert (scored.id, scored.indicator) == (7, "ZF0101")
    assert fact_values(scored) == fact_values(FULL)


def test_the_engine_fact_takes_id_and_indicator_first() -> None:
    fact = Fact(1, "ZF0303", "value", value=D(65))
    assert [f.name for f in fields(Fact)] == ["id", "indicator", *FACT_FIELDS]
    assert (fact.id, fact.indicator, fact.kind, fact.value) == (1, "ZF0303", "value", D(65))
