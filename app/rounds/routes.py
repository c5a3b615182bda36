from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app.actions import perform, run_in_transaction
from app.auth import roles_required
from app.db import db
from app.deadlines.settings import describe as describe_settings
from app.deadlines.settings import settings_of
from app.districts.models import District
from app.errors import OperationError
from app.evidence.operations import evidence_of
from app.forms import choice_list
from app.main.error_pages import error_page
from app.notices.corrections import correct_result
from app.notices.jobs import documents_in_progress, progress_of, retry_failed
from app.notices.models import Notice
from app.notices.operations import notices_of
from app.processes import store
from app.rectification.operations import open_before, rectification_run_by, rectifications_of
from app.rounds import visibility
from app.rounds.cancelling import cancel_round
from app.rounds.export import as_csv, as_xlsx, export_of
from app.rounds.forms import RoundForm, deadline_rules, deadline_settings
from app.rounds.issuing import issue_round
from app.rounds.models import DistrictAssessment, Round
from app.rounds.operations import annual_rows, assessments_of, results_of, scores_of
from app.schemes.models import Scheme
from app.scoring.fact_forms import occurrence_rows, parse_indicator, prefill
from app.scoring.scores import indicator_rules
from app.tasks.models import TaskRecord
from workflows.store import ProcessDefinitionRecord, ProcessInstance

bp = Blueprint("rounds", __name__, url_prefix="/rounds")


def _round_or_404(round_id: int) -> Round:
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        abort(404)
    return round_


@bp.route("")
@login_required
def index() -> Any:
    rounds = db.session.scalars(select(Round).order_by(Round.id.desc())).all()
    return render_template("rounds/index.html", rounds=rounds)


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def new() -> Any:
    form = RoundForm()
    schemes = db.session.scalars(select(Scheme).where(Scheme.status == "active")).all()
    districts = db.session.scalars(select(District).order_by(District.sort_order)).all()
    form.scheme_id.choices = choice_list((s.id, f"{s.label} {s.name}") for s in schemes)
    form.district_ids.choices = choice_list((d.id, d.name) for d in districts)
    if request.method == "GET":
        form.district_ids.data = [d.id for d in districts]
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            round_ = run_in_transaction(
                lambda s: issue_round(
                    s,
                    current_user,
                    form.title.data or "",
                    form.period.data or "",
                    form.scheme_id.data,
                    form.district_ids.data or [],
                    deadline_rules(form),
                    deadline_settings(form),
                )
            )
        except OperationError as exc:
            flash(exc.message, "danger")
            errors = exc.fields
        else:
            flash(f"已下发 {round_.title}", "success")
            return redirect(url_for("rounds.overview", round_id=round_.id))
    elif request.method == "POST":
        flash("请检查表单中标红的项目", "danger")
    return render_template("rounds/new.html", form=form, errors=errors)


@bp.route("/<int:round_id>")
@login_required
def overview(round_id: int) -> Any:
    round_ = _round_or_404(round_id)
    if not current_user.is_city_staff:
        return redirect(url_for("rounds.district", round_id=round_id, district_id=current_user.district_id))
    assessments = assessments_of(db.session, round_id)
    open_tasks = db.session.scalars(
        select(TaskRecord).where(TaskRecord.round_id == round_id, TaskRecord.state == "ready")
    ).all()
    tasks_by_district: dict[int | None, list[TaskRecord]] = {}
    for task in open_tasks:
        tasks_by_district.setdefault(task.district_id, []).append(task)
    process_version = db.session.get(ProcessDefinitionRecord, round_.district_definition_id)
    return render_template(
        "rounds/overview.html",
        process_version=process_version.version if process_version else "",
        round=round_,
        assessments=assessments,
        tasks_by_district=tasks_by_district,
        show_results=visibility.can_see_results(current_user, round_),
        deadline_lines=describe_settings(settings_of(round_.deadline_settings)),
        notices=_visible_notices(round_),
        notice_progress=progress_of(db.session, round_.id),
        earlier_rectifications=open_before(db.session, round_),
    )


@bp.route("/<int:round_id>/instances/<int:instance_id>/diagram")
@login_required
def diagram(round_id: int, instance_id: int) -> Any:
    """The instance's BPMN XML and the steps to highlight, for the bpmn-js viewer: the round's own
    process, a district's assessment, or a district's rectification ordered by this round."""
    round_ = _round_or_404(round_id)
    instance = db.session.get(ProcessInstance, instance_id)
    assessment = db.session.scalar(
        select(DistrictAssessment).where(DistrictAssessment.instance_id == instance_id)
    )
    rectification = rectification_run_by(db.session, instance_id) if assessment is None else None
    if rectification is not None and rectification.round_id == round_id:
        assessment = db.session.get(DistrictAssessment, rectification.assessment_id)
    belongs = instance is not None and (
        instance.id == round_.round_instance_id
        or (assessment is not None and assessment.round_id == round_id)
    )
    if instance is None or not belongs or not visibility.can_see_progress(current_user, assessment):
        abort(404)
    definition = store().definition_for(db.session, instance.definition_id)
    tasks = db.session.scalars(select(TaskRecord).where(TaskRecord.instance_id == instance_id)).all()
    return jsonify(
        {
            "xml": definition.xml.decode("utf-8"),
            "active": sorted({t.element for t in tasks if t.state == "ready"}),
            "completed": sorted({t.element for t in tasks if t.state == "completed"}),
            "cancelled": sorted({t.element for t in tasks if t.state == "cancelled"}),
            "version": definition.version,
        }
    )


