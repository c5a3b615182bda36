"""Cost of a PDF notice, and whether a district letter costs the same whatever the round's size.

    python -m benchmarks.notices [letters_sampled_in_600_round]

Builds, in one fresh SQLite database, the demo round (six districts) and a round of 600
districts, each district with a self-report that loses points on every scored indicator (two
deductions where the method gives two: occurrences found by the district and by the city; a
rate, a tier or an unticked item otherwise). Then issues notices the way the app does
(``app.notices.operations.issue_notice``: content read from the records, number taken,
WeasyPrint render, file written, row recorded), each in a transaction that is rolled back so
the rounds stay the same: the circular and the six letters of the demo round, then letters
spread over the 600-district round. Sizes are interleaved so machine drift hits both alike.

Prints per-document and per-page medians, total time, peak memory, then
``notice_letter_ratio_600_vs_6=…`` (target ≤ 1.2) and, last, ``notice_s_per_page=…``
(median seconds per rendered page, target ≤ 0.2).
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from decimal import Decimal

from sqlalchemy import insert, select

from app.db import db
from app.demo import seed_default_scheme
from app.districts.models import District
from app.notices.operations import issue_notice
from app.rounds.issuing import issue_round
from app.rounds.models import DistrictAssessment, Round
from app.rounds.operations import compute_results
from app.scoring.fact_forms import FactInput
from app.scoring.operations import save_self_report
from app.scoring.rules import ChecklistRules, DeductRules, RateRules, TieredRules
from app.scoring.scores import assessed, indicator_rules
from benchmarks._common import DEADLINES, add_districts, add_user, bench_app

SAMPLES_600 = 24


def losing_facts(indicator) -> list[FactInput]:  # type: ignore[no-untyped-def]
    rules = indicator_rules(indicator)
    if isinstance(rules, DeductRules):
        return [
            FactInput(
                "occurrence", found_by="district", description="自查发现占道经营未及时处置", place="某街道"
            ),
            FactInput("occurrence", found_by="city", description="市局暗访发现乱堆乱放", place="某社区"),
        ]
    if isinstance(rules, RateRules):
        return [FactInput("rate", numerator=Decimal(80), denominator=Decimal(100))]
    if isinstance(rules, TieredRules):
        return [FactInput("value", value=Decimal(1))]
    if isinstance(rules, ChecklistRules):
        return [FactInput("check", item=item.key) for item in rules.items[1:]]
    return []


def build_round(session, admin, scheme, districts: list[int], title: str) -> int:  # type: ignore[no-untyped-def]
    round_ = issue_round(session, admin, title, "2026-12", scheme.id, districts, DEADLINES)
    leaves = [
        i
        for i in scheme.indicators
        if i.kind == "scored"
        and not any(c.parent_id == i.id for c in scheme.indicators)
        and assessed(i, "2026-12")
    ]
    entries = {i: (losing_facts(i), "自查扣分") for i in leaves}
    for assessment in session.scalars(
        select(DistrictAssessment).where(DistrictAssessment.round_id == round_.id)
    ):
        save_self_report(session, admin.id, assessment, entries, draft=False)
    for result in compute_results(session, round_):
        session.add(result)
    return round_.id


def assessment_ids(round_id: int) -> list[int]:
    query = select(DistrictAssessment.id).where(DistrictAssessment.round_id == round_id)
    return list(db.session.scalars(query.order_by(DistrictAssessment.id)))


def timed(kind: str, round_id: int, assessment_id: int | None) -> tuple[float, int]:
    """Issue one notice and roll it back; returns (seconds, pages)."""
    session = db.session
    round_ = session.get(Round, round_id)
    assessment = session.get(DistrictAssessment, assessment_id) if assessment_id else None
    started = time.perf_counter()
    notice = issue_notice(session, None, kind, round_, assessment, "final" if kind == "letter" else "")
    elapsed = time.perf_counter() - started
    pages = notice.pages
    session.rollback()
    return elapsed, pages


def main() -> None:
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES_600
    with bench_app() as (app, _tmp), app.app_context():
        with db.transaction() as session:
            scheme = seed_default_scheme(session)
            admin = add_user(session, "bench_admin", "admin")
            demo_districts = add_districts(session, 6)
            demo = build_round(session, admin, scheme, demo_districts, "演示轮次")
        with db.transaction() as session:
            session.execute(
                insert(District),
                [
                    {"code": f"b{n:03d}", "name": f"大轮次区{n:03d}", "sort_order": 100 + n}
                    for n in range(600)
                ],
            )
            big_districts = list(session.scalars(select(District.id).where(District.code.like("b%"))))
            big = build_round(
                session, session.merge(admin), session.merge(scheme), big_districts, "600区轮次"
            )
        demo_letters = list(
            db.session.scalars(select(DistrictAssessment.id).where(DistrictAssessment.round_id == demo))
        )
        big_all = list(
            db.session.scalars(select(DistrictAssessment.id).where(DistrictAssessment.round_id == big))
        )
        big_letters = [big_all[int(i * len(big_all) / samples)] for i in range(samples)]
        db.session.rollback()

        timed("letter", demo, demo_letters[0])  # fonts and templates load once per process: not timed

        overall = time.perf_counter()
        per_page: list[float] = []
        circular_time, circular_pages = timed("circular", demo, None)
        per_page.append(circular_time / circular_pages)
        small: list[float] = []
        large: list[float] = []
        for n in range(max(len(demo_letters), len(big_letters))):
            if n < len(demo_letters):
                seconds, pages = timed("letter", demo, demo_letters[n])
                small.append(seconds)
                per_page.append(seconds / pages)
            if n < len(big_letters):
                seconds, pages = timed("letter", big, big_letters[n])
                large.append(seconds)
                per_page.append(seconds / pages)
        # a second pass over the demo letters, so both medians rest on enough samples
        for assessment_id in demo_letters * 3:
            seconds, pages = timed("letter", demo, assessment_id)
            small.append(seconds)
            per_page.append(seconds / pages)
        total = time.perf_counter() - overall

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"circular: {circular_time:.3f} s, {circular_pages} pages")
    print(f"letter, demo round (6 districts):  median {statistics.median(small):.3f} s over {len(small)}")
    print(f"letter, 600-district round:       median {statistics.median(large):.3f} s over {len(large)}")
    print(f"pages per letter: {pages}")
    print(f"total time: {total:.1f} s; peak resident memory: {peak_mb:.0f} MB")
    print(f"notice_letter_ratio_600_vs_6={statistics.median(large) / statistics.median(small):.2f}")
    print(f"notice_s_per_page={statistics.median(per_page):.3f}")


if __name__ == "__main__":
    main()
