from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app.db import db
from app.notifications.models import Notification
from app.notifications.operations import mark_read

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.route("")
@login_required
def index() -> Any:
    items = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.id.desc())
        .limit(100)
    ).all()
    return render_template("notifications/index.html", items=items)


@bp.route("/<int:notification_id>/read", methods=["POST"])
@login_required
def read(notification_id: int) -> Any:
    with db.transaction() as session:
        mark_read(session, current_user.id, notification_id)
    item = db.session.get(Notification, notification_id)
    target = (
        item.link
        if item is not None and item.user_id == current_user.id and item.link.startswith("/")
        else ""
    )
    return redirect(target or url_for("notifications.index"))


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all() -> Any:
    with db.transaction() as session:
        mark_read(session, current_user.id)
    return redirect(url_for("notifications.index"))