@bp.route("/<int:round_id>/results")
@login_required
def results(round_id: int) -> Any:
    round_ = _round_or_404(round_id)
    if not visibility.can_see_results(current_user, round_):
        return error_page(403, "本轮考核结果经领导审定并发布后才能查看", "结果尚未发布")
    return render_template("rounds/results.html", round=round_, results=results_of(db.session, round_id))


@bp.route("/annual/<int:year>")
@login_required
def annual(year: int) -> Any:
    """The year's result of each district from its published rounds (综合考核 input)."""
    rounds = db.session.scalars(
        select(Round)
        .where(Round.status == "published", Round.period.startswith(f"{year}-"))
        .order_by(Round.period, Round.id)
    ).all()
    rows, rule = annual_rows(db.session, rounds)
    return render_template("rounds/annual.html", year=year, rounds=rounds, rows=rows, rule=rule)


def _visible_assessment(round_id: int, district_id: int) -> DistrictAssessment:
    assessment = db.session.scalar(
        select(DistrictAssessment).where(
            DistrictAssessment.round_id == round_id, DistrictAssessment.district_id == district_id
        )
    )
    if assessment is None or not visibility.can_see_detail(current_user, assessment):
        abort(404)
    return assessment


@bp.route("/<int:round_id>/districts/<int:district_id>")
@login_required
def district(round_id: int, district_id: int) -> Any:
    round_ = _round_or_404(round_id)
    assessment = _visible_assessment(round_id, district_id)
    scores = scores_of(db.session, round_, assessment)
    leaves = [i for i in round_.scheme.indicators if i.code in scores.stages["self"].leaves]
    return render_template(
        "rounds/district.html",
        round=round_,
        assessment=assessment,
        scores=scores,
        scheme=round_.scheme,
        stages=visibility.visible_score_stages(current_user, round_, assessment),
        evidence=evidence_of(db.session, assessment.id),
        indicators={i.code: i for i in leaves},
        rules={i.code: indicator_rules(i) for i in leaves},
        notices=_visible_notices(round_, district_id),
        in_progress=documents_in_progress(db.session, assessment.id),
        rectifications=rectifications_of(db.session, district_id, round_id),
    )


@bp.route("/<int:round_id>/districts/<int:district_id>/notices/progress")
@login_required
def district_notice_progress(round_id: int, district_id: int) -> Any:
    """How many of the district's documents are still being generated (its page polls this)."""
    _round_or_404(round_id)
    assessment = _visible_assessment(round_id, district_id)
    waiting = documents_in_progress(db.session, assessment.id)
    return jsonify({"pending": sum(not d.failed for d in waiting), "failed": sum(d.failed for d in waiting)})


def _visible_notices(round_: Round, district_id: int | None = None) -> list[Notice]:
    return [
        n
        for n in notices_of(db.session, round_.id, district_id)
        if visibility.can_see_notice(current_user, round_, n.district_id)
    ]


@bp.route("/<int:round_id>/export.<fmt>")
@roles_required("admin", "leader")
def export(round_id: int, fmt: str) -> Any:
    """综合考核 export of a published round as CSV or Excel."""
    round_ = _round_or_404(round_id)
    if fmt not in ("csv", "xlsx"):
        abort(404)
    try:
        data = export_of(db.session, round_)
    except OperationError as exc:
        return error_page(409, exc.message)
    body, mimetype = (
        (as_csv(data), "text/csv; charset=utf-8")
        if fmt == "csv"
        else (as_xlsx(data), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )
    return send_file(
        io.BytesIO(body),
        mimetype=mimetype,
        as_attachment=True,
        download_name=f"{round_.title}-综合考核.{fmt}",
    )


@bp.route("/<int:round_id>/cancel", methods=["POST"])
@roles_required("admin")
def cancel(round_id: int) -> Any:
    reason = request.form.get("reason", "")
    perform(lambda s: cancel_round(s, current_user, round_id, reason), "本轮考核已撤销")
    return redirect(url_for("rounds.overview", round_id=round_id))


# Publication's documents and corrections, as pages of the round they belong to.


@bp.route("/<int:round_id>/notices/progress")
@roles_required("admin", "inspector", "leader", "ops")
def notice_progress(round_id: int) -> Any:
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


@bp.route("/<int:round_id>/notices/retry", methods=["POST"])
@roles_required("admin")
def retry_notices(round_id: int) -> Any:
    perform(lambda s: retry_failed(s, current_user.id, round_id), "失败的文件已重新排队生成")
    return redirect(url_for("rounds.overview", round_id=round_id))


@bp.route("/<int:round_id>/districts/<int:district_id>/correct", methods=["GET", "POST"])
@roles_required("admin")
def correct(round_id: int, district_id: int) -> Any:
    """更正: pick an indicator, restate its facts with a reason; a public 更正通知 and the district's
    更正告知书 are issued."""
    round_ = _round_or_404(round_id)
    assessment = _visible_assessment(round_id, district_id)
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
