"""What every page's template can use: date and points filters, the scoring vocabulary, and the
inbox and notification badges of the signed-in user."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import Flask
from flask_login import current_user

from app.db import db
from app.notifications.operations import unread_count
from app.schemes.describe import describe_rules
from app.scoring.fact_forms import describe_fact
from app.scoring.rules import FINDER_LABELS
from app.scoring.scores import SCORE_STAGE_LABELS
from app.tasks.queries import inbox_count
from workflows import clock


def _local(dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    value = clock.local(dt)
    return value.strftime(fmt) if value else ""


def _points(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{value:.2f}"


def init_app(app: Flask) -> None:
    app.jinja_env.filters["local"] = _local
    app.jinja_env.filters["points"] = _points
    app.jinja_env.filters["deadline"] = clock.deadline_text
    app.jinja_env.globals["describe_fact"] = describe_fact
    app.jinja_env.globals["describe_rules"] = describe_rules
    app.jinja_env.globals["score_stage_labels"] = SCORE_STAGE_LABELS
    app.jinja_env.globals["finder_labels"] = FINDER_LABELS

    @app.context_processor
    def _badges() -> dict[str, Any]:
        count = unread = ""
        if current_user.is_authenticated:
            count = inbox_count(db.session, current_user)
            unread = unread_count(db.session, current_user.id)
        return {"inbox_count": count, "unread_count": unread, "now": clock.now()}
