"""Document numbers (苏城管考〔YYYY〕N号, a sequence per year) and verification codes."""

from __future__ import annotations

import secrets

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.notices.models import DocumentSequence, Notice

PREFIX = "苏城管考"
# Crockford's base32 without I, L, O, U: nothing to misread when typed from paper.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_GROUPS = 3


def doc_number(year: int, serial: int, district: str | None = None) -> str:
    number = f"{PREFIX}〔{year}〕{serial}号"
    return f"{number}·{district}" if district else number


def take_serial(session: Session, year: int) -> int:
    """The next number of *year*, held by this transaction: if it rolls back (a failed render),
    the number was never used. The row lock makes concurrent issuers wait their turn."""
    taken = session.execute(
        update(DocumentSequence)
        .where(DocumentSequence.year == year)
        .values(last_serial=DocumentSequence.last_serial + 1)
        .returning(DocumentSequence.last_serial)
    ).scalar()
    if taken is not None:
        return int(taken)
    try:
        with session.begin_nested():
            session.add(DocumentSequence(year=year, last_serial=1))
        return 1
    except IntegrityError:  # another transaction created the year's row first
        return take_serial(session, year)


def new_code(session: Session) -> str:
    """XXXX-XXXX-XXXX: 60 random bits, short enough to type, far too many to guess under the
    verification page's rate limit."""
    while True:
        raw = "".join(secrets.choice(ALPHABET) for _ in range(4 * CODE_GROUPS))
        code = "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))
        if session.scalar(select(Notice.id).where(Notice.verification_code == code)) is None:
            return code


def normalise_code(text: str) -> str | None:
    """What a person typed → the stored form, or None if it cannot be a code."""
    raw = (text or "").upper().replace("-", "").replace(" ", "")
    raw = raw.replace("O", "0").replace("I", "1").replace("L", "1")
    if len(raw) != 4 * CODE_GROUPS or any(ch not in ALPHABET for ch in raw):
        return None
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))
