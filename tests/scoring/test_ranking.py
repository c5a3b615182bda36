"""Competition ranking with units that rank after all the others (a veto failed their period)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.scoring.engine import rank

D = Decimal


def test_a_vetoed_unit_ranks_after_every_clean_one_whatever_its_total() -> None:
    totals = {"姑苏区": D("75.00"), "吴江区": D("74.00"), "吴中区": D("73.50")}
    assert rank(totals) == {"姑苏区": 1, "吴江区": 2, "吴中区": 3}  # the earlier rule, unchanged
    assert rank(totals, last={"姑苏区"}) == {"吴江区": 1, "吴中区": 2, "姑苏区": 3}
    assert list(rank(totals, last={"姑苏区"})) == ["吴江区", "吴中区", "姑苏区"]


def test_vetoed_units_rank_among_themselves_and_never_tie_with_a_clean_one() -> None:
    totals = {"a": D(74), "b": D(70), "c": D(75), "d": D(70), "e": D(70)}
    # c and d are vetoed: a, then b and e level (1, 2, 2), then c, then d level with nobody.
    assert rank(totals, last={"c", "d"}) == {"a": 1, "b": 2, "e": 2, "c": 4, "d": 5}
    # The first-level tie-break still orders equal totals, inside each group.
    zf = {"a": D(40), "b": D(40), "c": D(40), "d": D(45), "e": D(45)}
    assert rank(totals, lambda key: -zf[key], last={"c", "d"}) == {"a": 1, "e": 2, "b": 3, "c": 4, "d": 5}


totals_maps = st.dictionaries(
    st.sampled_from("abcdefgh"), st.integers(0, 7500).map(lambda n: D(n).scaleb(-2)), min_size=1
)


@settings(max_examples=200, deadline=None)
@given(totals_maps, st.sets(st.sampled_from("abcdefgh")))
def test_ranking_the_vetoed_last_is_ranking_the_others_then_them(
    totals: dict[str, Decimal], vetoed: set[str]
) -> None:
    ranks = rank(totals, last=vetoed)
    clean = {k: v for k, v in totals.items() if k not in vetoed}
    failed = {k: v for k, v in totals.items() if k in vetoed}
    assert {k: ranks[k] for k in clean} == rank(clean)
    assert {k: ranks[k] for k in failed} == {k: r + len(clean) for k, r in rank(failed).items()}
    assert rank(totals, last=set()) == rank(totals)
