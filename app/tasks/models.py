from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base
from app.districts.models import District
from workflows import clock

# The pool a lane's tasks fall into, and which roles draw from which pools.
LANE_POOLS = {
    "区联络员": "liaison",
    "核查员": "inspector",
    "复核人": "reviewer",
    "考核管理员": "admin",
    "领导": "leader",
}
ROLE_POOLS = {
    "liaison": ("liaison",),
    "inspector": ("inspector", "reviewer"),
    "admin": ("admin", "reviewer"),
    "leader": ("leader",),
    "ops": (),
}


class TaskRecord(Base):
    """Projection of one user task of one process instance, for inboxes and lists.

    Inboxes never deserialize workflows; the row is rewritten in the same
    transaction that runs the workflow.
    """

    __tablename__ = "task_records"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_id"),
        Index("ix_task_records_inbox", "state", "pool", "district_id", "id"),
        # City pools have no district filter: this one yields their rows already in id order.
        Index("ix_task_records_pool", "state", "pool", "id"),
        Index("ix_task_records_claimed", "state", "claimed_by", "id"),
        Index("ix_task_records_round", "round_id", "district_id"),
        Index("ix_task_records_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    task_id: Mapped[str] = mapped_column(String(36))
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), nullable=True)
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("district_assessments.id"), nullable=True)
    element: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    form_key: Mapped[str] = mapped_column(String(50))
    pool: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(12), default="ready")
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # 回避: the inspector whose adjustments are appealed may not review them.
    excluded_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    district: Mapped[District | None] = relationship(lazy="joined")

    @property
    def is_overdue(self) -> bool:
        return self.state == "ready" and self.due_at is not None and self.due_at < clock.now()
