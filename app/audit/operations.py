"""Writing audit records; every operation that changes state calls ``record``."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from app.audit.models import AuditRecord

log = logging.getLogger("szcg.audit")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def record(
    session: Session,
    actor_id: int | None,
    action: str,
    obj: tuple[str, Any],
    summary: str,
    before: Any = None,
    after: Any = None,
    round_id: int | None = None,
    district_id: int | None = None,
    scope: Any = None,
) -> AuditRecord:
    """One audit entry; *scope* (an assessment or task record) supplies the round and district."""
    if scope is not None:
        round_id, district_id = scope.round_id, scope.district_id
    entry = AuditRecord(
        actor_id=actor_id,
        action=action,
        object_type=obj[0],
        object_id=str(obj[1]),
        summary=summary,
        before=_plain(before),
        after=_plain(after),
        round_id=round_id,
        district_id=district_id,
    )
    session.add(entry)
    log.info("%s %s:%s by %s — %s", action, obj[0], obj[1], actor_id, summary)
    return entry
