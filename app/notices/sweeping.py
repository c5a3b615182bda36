"""Removing notice PDFs that no notice row refers to.

``operations.issue_notice`` writes the PDF (``NOTICE_DIR/<year>/<uuid>.pdf``) before it adds
the ``notices`` row, and both belong to the job's transaction: a job that fails or is killed
after the write leaves a file that was never issued. Such files are removed once older than
any job can run, so a document whose row is about to commit is never touched.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.notices.models import Notice
from workflows import clock

# What _store in operations.py writes: <year>/<uuid4 hex>.pdf
_YEAR_DIR = re.compile(r"\d{4}")
_NOTICE_FILE = re.compile(r"[0-9a-f]{32}\.pdf")
_QUERY_CHUNK = 500
_AUDIT_NAMES = 200


def sweep_orphan_notices(session: Session, notice_dir: Path, older_than: timedelta) -> int:
    """Delete notice PDFs older than *older_than* whose relative path no Notice row holds;
    write one audit record if anything went. Returns how many went."""
    cutoff = (clock.now() - older_than).timestamp()
    candidates = list(_old_notice_files(notice_dir, cutoff))
    known: set[str] = set()
    for start in range(0, len(candidates), _QUERY_CHUNK):
        chunk = candidates[start : start + _QUERY_CHUNK]
        known.update(session.scalars(select(Notice.path).where(Notice.path.in_(chunk))))
    removed = []
    for relative in candidates:
        if relative in known:
            continue
        try:
            (notice_dir / relative).unlink()  # the file is read-only; its directory is not
        except FileNotFoundError:
            continue
        removed.append(relative)
    if removed:
        audit(
            session,
            None,
            "notice.sweep",
            ("notice_dir", "orphans"),
            f"清理未印发的通报文件 {len(removed)} 个",
            after={
                "files": sorted(removed)[:_AUDIT_NAMES],
                "older_than_minutes": older_than.total_seconds() / 60,
            },
        )
    return len(removed)


def _old_notice_files(notice_dir: Path, cutoff: float) -> list[str]:
    """Relative paths ("2026/<hex>.pdf") of plain files named like notices, modified before *cutoff*."""
    found = []
    try:
        years = [
            e
            for e in os.scandir(notice_dir)
            if e.is_dir(follow_symlinks=False) and _YEAR_DIR.fullmatch(e.name)
        ]
    except FileNotFoundError:
        return []
    for year in years:
        try:
            entries = list(os.scandir(year.path))
        except FileNotFoundError:
            continue
        for entry in entries:
            try:
                if (
                    _NOTICE_FILE.fullmatch(entry.name)
                    and entry.is_file(follow_symlinks=False)
                    and entry.stat(follow_symlinks=False).st_mtime < cutoff
                ):
                    found.append(f"{year.name}/{entry.name}")
            except FileNotFoundError:
                continue
    return found
