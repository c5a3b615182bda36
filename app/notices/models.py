from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base
from app.districts.models import District
from workflows import clock

# The kinds of document as the bureau names (and numbers) them. A letter's name depends on its
# stage (核查 / 最终), so numbering speaks of these kinds (app/notices/numbering.py: numbered_kind).
NUMBERED_KINDS: dict[str, str] = {
    "circular": "考核结果通报",
    "verified_letter": "核查结果告知书",
    "final_letter": "最终结果告知书",
    "decision": "申诉复核决定书",
    "correction": "更正通知",
    "corrected_letter": "考核结果更正告知书",
}
# ``Notice.kind`` → its name: a letter of either stage is a 考核结果告知书.
KIND_LABELS = {
    "letter": "考核结果告知书",
    **{k: v for k, v in NUMBERED_KINDS.items() if k not in ("verified_letter", "final_letter")},
}


class DocumentCounter(Base):
    """The last serial taken under a 代字 in a year (苏城管考〔2026〕N号: 代字 苏城管考, 2026, N)."""

    __tablename__ = "document_counters"

    prefix: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer, default=0)


class NumberingRule(Base):
    """The bureau's 代字 and number format for one kind of document (app/notices/numbering.py
    holds the kinds and the defaults used while a kind has no row)."""

    __tablename__ = "numbering_rules"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(20))
    pattern: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class Notice(Base):
    """An issued PDF notice. Immutable: the file is written once and its SHA-256 kept here;
    a correction is a new notice that names the one it supersedes."""

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_round", "round_id", "kind"),
        Index("ix_notices_district", "district_id", "round_id"),
        # One serial per 代字 and year. (Letters issued before numbers were per document carry
        # their circular's number and no serial of their own.)
        UniqueConstraint("prefix", "year", "serial", name="uq_notices_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), nullable=True)
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("district_assessments.id"), nullable=True)
    stage: Mapped[str] = mapped_column(String(20), default="")  # a letter's stage: verified / final
    prefix: Mapped[str | None] = mapped_column(String(20), nullable=True)  # the 代字 of its number
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int | None] = mapped_column(Integer, nullable=True)
    doc_number: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(default=clock.now)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer)
    verification_code: Mapped[str] = mapped_column(String(20), unique=True)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), nullable=True)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), nullable=True)

    district: Mapped[District | None] = relationship(lazy="joined")

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


class NoticeJob(Base):
    """One document to generate in the background (a release's 核查结果告知书, a 复核决定书, the
    notices of a publication): numbered, rendered and recorded in the job's own transaction,
    retried on failure without holding up the others; the round and district pages show progress."""

    __tablename__ = "notice_jobs"
    __table_args__ = (
        Index("ix_notice_jobs_pending", "status", "next_attempt_at"),
        Index("ix_notice_jobs_round", "round_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    kind: Mapped[str] = mapped_column(String(20))
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("district_assessments.id"), nullable=True)
    stage: Mapped[str] = mapped_column(String(20), default="")
    appeal_deadline: Mapped[str] = mapped_column(String(40), default="")  # as printed on a 核查结果告知书
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending / done / failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_error: Mapped[str] = mapped_column(String(2000), default="")
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), nullable=True)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
