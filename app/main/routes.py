from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from app.db import db

bp = Blueprint("main", __name__)

# Pages that moved so that a URL's first segment names the package serving it; bookmarks of the
# old addresses still arrive (GET only: forms post to the new ones).
MOVED = {
    "/admin/users": "accounts.users",
    "/admin/calendar": "calendar.index",
    "/admin/jobs": "deadlines.index",
}


@bp.route("/")
@login_required
def home() -> Any:
    """Leaders and administrators start from the rounds, everyone else from their inbox."""
    if current_user.role in ("admin", "leader"):
        return redirect(url_for("rounds.index"))
    return redirect(url_for("tasks.inbox"))


@bp.route("/healthz")
def healthz() -> Any:
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"})


def _moved(endpoint: str) -> Any:
    def view() -> Any:
        return redirect(url_for(endpoint), code=301)

    return view


for old, new in MOVED.items():
    bp.add_url_rule(old, f"moved_{new.replace('.', '_')}", _moved(new))
