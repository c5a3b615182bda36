"""The draft scheme and its exported workbook, built once per module."""

from __future__ import annotations

import pytest

from app.schemes.excel import to_workbook
from app.schemes.exchange import SchemeData
from tests.schemes.workbooks import draft_scheme


@pytest.fixture(scope="module")
def draft() -> SchemeData:
    return draft_scheme()


@pytest.fixture(scope="module")
def exported(draft: SchemeData) -> bytes:
    return to_workbook(draft)
