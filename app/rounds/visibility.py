"""Who may see what of a round: the scoping rules in one place."""

from __future__ import annotations

from app.accounts.models import User
from app.rounds.models import DistrictAssessment, Round


def can_see_results(user: User, round_: Round) -> bool:
    """Totals, first-level scores and ranks: everyone once published, only administrators before."""
    return round_.is_published or user.role == "admin"


def can_see_detail(user: User, assessment: DistrictAssessment) -> bool:
    """Indicator detail and evidence: the district concerned and the city's case staff (not 运维)."""
    return user.is_case_staff or (user.role == "liaison" and user.district_id == assessment.district_id)


def can_see_progress(user: User, assessment: DistrictAssessment | None) -> bool:
    """Where a process stands (its diagram): city staff, 运维 included, and the district concerned."""
    if user.is_city_staff:
        return True
    return assessment is not None and can_see_detail(user, assessment)


def visible_score_stages(user: User, round_: Round, assessment: DistrictAssessment) -> list[str]:
    """Which stage scores the page may show: a district sees its verified score once released."""
    if user.is_case_staff and (user.role != "leader" or round_.is_published or round_.status == "approving"):
        return ["self", "verified", "final"]
    stages = ["self"]
    if assessment.released_at is not None:
        stages.append("verified")
    if round_.is_published:
        stages.append("final")
    return stages


def can_see_notice(user: User, round_: Round, district_id: int | None) -> bool:
    """A circular: everyone once the round is published, administrators always. A district's
    letter or decision: that district and the city's case staff (leaders once published)."""
    if district_id is None:
        return can_see_results(user, round_)
    if user.role == "liaison":
        return user.district_id == district_id
    if user.role == "leader":
        return round_.is_published
    return user.is_case_staff
