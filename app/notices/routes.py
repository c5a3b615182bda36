"""Downloading notices (for those entitled to them) and the public verification page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from app.actions import perform, run_in_transaction
from app.auth import client_address, roles_required
from app.db import db
from app.errors import OperationError
from app.notices.corrections import correct_result
from app.notices.jobs import progress_of, retry_failed
from app.notices.models import Notice
from app.notices.numbering import normalise_code
from app.notices.operations import notice_file
from app.ratelimits import operations as ratelimits
from app.rounds.models import DistrictAssessment, Round
from app.rounds.operations import scores_of
from app.rounds.visibility import can_see_notice
from app.scoring.fact_forms import occurrence_rows, parse_indicator, prefill
from app.scoring.scores import indicator_rules

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


@bp.route("/rounds/<int:round_id>/notices/progress")
@roles_required("admin", "inspector", "leader", "ops")
def progress(round_id: int) -> Any:
    """How far the background generation of a round's notices is (the overview polls it)."""
    found = progress_of(db.session, round_id)
    if found is None:
        return jsonify({"total": 0, "done": 0, "failed": 0, "pending": 0, "percent": 100})
    return jsonify(
        {
            "total": found.total,
            "done": found.done,
            "failed": found.failed,
            "pending": found.pending,
            "percent": found.percent,
        }
    )


@bp.route("/rounds/<int:round_id>/notices/retry", methods=["POST"])
@roles_required("admin")
def retry(round_id: int) -> Any:
    perform(lambda s: retry_failed(s, current_user.id, round_id), "失败的文件已重新排队生成")
    return redirect(url_for("rounds.overview", round_id=round_id))


@bp.route("/rounds/<int:round_id>/districts/<int:district_id>/correct", methods=["GET", "POST"])
@roles_required("admin")
def correct(round_id: int, district_id: int) -> Any:
    """更正: pick an indicator, restate its facts with a reason; a public 更正通知 and the district's
    更正告知书 are issued."""
    round_ = db.session.get(Round, round_id)
    assessment = db.session.scalar(
        select(DistrictAssessment).where(
            DistrictAssessment.round_id == round_id, DistrictAssessment.district_id == district_id
        )
    )
    if round_ is None or assessment is None:
        abort(404)
    scores = scores_of(db.session, round_, assessment)
    parents = {i.parent_id for i in round_.scheme.indicators}
    leaves = [
        i for i in round_.scheme.indicators if i.id not in parents and i.code not in scores.not_assessed
    ]
    raw = request.values.get("indicator_id", "")
    indicator = next((i for i in leaves if str(i.id) == raw), None)
    errors: dict[str, str] = {}
    if indicator is not None and request.method == "POST":
        rules = indicator_rules(indicator)
        parsed = parse_indicator(rules, f"{indicator.code} {indicator.name}", request.form)
        errors = dict(parsed.errors)
        if not errors:
            reason = request.form.get("reason", "")
            try:
                notice = run_in_transaction(
                    lambda s: correct_result(
                        s, current_user, round_id, district_id, indicator.id, parsed.facts, reason
                    )
                )
            except OperationError as exc:
                flash(exc.message, "danger")
                errors = exc.fields
            else:
                flash(f"已更正，印发更正通知 {notice.doc_number}，并向该区印发考核结果更正告知书", "success")
                return redirect(url_for("rounds.results", round_id=round_id))
    current = scores.facts_at("final", indicator.id) if indicator else []
    return render_template(
        "notices/correct.html",
        round=round_,
        assessment=assessment,
        leaves=leaves,
        indicator=indicator,
        rules=indicator_rules(indicator) if indicator else None,
        leaf=scores.leaf("final", indicator.code) if indicator else None,
        prefilled=prefill(indicator_rules(indicator), current) if indicator else {},
        rows=max(occurrence_rows(current), 3),
        posted=request.form if request.method == "POST" else {},
        errors=errors,
    ), (422 if errors else 200)


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
