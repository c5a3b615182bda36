"""What each stage's deadline does, and when reminders go out, as a round's configuration.

Stored per round (``rounds.deadline_settings``) so a round keeps the behaviour it was issued
with; an empty or partial value is completed from the defaults below.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from workflows.deadlines import STAGE_LABELS, STAGES

RECIPIENT_LABELS = {"liaison": "本区联络员", "holder": "任务办理人", "admin": "考核管理员", "leader": "领导"}
EMPTY_RULES = {
    "verified": "以核查数据为准（核查员须录入）",
    "zero": "按 0 分计（核查可改正）",
}
DEFAULTS: dict[str, Any] = {
    "reminder_hours": [24, 2],
    "self_report_empty": "verified",
    "escalate_verification": True,
    "notify": {
        "self_report": ["liaison", "admin"],
        "verification": ["admin"],
        "appeal": ["liaison"],
        "review": ["admin"],
    },
}


class SettingsError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def settings_of(stored: dict[str, Any] | None) -> dict[str, Any]:
    """The stored settings completed from the defaults."""
    merged = deepcopy(DEFAULTS)
    stored = stored or {}
    for key in ("reminder_hours", "self_report_empty", "escalate_verification"):
        if key in stored:
            merged[key] = stored[key]
    merged["notify"].update(stored.get("notify") or {})
    return merged


def parse_hours(text: str) -> list[float]:
    """'24, 2' → [24.0, 2.0]; refuse anything that is not 0 < h ≤ 720, at most five values."""
    parts = [p for p in text.replace("，", ",").replace(" ", ",").split(",") if p.strip()]
    try:
        hours = sorted({float(p) for p in parts}, reverse=True)
    except ValueError as exc:
        raise SettingsError("reminder_hours", "提醒时间须为小时数，用逗号分隔，例如 24,2") from exc
    if len(hours) > 5 or any(not 0 < h <= 720 for h in hours):
        raise SettingsError("reminder_hours", "提醒时间须在 0 到 720 小时之间，最多 5 个")
    return hours


def validate_settings(raw: dict[str, Any]) -> dict[str, Any]:
    """Normalise settings from a form or the API; raise SettingsError with a Chinese message."""
    settings = settings_of(raw)
    hours = settings["reminder_hours"]
    if isinstance(hours, str):
        hours = parse_hours(hours)
    elif not isinstance(hours, list) or any(
        not isinstance(h, int | float) or not 0 < h <= 720 for h in hours
    ):
        raise SettingsError("reminder_hours", "提醒时间须在 0 到 720 小时之间")
    settings["reminder_hours"] = sorted({float(h) for h in hours}, reverse=True)[:5]
    if settings["self_report_empty"] not in EMPTY_RULES:
        raise SettingsError("self_report_empty", "未填报指标的处理方式无效")
    settings["escalate_verification"] = bool(settings["escalate_verification"])
    for stage in STAGES:
        recipients = settings["notify"].get(stage) or []
        if not isinstance(recipients, list) or any(r not in RECIPIENT_LABELS for r in recipients):
            raise SettingsError(f"notify_{stage}", f"{STAGE_LABELS[stage]}截止时的通知对象无效")
        settings["notify"][stage] = sorted(set(recipients), key=list(RECIPIENT_LABELS).index)
    return settings


def describe(settings: dict[str, Any]) -> list[tuple[str, str]]:
    """Chinese lines for the round page: what each deadline does."""
    notify = settings["notify"]

    def who(stage: str) -> str:
        return "、".join(RECIPIENT_LABELS[r] for r in notify.get(stage, [])) or "不通知"

    hours = "、".join(f"{h:g} 小时" for h in settings["reminder_hours"]) or "不提醒"
    return [
        (
            "自评截止",
            f"暂存内容视为提交，标记逾期未报；未填报指标{EMPTY_RULES[settings['self_report_empty']]}；通知{who('self_report')}",
        ),
        (
            "核查截止",
            ("任务标记督办、可转派；" if settings["escalate_verification"] else "")
            + f"通知{who('verification')}",
        ),
        ("申诉期满", f"不再受理申诉，视为确认；通知{who('appeal')}"),
        ("复核截止", f"通知{who('review')}"),
        ("截止前提醒", f"截止前 {hours}提醒任务办理人"),
    ]
