"""Running one operation from a page or an API call: atomically, with its outcome reported."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.db import db
from app.errors import Conflict, OperationError


def run_in_transaction(action: Callable[[Session], Any]) -> Any:
    """Run one operation atomically; a concurrent save of the same instance is reported, not raised."""
    try:
        with db.transaction() as session:
            return action(session)
    except StaleDataError as exc:
        raise Conflict("该任务刚刚已被他人处理，请刷新页面查看") from exc


def perform(action: Callable[[Session], Any], success: str) -> bool:
    """Run one operation and flash its outcome (the refusal's Chinese message, or *success*)."""
    try:
        run_in_transaction(action)
    except OperationError as exc:
        flash(exc.message, "danger")
        return False
    flash(success, "success")
    return True
