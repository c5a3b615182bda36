"""Rendering notices to PDF with WeasyPrint: Jinja layouts under templates/pdf/, CJK fonts
from the system (fonts-noto-cjk: Noto Serif/Sans CJK SC with real bold), loaded once per process.

Nothing here touches the database or Flask, so the benchmark renders exactly what the app does.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from app.config import PROJECT_ROOT

AUTHORITY = "苏州市城市管理局"
TEMPLATES = PROJECT_ROOT / "templates" / "pdf"


@dataclass
class IndicatorLine:
    code: str
    name: str
    max_points: Decimal
    scores: dict[str, Decimal]  # stage → score


@dataclass
class DeductionLine:
    code: str
    name: str
    amount: Decimal
    reason: str
    evidence: list[str] = field(default_factory=list)


@dataclass
class Document:
    """What every notice shows around its body."""

    kind: str
    title: str
    doc_number: str
    issued_on: date
    verification_code: str
    verify_url: str = "/verify"
    recipient: str = ""
    supersedes: str = ""  # a correction names the document it replaces


@dataclass
class CorrectedItem:
    """What a correction changed for the district: told to that district alone, in its corrected
    letter (the indicator, its score and total before and after, the administrator's reason)."""

    code: str
    name: str
    before: Decimal
    after: Decimal
    total_before: Decimal
    total_after: Decimal
    reason: str
    public_number: str  # the 更正通知 that restated the ranking for every district


@dataclass
class LetterContent:
    round_title: str
    period: str
    district: str
    stage: str  # verified (with appeal rights) or final
    stages: list[tuple[str, str]]  # (stage key, column label)
    indicators: list[IndicatorLine]
    totals: dict[str, Decimal]
    grade: str
    deductions: list[DeductionLine]
    appeal_deadline: str = ""
    self_overdue: bool = False
    correction: CorrectedItem | None = None  # a corrected letter's 更正事项 (kind corrected_letter)


@dataclass
class RankingLine:
    rank: int
    district: str
    total: Decimal
    first_level: list[Decimal]
    grade: str
    veto: str


@dataclass
class CircularContent:
    round_title: str
    period: str
    first_level_names: list[str]
    ranking: list[RankingLine]
    main_deductions: list[tuple[str, str, int, Decimal]]  # code, name, districts, points lost
    rectification: list[str]
    # How ranks were decided beyond the totals, stated under the table ("" states nothing more).
    ranking_rule: str = ""


@dataclass
class DecisionItem:
    code: str
    name: str
    appeal_reason: str
    decision: str
    decision_reason: str
    before: Decimal
    after: Decimal


@dataclass
class DecisionContent:
    round_title: str
    district: str
    items: list[DecisionItem]


@dataclass
class CorrectionContent:
    """The public 更正通知: read by every district, so it carries only what the circular carries
    (totals, first-level scores, grades, ranks) — never an indicator's score or the reason."""

    round_title: str
    period: str
    district: str
    total_before: Decimal | None  # the district's result as the superseded document stated it
    total_after: Decimal | None
    rank_before: int | None
    rank_after: int | None
    ranking: list[RankingLine]
    first_level_names: list[str]
    ranking_rule: str = ""  # as in the circular it restates


def _points(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return format(value.normalize(), "f")


def _chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    env.filters["points"] = _points
    env.filters["cn_date"] = _chinese_date
    return env


@lru_cache(maxsize=1)
def _fonts_and_style() -> tuple[FontConfiguration, CSS]:
    """Fonts and the shared stylesheet, once per process (loading fonts dominates a first render)."""
    fonts = FontConfiguration()
    style = CSS(filename=str(TEMPLATES / "notice.css"), font_config=fonts)
    return fonts, style


@dataclass
class RenderedPdf:
    data: bytes
    pages: int


def render(template: str, document: Document, content: Any) -> RenderedPdf:
    html = _environment().get_template(template).render(doc=document, c=content, authority=AUTHORITY)
    fonts, style = _fonts_and_style()
    rendered = HTML(string=html, base_url=str(TEMPLATES)).render(stylesheets=[style], font_config=fonts)
    buffer = io.BytesIO()
    rendered.write_pdf(buffer)
    return RenderedPdf(buffer.getvalue(), len(rendered.pages))
