"""Removing upload files that no evidence row refers to.

Files are written while the form is parsed, before the transaction that adds their rows
commits; a task that then fails (a service task error, a stale save, a database error, a
worker killed at its timeout) leaves them behind. They are only removed once older than any
request can run, so a file whose row is still on its way is never touched.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.evidence.models import EvidenceFile
from app.evidence.storage import is_stored_name
from workflows import clock

# tempfile.mkstemp(prefix=".upload-", suffix=".part") in storage._write_new
_PART_FILE = re.compile(r"\.upload-[A-Za-z0-9_]+\.part")
_QUERY_CHUNK = 500  # names per IN (...) list, well under every database's parameter limit
_AUDIT_NAMES = 200  # names listed in the audit record; the count is always complete


def sweep_orphan_uploads(session: Session, upload_dir: Path, older_than: timedelta) -> int:
    """Delete stored files, display copies and .part leftovers older than *older_than* that no
    EvidenceFile row names; write one audit record if anything went. Returns how many went."""
    cutoff = (clock.now() - older_than).timestamp()
    stored: list[str] = []
    leftovers: list[str] = []
    for name in _old_files(upload_dir, cutoff):
        if is_stored_name(name):
            stored.append(name)
        elif _PART_FILE.fullmatch(name):
            leftovers.append(name)  # an interrupted write: never anyone's file
    known = _names_with_rows(session, stored)
    orphans = leftovers + [name for name in stored if name not in known]
    removed = [name for name in orphans if _unlink(upload_dir / name)]
    if removed:
        audit(
            session,
            None,
            "evidence.sweep",
            ("upload_dir", "orphans"),
            f"清理无主的上传文件 {len(removed)} 个",
            after={
                "files": sorted(removed)[:_AUDIT_NAMES],
                "older_than_minutes": older_than.total_seconds() / 60,
            },
        )
    return len(removed)


def _old_files(directory: Path, cutoff: float) -> Iterator[str]:
    """Names of plain files (not links, not directories) last modified before *cutoff*."""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                yield entry.name
        except FileNotFoundError:
            continue  # removed meanwhile


def _names_with_rows(session: Session, names: Iterable[str]) -> set[str]:
    names = list(names)
    known: set[str] = set()
    for start in range(0, len(names), _QUERY_CHUNK):
        chunk = names[start : start + _QUERY_CHUNK]
        rows = session.execute(
            select(EvidenceFile.stored_name, EvidenceFile.display_name).where(
                or_(EvidenceFile.stored_name.in_(chunk), EvidenceFile.display_name.in_(chunk))
            )
        )
        for stored_name, display_name in rows:
            known.update(n for n in (stored_name, display_name) if n)
    return known


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False  # another sweeper got there first
    return True
