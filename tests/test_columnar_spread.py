"""Keyed aggregations spread onto the frame through the payees' and the periods' keys
(aggregate._spread) instead of a join with every payee-period: the same payouts as the
interpreter, on keys shared by several payees, empty keys, keys of the period's year and of
the period alone, and payees no row reaches."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

pytest.importorskip("polars")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from kamrules.backends.polars import aggregate  # noqa: E402
from kamrules.cli.common import load  # noqa: E402
from test_columnar import compare_engines  # noqa: E402

PLAN = """plan "spread"
currency EUR
period month
payees people
round components to cent half_up
input people key payee_id { payee_id: Text  team: optional Text  base: Money }
input deals { deal_id: Text  payee_id: Text  team: optional Text  amount: Money  close_date: Date }
input quotas { team: optional Text  year: Period  quota: Money }

let mine = sum(amount for deals where payee_id == payee.id and close_date in period)
let team_won = sum(amount for deals where team == payee.team and close_date in period)
let quota = one(quota for quotas where team == payee.team and year == period.year)
let all_won = sum(amount for deals where close_date in period)
let firsts = count(deals where payee_id == payee.id)
component own = mine * 2%
component team_share = if exists(quotas where team == payee.team and year == period.year)
                       then round(team_won / quota, 1%, down) * payee.base
                       else 0 EUR
component market = all_won * 0.1% + firsts * 1 EUR
"""

teams = st.sampled_from(["", "north", "south"])
days = st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2025, 4, 30))
people_st = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), teams,
                               st.decimals(min_value=0, max_value=900, places=2)),
                     min_size=1, max_size=4, unique_by=lambda t: t[0])
deals_st = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "x"]), teams,
                              st.decimals(min_value=-50, max_value=5000, places=2), days), max_size=20)
quotas_st = st.lists(st.tuples(teams, st.decimals(min_value=1, max_value=9000, places=2)),
                     max_size=3, unique_by=lambda t: t[0])


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    path = tmp_path_factory.mktemp("spread") / "spread.kam"
    path.write_text(PLAN)
    return load(path)[0]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=people_st, deals=deals_st, quotas=quotas_st)
def test_spread_aggregates_give_the_interpreter_payouts(plan, tmp_path, monkeypatch, people, deals, quotas):
    spread = []
    real = aggregate._spread

    def counted(frame, *a):
        out = real(frame, *a)
        if frame.grid[0]:  # check_supported's empty tables have no payee: joined
            spread.append(out is not None)
        return out
    monkeypatch.setattr(aggregate, "_spread", counted)
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "people.csv").write_text("payee_id,team,base\n" + "".join(f"{p},{t},{b}\n" for p, t, b in people))
    (data / "deals.csv").write_text("deal_id,payee_id,team,amount,close_date\n" + "".join(
        f"d{i},{p},{t},{a},{d}\n" for i, (p, t, a, d) in enumerate(deals)))
    (data / "quotas.csv").write_text("team,year,quota\n" + "".join(f"{t},2025,{q}\n" for t, q in quotas))
    compare_engines(plan, data)
    # every keyed aggregate of a run with payees took the payee/period path
    assert all(spread)


def test_spread_equals_the_join_on_a_shared_and_empty_key():
    """_spread against the left join it replaces, on a frame of 3 payees x 2 periods whose
    payee key is shared (a, b: team t) or empty (c), worked by hand."""
    import polars as pl

    class Fake:
        grid = (3, 2)
        spread_cells: dict = {}
        height = 6
        read = classmethod(lambda cls, *exprs: cls.df.select(*exprs))  # (Frame.read)
        df = pl.DataFrame({"__f": range(6), "__payee": ["a", "a", "b", "b", "c", "c"],
                           "payee.team": ["t", "t", "t", "t", None, None],
                           "__pstart": [dt.date(2025, 1, 1), dt.date(2025, 2, 1)] * 3})
    g = pl.DataFrame({"__k0": ["t", None, "t"], "__k1": [dt.date(2025, 2, 1), dt.date(2025, 1, 1),
                                                          dt.date(2025, 1, 1)],
                      "__s": [Decimal(5), Decimal(7), Decimal(3)]})
    fkeys = [pl.col("payee.team").alias("__k0"), pl.col("__pstart").alias("__k1")]
    got = aggregate._spread(Fake, fkeys, ["__k0", "__k1"], g)
    # a, b (team t): January 3, February 5; c (no team): January 7 (empty keys are equal)
    assert got["__s"].to_list() == [Decimal(3), Decimal(5), Decimal(3), Decimal(5), Decimal(7), None]
    joined = Fake.df.select(*fkeys).join(g, on=["__k0", "__k1"], how="left", maintain_order="left",
                                          nulls_equal=True)
    assert got.equals(joined.drop("__k0", "__k1"))


def test_spread_on_a_period_key_alone_repeats_it_for_every_payee_and_month():
    """A key of the period alone (`year == period.year`): 2 payees x 3 months, two of year
    y25 and one of y26; g has y26 only, and a key no period has. By hand: every payee reads
    nothing in the y25 months and 9 in the y26 month; the left join says the same."""
    import polars as pl

    class Fake:
        grid = (2, 3)
        spread_cells: dict = {}
        height = 6
        read = classmethod(lambda cls, *exprs: cls.df.select(*exprs))  # (Frame.read)
        df = pl.DataFrame({"__f": range(6), "__payee": ["a"] * 3 + ["b"] * 3,
                           "period.year.key": ["y25", "y25", "y26"] * 2})
    g = pl.DataFrame({"__k0": ["y26", "y99"], "__s": [Decimal(9), Decimal(1)]})
    fkeys = [pl.col("period.year.key").alias("__k0")]
    got = aggregate._spread(Fake, fkeys, ["__k0"], g)
    assert got["__s"].to_list() == [None, None, Decimal(9), None, None, Decimal(9)]
    joined = Fake.df.select(*fkeys).join(g, on=["__k0"], how="left", maintain_order="left", nulls_equal=True)
    assert got.equals(joined.drop("__k0"))
