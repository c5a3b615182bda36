"""Document numbers and verification codes.

Every issued document has a number of its own (文号), made from its kind's 代字 and format, which
the bureau sets (``numbering_rules``; the defaults below until it does): the 通报 and each
更正通知 ``苏城管考〔2026〕3号``, a district's 告知书 ``苏城管考告〔2026〕12号``, a 复核决定书
``苏城管考复〔2026〕2号``. Serials run per 代字 and year, so kinds that share a 代字 share one
sequence and no two documents can carry the same number.

A serial is taken inside the transaction that renders and records the document: the counter
row stays locked until that transaction ends, so a failed render uses no number. Only the
background notice job and the administrator's correction issue documents, never a district's
or an inspector's click, so nobody's click waits on the counter.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.errors import ValidationFailed
from app.notices.models import NUMBERED_KINDS, DocumentCounter, Notice, NumberingRule
from workflows import clock

DEFAULT_PATTERN = "{代字}〔{年}〕{号}号"
DEFAULT_PREFIXES: dict[str, str] = {
    "circular": "苏城管考",
    "correction": "苏城管考",
    "verified_letter": "苏城管考告",
    "final_letter": "苏城管考告",
    "corrected_letter": "苏城管考告",
    "decision": "苏城管考复",
}
PLACEHOLDERS = ("{代字}", "{年}", "{号}")
PREFIX_MAX = 20
PATTERN_MAX = 40
NUMBER_MAX = 60  # notices.doc_number
_PREFIX_CHARACTERS = re.compile(r"^[\w\u3400-\u9fff]+$")

# Crockford's base32 without I, L, O, U: nothing to misread when typed from paper.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_GROUPS = 3


class NumberingError(ValidationFailed):
    """A numbering rule that cannot be used, or a number that is already taken."""


@dataclass(frozen=True)
class Rule:
    kind: str
    prefix: str
    pattern: str

    @property
    def label(self) -> str:
        return NUMBERED_KINDS[self.kind]

    def number(self, year: int, serial: int) -> str:
        return (
            self.pattern.replace("{代字}", self.prefix)
            .replace("{年}", str(year))
            .replace("{号}", str(serial))
        )


def numbered_kind(kind: str, stage: str = "") -> str:
    """``Notice.kind`` (and a letter's stage) → the kind numbering speaks of."""
    if kind == "letter":
        return "verified_letter" if stage == "verified" else "final_letter"
    if kind not in NUMBERED_KINDS:
        raise NumberingError(f"未知的文件种类：{kind}")
    return kind


def _rule(kind: str, stored: NumberingRule | None) -> Rule:
    """The bureau's setting for *kind*, or the default while it has none."""
    if stored is not None:
        return Rule(kind, stored.prefix, stored.pattern)
    return Rule(kind, DEFAULT_PREFIXES[kind], DEFAULT_PATTERN)


def rules(session: Session) -> list[Rule]:
    """Every kind's rule."""
    stored = {r.kind: r for r in session.scalars(select(NumberingRule))}
    return [_rule(kind, stored.get(kind)) for kind in NUMBERED_KINDS]


def rule_of(session: Session, kind: str) -> Rule:
    return _rule(kind, session.get(NumberingRule, kind))


def checked_rule(kind: str, prefix: str, pattern: str) -> Rule:
    """A rule as an administrator typed it, or NumberingError naming what is wrong (in Chinese)."""
    if kind not in NUMBERED_KINDS:
        raise NumberingError(f"未知的文件种类：{kind}")
    prefix, pattern = (prefix or "").strip(), (pattern or "").strip()
    errors: dict[str, str] = {}
    if not prefix or len(prefix) > PREFIX_MAX or not _PREFIX_CHARACTERS.match(prefix):
        errors["prefix"] = f"代字须为 1–{PREFIX_MAX} 个汉字、字母或数字"
    missing = [p for p in PLACEHOLDERS if p not in pattern]
    if missing:
        errors["pattern"] = "格式须包含 " + "、".join(PLACEHOLDERS) + "（缺少 " + "、".join(missing) + "）"
    elif any(pattern.count(p) != 1 for p in PLACEHOLDERS):
        errors["pattern"] = "格式中 {代字}、{年}、{号} 各出现一次"
    elif len(pattern) > PATTERN_MAX or re.search(r"[{}]", _without_placeholders(pattern)):
        errors["pattern"] = f"格式不超过 {PATTERN_MAX} 个字符，除 {{代字}}、{{年}}、{{号}} 外不能含花括号"
    elif "{年}{号}" in pattern or "{号}{年}" in pattern:
        # 2026 + 12 and 202 + 612 would read alike: the year and the serial need a mark between.
        errors["pattern"] = "{年} 与 {号} 之间须有分隔，例如 〔{年}〕{号}号"
    if errors:
        raise NumberingError(f"{NUMBERED_KINDS[kind]}的文号设置有误", errors)
    rule = Rule(kind, prefix, pattern)
    if len(rule.number(9999, 99999)) > NUMBER_MAX:
        raise NumberingError("文号过长", {"pattern": f"生成的文号不能超过 {NUMBER_MAX} 个字符"})
    return rule


def _without_placeholders(pattern: str) -> str:
    for placeholder in PLACEHOLDERS:
        pattern = pattern.replace(placeholder, "")
    return pattern


def update_rules(session: Session, actor_id: int, typed: Mapping[str, tuple[str, str]]) -> list[Rule]:
    """The administrator's 代字 and format for every kind (*typed*: kind → (代字, 格式)): all
    checked before any is stored; returns the rules that changed, audited. Documents already
    issued keep the numbers they carry; a changed 代字 starts (or continues) its own sequence."""
    wanted: list[Rule] = []
    fields: dict[str, str] = {}
    for kind in NUMBERED_KINDS:
        prefix, pattern = typed.get(kind, ("", ""))
        try:
            wanted.append(checked_rule(kind, prefix, pattern))
        except NumberingError as exc:
            fields.update({f"{field}-{kind}": message for field, message in exc.fields.items()})
    if fields:
        raise NumberingError("文号设置有误，请按提示修改，未保存任何改动", fields)
    current = {r.kind: r for r in rules(session)}
    changed = [r for r in wanted if current[r.kind] != r]
    for rule in changed:
        stored = session.get(NumberingRule, rule.kind)
        if stored is None:
            session.add(NumberingRule(kind=rule.kind, prefix=rule.prefix, pattern=rule.pattern))
        else:
            stored.prefix, stored.pattern = rule.prefix, rule.pattern
    if changed:
        audit(
            session,
            actor_id,
            "notice.numbering",
            ("numbering_rules", None),
            "修改文号设置：" + "；".join(f"{r.label} {r.prefix} {r.pattern}" for r in changed),
            before={r.kind: [current[r.kind].prefix, current[r.kind].pattern] for r in changed},
            after={r.kind: [r.prefix, r.pattern] for r in changed},
        )
    return changed


def next_numbers(session: Session) -> dict[str, str]:
    """What the next document of each kind would be numbered this year (the settings page's
    preview; taking a number still happens only when a document is issued)."""
    year = clock.local(clock.now()).year  # type: ignore[union-attr]
    last = dict(
        session.execute(
            select(DocumentCounter.prefix, DocumentCounter.last_serial).where(DocumentCounter.year == year)
        ).all()
    )
    return {rule.kind: rule.number(year, last.get(rule.prefix, 0) + 1) for rule in rules(session)}


def take_serial(session: Session, prefix: str, year: int) -> int:
    """The next serial of *prefix* in *year*, held by this transaction: if it rolls back (a failed
    render), the serial was never used. The row lock makes concurrent issuers wait their turn."""
    taken = session.execute(
        update(DocumentCounter)
        .where(DocumentCounter.prefix == prefix, DocumentCounter.year == year)
        .values(last_serial=DocumentCounter.last_serial + 1)
        .returning(DocumentCounter.last_serial)
    ).scalar()
    if taken is not None:
        return int(taken)
    try:
        with session.begin_nested():
            session.add(DocumentCounter(prefix=prefix, year=year, last_serial=1))
        return 1
    except IntegrityError:  # another transaction created the row first
        return take_serial(session, prefix, year)


@dataclass(frozen=True)
class DocumentNumber:
    prefix: str
    year: int
    serial: int
    text: str


def take_number(session: Session, kind: str, year: int) -> DocumentNumber:
    """The next number of a document of *kind* (see ``numbered_kind``), refused if a document
    already carries the same text (possible only when two kinds' formats are set to collide)."""
    rule = rule_of(session, kind)
    serial = take_serial(session, rule.prefix, year)
    text = rule.number(year, serial)
    if session.scalar(select(Notice.id).where(Notice.doc_number == text).limit(1)) is not None:
        raise NumberingError(f"文号 {text} 已被使用，请在文号设置中为{rule.label}另设代字或格式")
    return DocumentNumber(rule.prefix, year, serial, text)


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
