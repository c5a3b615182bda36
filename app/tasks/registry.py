"""The form of each ``formKey`` that the diagrams name."""

from __future__ import annotations

from app.appeals.task_forms import AppealReviewForm, ConfirmationForm
from app.errors import NotFound
from app.rectification.task_forms import RectificationReportForm, RectificationReviewForm
from app.rounds.task_forms import ApprovalForm, FinaliseForm
from app.scoring.task_forms import SelfReportForm, VerificationForm
from app.tasks.context import TaskForm

FORMS: dict[str, TaskForm] = {
    form.form_key: form
    for form in (
        SelfReportForm(),
        VerificationForm(),
        ConfirmationForm(),
        AppealReviewForm(),
        FinaliseForm(),
        ApprovalForm(),
        RectificationReportForm(),
        RectificationReviewForm(),
    )
}


def form_for(form_key: str) -> TaskForm:
    form = FORMS.get(form_key)
    if form is None:
        raise NotFound(f"表单 {form_key} 未定义")
    return form
