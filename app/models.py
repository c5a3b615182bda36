"""Imports every model so the metadata (and Alembic) sees all tables."""

from app.accounts.models import ApiToken, SignIn, SignInFailure, User
from app.appeals.models import Appeal
from app.audit.models import AuditRecord
from app.calendar.models import CalendarDay
from app.db import Base
from app.deadlines.models import Reminder
from app.districts.models import District
from app.evidence.models import EvidenceFile
from app.notices.models import DocumentCounter, Notice, NoticeJob, NumberingRule
from app.notifications.models import Notification, OutboundMessage
from app.ratelimits.models import RateLimit
from app.rectification.models import Rectification
from app.rounds.models import DistrictAssessment, Round, RoundResult
from app.schemes.models import Indicator, Scheme
from app.scoring.models import Fact, IndicatorRevision
from app.tasks.models import TaskRecord
from workflows.store import (
    ProcessDefinitionRecord,
    ProcessIncident,
    ProcessInstance,
    SchedulerJob,
    SchedulerLease,
    SchedulerRun,
    TimerChange,
)

__all__ = [
    "ApiToken",
    "Appeal",
    "AuditRecord",
    "Base",
    "CalendarDay",
    "District",
    "DistrictAssessment",
    "DocumentCounter",
    "EvidenceFile",
    "Fact",
    "Indicator",
    "IndicatorRevision",
    "Notice",
    "NoticeJob",
    "Notification",
    "NumberingRule",
    "OutboundMessage",
    "ProcessDefinitionRecord",
    "ProcessIncident",
    "ProcessInstance",
    "RateLimit",
    "Rectification",
    "Reminder",
    "Round",
    "RoundResult",
    "SchedulerJob",
    "SchedulerLease",
    "SchedulerRun",
    "Scheme",
    "SignIn",
    "SignInFailure",
    "TaskRecord",
    "TimerChange",
    "User",
]
