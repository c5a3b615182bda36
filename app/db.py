"""The database engine and the request-scoped session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from workflows.store import Base

__all__ = ["Base", "db"]


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


class Database:
    """Holds the engine and a scoped session, bound by the application factory."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.Session = scoped_session(sessionmaker(expire_on_commit=False))

    def bind(self, url: str) -> None:
        if self.engine is not None:
            self.Session.remove()
            self.engine.dispose()
        self.engine = make_engine(url)
        self.Session.configure(bind=self.engine)

    @property
    def session(self) -> Session:
        return self.Session()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commit on success, roll back on any error: every state change is all or nothing."""
        session = self.session
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


db = Database()
