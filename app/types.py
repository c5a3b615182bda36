"""Column types shared by the application's models."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import String, TypeDecorator


class Points(TypeDecorator[Decimal]):
    """Exact decimal points stored as text, so SQLite keeps them as exactly as PostgreSQL."""

    impl = String(24)
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return str(Decimal(value))

    def process_result_value(self, value: str | None, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)
