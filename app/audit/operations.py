"""Writing audit records; every operation that changes state calls ``record``.

The records of a transaction are written together, one INSERT for all of them, when it commits
(a click records several: the form's, the service tasks', the task's completion; the unit of work
would send SQLite one INSERT per row). A statement that reads or changes the audit table writes
them first, so the transaction sees its own records as it would see flushed rows. A rollback
drops the records made in what it rolls back (a savepoint's only its own).
"""

from __future__ import annotations

import logging
from typing import Any, cast

from sqlalchemy import Table, TextClause, event, insert
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql.util import find_tables

from app.audit.models import AuditRecord
from workflows import clock

log = logging.getLogger("szcg.audit")
_PENDING = "audit.pending"  # session.info key: [(transaction recorded in, row values)]
_TABLE = AuditRecord.__tablename__


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
) -> None:
    """One audit entry; *scope* (an assessment or task record) supplies the round and district.
    Written with the transaction's other records (see the module's docstring)."""
    if scope is not None:
        round_id, district_id = scope.round_id, scope.district_id
    values = {
        "at": clock.now(),
        "actor_id": actor_id,
        "action": action,
        "object_type": obj[0],
        "object_id": str(obj[1]),
        "summary": summary,
        "before": _plain(before),
        "after": _plain(after),
        "round_id": round_id,
        "district_id": district_id,
    }
    if not session.in_transaction():
        session.connection()  # begin it now, so a rollback before any other statement drops the record
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((transaction, values))
    log.info("%s %s:%s by %s — %s", action, obj[0], obj[1], actor_id, summary)


def write_pending(session: Session) -> None:
    """Write the session's pending records now, in one INSERT (commit and audit reads call this)."""
    pending = session.info.pop(_PENDING, None)
    if pending:
        # A Core INSERT of the table (every row names the same columns): one executemany.
        session.execute(insert(cast(Table, AuditRecord.__table__)), [values for _, values in pending])


def _reads_audit(statement: Any) -> bool:
    if isinstance(statement, TextClause):
        return True  # cannot tell which tables raw SQL reads
    tables = find_tables(statement, check_columns=True, include_aliases=True, include_crud=True)
    return any(getattr(table, "name", None) == _TABLE for table in tables)


@event.listens_for(Session, "do_orm_execute")
def _before_audit_statement(state: ORMExecuteState) -> None:
    if state.session.info.get(_PENDING) and _reads_audit(state.statement):
        write_pending(state.session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write_pending(session)  # on a savepoint's release too: its records then belong to the parent


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    if not previous.nested:
        pending.clear()
        return

    def inside(transaction: SessionTransaction | None) -> bool:
        while transaction is not None:
            if transaction is previous:
                return True
            transaction = transaction.parent
        return False

    pending[:] = [(transaction, values) for transaction, values in pending if not inside(transaction)]


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the whole transaction ended: written, or rolled back
        session.info.pop(_PENDING, None)
