"""考核细则管理: scheme versions, their indicator tree, and the administrator's editor for drafts."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from io import BytesIO
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import CITY_ROLES
from app.actions import perform
from app.auth import roles_required
from app.db import db
from app.errors import OperationError
from app.forms import choice_list
from app.inputs import parse_id
from app.schemes import editing
from app.schemes import operations as ops
from app.schemes.describe import tree_view
from app.schemes.excel import to_workbook
from app.schemes.exchange import (
    FREQUENCY_LABELS,
    KIND_LABELS,
    SchemeDataError,
    fmt_points,
    to_json,
)
from app.schemes.forms import (
    FINDER_CHOICES,
    NO_DATA,
    RATE_MODES,
    RULE_METHODS,
    VETO_OUTCOMES,
    CloneForm,
    ImportForm,
    IndicatorForm,
    RulesInputError,
    ScoringSettingsForm,
    convert_imported_bands,
    entered_rules,
    read_upload,
    state_from_form,
    state_from_rules,
    with_blank_rows,
)
from app.schemes.models import Indicator, Scheme
from app.schemes.scoring_settings import ROUNDING_LABELS, format_bands, update_scoring_settings
from app.scoring.annual import AGGREGATION_RULES
from app.scoring.bands import BandEntry

bp = Blueprint("schemes", __name__, url_prefix="/schemes")
CITY = tuple(sorted(CITY_ROLES))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _scheme_or_404(scheme_id: int) -> Scheme:
    scheme = db.session.get(Scheme, scheme_id)
    if scheme is None:
        abort(404)
    return scheme


def _indicator_or_404(scheme: Scheme, indicator_id: int) -> Indicator:
    try:
        return editing.indicator_of(scheme, indicator_id)
    except OperationError:
        abort(404)


def _show(scheme: Scheme, indicator: Indicator | None = None) -> Any:
    anchor = f"i{indicator.id}" if indicator is not None and indicator.id else None
    return redirect(url_for("schemes.show", scheme_id=scheme.id, _anchor=anchor))


@bp.route("")
@roles_required(*CITY)
def index(import_form: ImportForm | None = None, import_errors: list[str] | None = None) -> Any:
    schemes = db.session.scalars(select(Scheme).order_by(Scheme.year.desc(), Scheme.id.desc())).all()
    return render_template(
        "schemes/index.html",
        schemes=schemes,
        status_labels=ops.STATUS_LABELS,
        import_form=import_form or ImportForm(),
        import_errors=import_errors or [],
    )


@bp.route("/import", methods=["POST"])
@roles_required("admin")
def import_scheme() -> Any:
    form = ImportForm()
    if not form.validate_on_submit():
        return index(form, [e for errors in form.errors.values() for e in errors]), 422
    upload = form.file.data
    try:
        data = read_upload(upload.filename or "", upload.read())
        notes, warnings = convert_imported_bands(data)
        with db.transaction() as session:
            scheme = ops.create_scheme(session, current_user.id, data, status="draft")
    except (SchemeDataError, ops.SchemeError) as exc:
        flash(f"导入失败，未导入任何内容：共 {len(exc.errors)} 处错误，见下方列表", "danger")
        return index(form, exc.errors), 422
    flash(f"已导入 {scheme.year} {scheme.label}（{len(scheme.indicators)} 项指标），为草稿状态", "success")
    _flash_bands(notes, warnings)
    return _show(scheme)


def _flash_bands(notes: Iterable[str], warnings: Iterable[str]) -> None:
    """What the administrator is told about entered bands: conversions made, gaps left."""
    for note in notes:
        flash(note, "info")
    for warning in warnings:
        flash(warning, "warning")


@bp.route("/<int:scheme_id>")
@roles_required(*CITY)
def show(scheme_id: int) -> Any:
    scheme = _scheme_or_404(scheme_id)
    rows = tree_view(scheme)
    top = sum(
        (r.indicator.max_points for r in rows if r.level == 1 and r.indicator.kind == "scored"), Decimal(0)
    )
    return render_template(
        "schemes/show.html",
        scheme=scheme,
        rows=rows,
        top_total=top,
        problems=ops.scheme_problems(ops.scheme_data(scheme)),
        editable=scheme.status == "draft" and not scheme.is_locked,
        status_labels=ops.STATUS_LABELS,
        kind_labels=KIND_LABELS,
        frequency_labels=FREQUENCY_LABELS,
        settings_form=settings_form(scheme),
        grade_bands=format_bands(scheme),
        annual_rule=AGGREGATION_RULES.get(scheme.annual_rule, scheme.annual_rule),
        rounding_label=ROUNDING_LABELS.get(scheme.rounding_mode, scheme.rounding_mode),
    )


@bp.route("/<int:scheme_id>/export.<any(xlsx, json):fmt>")
@roles_required(*CITY)
def export(scheme_id: int, fmt: str) -> Any:
    scheme = _scheme_or_404(scheme_id)
    data = ops.scheme_data(scheme)
    name = re.sub(r'[\\/:*?"<>|\s]+', "_", f"考核细则_{scheme.year}_{scheme.label}")
    if fmt == "json":
        content = json.dumps(to_json(data), ensure_ascii=False, indent=2).encode("utf-8")
        mimetype = "application/json"
    else:
        try:
            content = to_workbook(data)
        except SchemeDataError as exc:
            flash("不能导出：" + "；".join(exc.errors), "danger")
            return _show(scheme)
        mimetype = XLSX
    return send_file(BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=f"{name}.{fmt}")


def settings_form(scheme: Scheme) -> ScoringSettingsForm:
    form = ScoringSettingsForm()
    form.tie_break.choices = choice_list(
        [("", "不设置（并列）")] + [(i.code, f"{i.name}得分高者在前") for i in scheme.first_level]
    )
    form.annual_rule.choices = choice_list(AGGREGATION_RULES.items())
    form.rounding_mode.choices = choice_list(ROUNDING_LABELS.items())
    if not form.is_submitted():
        form.rounding_places.data = str(scheme.rounding_places)
        form.rounding_mode.data = scheme.rounding_mode
        form.grade_bands.data = format_bands(scheme)
        form.tie_break.data = scheme.tie_break or ""
        form.annual_rule.data = scheme.annual_rule
        form.vetoed_rank_last.data = scheme.vetoed_rank_last
    return form


@bp.route("/<int:scheme_id>/settings", methods=["POST"])
@roles_required("admin")
def settings(scheme_id: int) -> Any:
    scheme = _scheme_or_404(scheme_id)
    form = settings_form(scheme)
    if form.validate_on_submit():
        perform(
            lambda s: update_scoring_settings(
                s,
                current_user.id,
                scheme,  # db.transaction() runs in the request's session, which loaded it
                int(form.rounding_places.data or 2),
                form.rounding_mode.data or "",
                form.grade_bands.data or "",
                form.tie_break.data or "",
                form.annual_rule.data or "",
                bool(form.vetoed_rank_last.data),
            ),
            "计分设置已保存",
        )
    else:
        flash("计分设置有误，请检查", "danger")
    return _show(scheme)


@bp.route("/<int:scheme_id>/clone", methods=["POST"])
@roles_required("admin")
def clone(scheme_id: int) -> Any:
    source = _scheme_or_404(scheme_id)
    form = CloneForm()
    if not form.validate_on_submit():
        flash("复制失败：" + "；".join(e for errors in form.errors.values() for e in errors), "danger")
        return _show(source)
    year = form.year.data
    assert year is not None  # InputRequired refuses an empty year
    try:
        with db.transaction() as session:
            copy = ops.clone_scheme(
                session, current_user.id, source, year, form.label.data or "", form.name.data or ""
            )
    except OperationError as exc:
        flash("复制失败：" + exc.message, "danger")
        return _show(source)
    flash(f"已复制为 {copy.year} {copy.label}（草稿），可以修改", "success")
    return _show(copy)


@bp.route("/<int:scheme_id>/activate", methods=["POST"])
@roles_required("admin")
def activate(scheme_id: int) -> Any:
    scheme = _scheme_or_404(scheme_id)
    try:
        with db.transaction() as session:
            ops.activate_scheme(session, current_user.id, scheme)
    except ops.SchemeError as exc:
        flash(f"不能启用：考核细则还有 {len(exc.errors)} 个问题，请按页面上方的列表修改", "danger")
    except OperationError as exc:
        flash(f"不能启用：{exc.message}", "danger")
    else:
        flash(f"已启用 {scheme.label}，下发考核时可以选用", "success")
    return _show(scheme)


def _parent_choices(scheme: Scheme, indicator: Indicator) -> list[tuple[str, str]]:
    """Where an indicator may move: the top level or a scored group of level 1–2 outside its subtree."""
    rows, below = tree_view(scheme), {indicator.id}
    for row in rows:  # tree order: a parent comes before its children
        if row.indicator.parent_id in below:
            below.add(row.indicator.id)
    return [("", "（一级指标）")] + [
        (str(r.indicator.id), f"{'　' * (r.level - 1)}{r.indicator.code} {r.indicator.name}")
        for r in rows
        if r.indicator.id not in below and r.level < 3 and r.indicator.kind == "scored"
    ]


def _indicator_page(
    scheme: Scheme,
    form: IndicatorForm,
    state: dict[str, Any],
    save: Callable[[Session, dict[str, Any]], Indicator],
    indicator: Indicator | None,
    parent: Indicator | None,
) -> Any:
    group = indicator is not None and any(i.parent_id == indicator.id for i in scheme.indicators)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        state, status = state_from_form(request.form), 422
    if form.validate_on_submit():
        try:
            stored = indicator.rules if indicator is not None else None
            entry = BandEntry(None) if group else entered_rules(state, form.code.data or "", stored)
            with db.transaction() as session:
                saved = save(session, form.values(entry.rules))
        except RulesInputError as exc:
            errors["rules"] = str(exc)
            flash("请检查表单中标红的项目", "danger")
        except OperationError as exc:
            errors = dict(exc.fields)
            flash(exc.message, "danger")
        else:
            flash(f"指标 {saved.code} 已保存", "success")
            _flash_bands(entry.notes, entry.warnings)
            return _show(scheme, saved)
    elif request.method == "POST":
        flash("请检查表单中标红的项目", "danger")
    veto_targets = [(i.code, f"{i.code} {i.name}") for i in scheme.first_level]
    return render_template(
        "schemes/indicator.html",
        scheme=scheme,
        form=form,
        indicator=indicator,
        parent=parent,
        group=group,
        state=with_blank_rows(state),
        errors=errors,
        move_choices=_parent_choices(scheme, indicator) if indicator is not None else [],
        methods=RULE_METHODS,
        finders=FINDER_CHOICES,
        rate_modes=RATE_MODES,
        no_data=NO_DATA,
        veto_outcomes=VETO_OUTCOMES,
        veto_targets=veto_targets,
    ), status


def _ensure_draft_or_redirect(scheme: Scheme) -> Any:
    try:
        editing.ensure_draft(scheme)
    except OperationError as exc:
        flash(exc.message, "warning")
        return _show(scheme)
    return None


@bp.route("/<int:scheme_id>/indicators/new", methods=["GET", "POST"])
@roles_required("admin")
def new_indicator(scheme_id: int) -> Any:
    scheme = _scheme_or_404(scheme_id)
    parent_id = parse_id(request.args.get("parent"))
    parent = _indicator_or_404(scheme, parent_id) if parent_id is not None else None
    refused = _ensure_draft_or_redirect(scheme)
    if refused is not None:
        return refused
    form = IndicatorForm()
    if request.method == "GET":
        form.assessed_in_system.data = True
        if parent is not None:
            form.department.data, form.source.data = parent.department, parent.source
            form.frequency.data = parent.frequency

    def save(session: Session, values: dict[str, Any]) -> Indicator:
        return editing.add_indicator(session, current_user.id, scheme, parent_id, values)

    return _indicator_page(scheme, form, state_from_rules(None), save, None, parent)


@bp.route("/<int:scheme_id>/indicators/<int:indicator_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def edit_indicator(scheme_id: int, indicator_id: int) -> Any:
    scheme = _scheme_or_404(scheme_id)
    indicator = _indicator_or_404(scheme, indicator_id)
    refused = _ensure_draft_or_redirect(scheme)
    if refused is not None:
        return refused
    form = IndicatorForm(obj=indicator)
    if request.method == "GET":
        form.max_points.data = fmt_points(indicator.max_points)
        form.rule_method.data = state_from_rules(indicator.rules)["method"]
    parent = next((i for i in scheme.indicators if i.id == indicator.parent_id), None)

    def save(session: Session, values: dict[str, Any]) -> Indicator:
        return editing.update_indicator(session, current_user.id, indicator, values)

    return _indicator_page(scheme, form, state_from_rules(indicator.rules), save, indicator, parent)


@bp.route("/<int:scheme_id>/indicators/<int:indicator_id>/shift", methods=["POST"])
@roles_required("admin")
def shift_indicator(scheme_id: int, indicator_id: int) -> Any:
    scheme = _scheme_or_404(scheme_id)
    indicator = _indicator_or_404(scheme, indicator_id)
    step = -1 if request.form.get("direction") == "up" else 1
    word = "上移" if step < 0 else "下移"
    perform(
        lambda s: editing.shift_indicator(s, current_user.id, indicator, step),
        f"指标 {indicator.code} 已{word}",
    )
    return _show(scheme, indicator)


@bp.route("/<int:scheme_id>/indicators/<int:indicator_id>/move", methods=["POST"])
@roles_required("admin")
def move_indicator(scheme_id: int, indicator_id: int) -> Any:
    scheme = _scheme_or_404(scheme_id)
    indicator = _indicator_or_404(scheme, indicator_id)
    raw = request.form.get("parent_id", "")
    parent_id = parse_id(raw)
    if raw and parent_id is None:
        flash("请选择上级指标", "danger")
        return _show(scheme, indicator)
    code = indicator.code
    perform(lambda s: editing.move_indicator(s, current_user.id, indicator, parent_id), f"指标 {code} 已移动")
    return _show(scheme, indicator)


@bp.route("/<int:scheme_id>/indicators/<int:indicator_id>/delete", methods=["POST"])
@roles_required("admin")
def delete_indicator(scheme_id: int, indicator_id: int) -> Any:
    scheme = _scheme_or_404(scheme_id)
    indicator = _indicator_or_404(scheme, indicator_id)
    code = indicator.code
    if perform(lambda s: editing.delete_indicator(s, current_user.id, indicator), f"指标 {code} 已删除"):
        return _show(scheme)
    return _show(scheme, indicator)
