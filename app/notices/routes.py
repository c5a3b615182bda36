"""Downloading notices (for those entitled to them), the public verification page, and the
administrator's document-number settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from app.actions import run_in_transaction
from app.auth import client_address, roles_required
from app.db import db
from app.errors import OperationError
from app.notices.models import NUMBERED_KINDS, Notice
from app.notices.numbering import next_numbers, normalise_code, rules, update_rules
from app.notices.operations import notice_file
from app.ratelimits import operations as ratelimits
from app.rounds.models import Round
from app.rounds.visibility import can_see_notice

bp = Blueprint("notices", __name__)


@bp.route("/notices/<int:notice_id>.pdf")
@login_required
def download(notice_id: int) -> Any:
    notice = db.session.get(Notice, notice_id)
    round_ = db.session.get(Round, notice.round_id) if notice else None
    if notice is None or round_ is None or not can_see_notice(current_user, round_, notice.district_id):
        abort(404)
    response = send_file(
        notice_file(notice),
        mimetype="application/pdf",
        download_name=f"{notice.doc_number} {notice.title}.pdf",
        as_attachment=True,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/verify", methods=["GET", "POST"])
def verify() -> Any:
    """Public: was a document with this code issued, when, and its hash — nothing else."""
    if request.method == "GET" and "code" not in request.args:
        return render_template("notices/verify.html", outcome=None, code="")
    typed = (request.values.get("code") or "").strip()[:40]
    # Counted in the database, so the limit holds across every worker and host.
    attempt = ratelimits.take(db.session, "verify", client_address(), timedelta(minutes=1))
    if attempt.count > current_app.config["VERIFY_RATE_PER_MINUTE"]:
        return render_template("notices/verify.html", outcome="limited", code=typed), 429
    code = normalise_code(typed)
    if code is None:
        return render_template("notices/verify.html", outcome="malformed", code=typed), 400
    notice = db.session.scalar(select(Notice).where(Notice.verification_code == code))
    if notice is None:
        return render_template("notices/verify.html", outcome="unknown", code=code), 404
    return render_template("notices/verify.html", outcome="issued", code=code, notice=notice)


@bp.route("/notices/numbering", methods=["GET", "POST"])
@roles_required("admin")
def numbering() -> Any:
    """文号设置: the 代字 and format of each kind of document."""
    errors: dict[str, str] = {}
    typed = {r.kind: (r.prefix, r.pattern) for r in rules(db.session)}
    if request.method == "POST":
        typed = {
            kind: (request.form.get(f"prefix-{kind}", ""), request.form.get(f"pattern-{kind}", ""))
            for kind in NUMBERED_KINDS
        }
        try:
            changed = run_in_transaction(lambda s: update_rules(s, current_user.id, typed))
        except OperationError as exc:
            flash(exc.message, "danger")
            errors = exc.fields
        else:
            flash(
                f"已保存，{len(changed)} 种文件的文号设置有改动" if changed else "文号设置没有改动", "success"
            )
            return redirect(url_for("notices.numbering"))
    return render_template(
        "notices/numbering.html",
        kinds=NUMBERED_KINDS,
        typed=typed,
        errors=errors,
        next_numbers=next_numbers(db.session),
    ), (422 if errors else 200)
