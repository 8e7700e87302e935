"""Issue 13, no silent wrong number: pools with one total (KR416), the periods a run
computes (every period a row can pay in, KR417 when that cannot be told, repeated
--period, KR721), --payee that names nobody, and `explain` showing what each aggregation
computed (--exact for every digit). In-process through kamrules.cli.main.main."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from kamrules.cli.main import main

ENGINES = (["--engine", "interpreter"], [])  # the reference, and the default (columnar first)

PEOPLE = "payee_id,budget\nkam-001,10000\nkam-002,10000\nkam-007,12000\n"

POOL = """plan "Pool"
currency EUR
period quarter
payees people

input people key payee_id {
  payee_id: Text
  budget: Money
}
input deals key deal_id {
  deal_id: Text
  owner_id: Text
  amount: Money
  close_date: Date
}

let sold = sum(amount for deals where owner_id == payee.id and close_date in period)
component pool = share(POOL_TOTAL, sold / 1 EUR)
"""

DEALS = ("deal_id,owner_id,amount,close_date\n"
         "d1,kam-001,1000,2025-02-10\n"
         "d2,kam-001,3000,2025-08-05\n"
         "d3,kam-002,2000,2025-09-30\n")

# Quarterly; deals only in Q1 and Q3; rows placed by `period.year_to_date` only.
# By hand (commission = 10% of the year to date, minus what it paid earlier in the year;
# ytd_bonus = 50 EUR once the year to date reaches 1000 EUR):
#   Q1: kam-001 ytd 1000 -> commission 100, bonus 50;  kam-002 ytd 0 -> 0, 0
#   Q2: kam-001 ytd 1000 -> commission 0,   bonus 50;  kam-002 0, 0   (no deal in Q2, yet it pays)
#   Q3: kam-001 ytd 4000 -> commission 300, bonus 50;  kam-002 ytd 2000 -> 200, 50
#   Q4 is after the data's last date: not computed.
YTD = """plan "YTD"
currency EUR
period quarter
payees people

input people key payee_id {
  payee_id: Text
}
input deals key deal_id {
  deal_id: Text
  owner_id: Text
  amount: Money
  close_date: Date
}

let ytd = sum(amount for deals where owner_id == payee.id and close_date in PLACE)
component commission = ytd * 10% - paid(commission, period.year)
component ytd_bonus = if ytd >= 1000 EUR then 50 EUR else 0 EUR
"""

YTD_EXPECTED = {
    ("kam-001", "2025-Q1", "commission"): "100.00", ("kam-001", "2025-Q1", "ytd_bonus"): "50.00",
    ("kam-001", "2025-Q2", "commission"): "0.00", ("kam-001", "2025-Q2", "ytd_bonus"): "50.00",
    ("kam-001", "2025-Q3", "commission"): "300.00", ("kam-001", "2025-Q3", "ytd_bonus"): "50.00",
    ("kam-002", "2025-Q1", "commission"): "0.00", ("kam-002", "2025-Q1", "ytd_bonus"): "0.00",
    ("kam-002", "2025-Q2", "commission"): "0.00", ("kam-002", "2025-Q2", "ytd_bonus"): "0.00",
    ("kam-002", "2025-Q3", "commission"): "200.00", ("kam-002", "2025-Q3", "ytd_bonus"): "50.00",
}


def _folder(tmp_path, plan: str, people="payee_id\nkam-001\nkam-002\n", deals=DEALS):
    (tmp_path / "plan.kam").write_text(plan)
    (tmp_path / "people.csv").write_text(people)
    (tmp_path / "deals.csv").write_text(deals)
    return tmp_path


def _cli(capsys, *args):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, out, err


def _run(capsys, d, *args) -> dict:
    """The payouts (no totals) of a run that must succeed."""
    rc, out, err = _cli(capsys, "run", d / "plan.kam", "--data", d, *args)
    assert rc == 0, err
    return _payouts(out)


def _payouts(text: str) -> dict:
    return {(r["payee_id"], r["period"], r["component"]): r["amount"]
            for r in csv.DictReader(io.StringIO(text)) if r["component"] != "total"}


# ---------------------------------------------------------------- 8. one total per pool
@pytest.mark.parametrize("engine", ENGINES)
def test_a_pool_whose_total_depends_on_the_payee_stops_the_run(tmp_path, capsys, engine):
    d = _folder(tmp_path, POOL.replace("POOL_TOTAL", "payee.budget"), people=PEOPLE)
    rc, out, err = _cli(capsys, "run", d / "plan.kam", "--data", d, *engine)
    assert rc == 1 and out == ""
    assert "KR416" in err and "a pool's total is not one value" in err
    assert "plan.kam:18:18" in err and "2025-Q1" in err  # the share call, the period
    assert "kam-001 has 10000.00 EUR" in err and "kam-007 has 12000.00 EUR" in err
    assert "share(..., by ...)" in err


@pytest.mark.parametrize("engine", ENGINES)
def test_a_pool_with_one_total_is_split(tmp_path, capsys, engine):
    d = _folder(tmp_path, POOL.replace("POOL_TOTAL", "600 EUR"), people=PEOPLE)
    got = _run(capsys, d, "--period", "2025-Q3", *engine)
    assert got[("kam-001", "2025-Q3", "pool")] == "360.00"  # 3000 / 5000 of 600
    assert got[("kam-002", "2025-Q3", "pool")] == "240.00"


# ---------------------------------------------------------------- 9. periods
@pytest.mark.parametrize("engine", ENGINES)
def test_year_to_date_computes_every_paying_quarter(tmp_path, capsys, engine):
    d = _folder(tmp_path, YTD.replace("PLACE", "period.year_to_date"))
    whole = _run(capsys, d, *engine)
    assert whole == YTD_EXPECTED
    separately = {}
    for q in ("2025-Q1", "2025-Q2", "2025-Q3"):
        separately.update(_run(capsys, d, "--period", q, *engine))
    assert separately == whole


@pytest.mark.parametrize("engine", ENGINES)
def test_repeated_period_computes_each_once_in_order(tmp_path, capsys, engine):
    d = _folder(tmp_path, YTD.replace("PLACE", "period.year_to_date"))
    rc, out, err = _cli(capsys, "run", d / "plan.kam", "--data", d, "--period", "2025-Q3",
                        "--period", "2025-Q1", "--period", "2025-Q3", *engine)
    assert rc == 0, err
    got = _payouts(out)
    assert got == {k: v for k, v in YTD_EXPECTED.items() if k[1] != "2025-Q2"}
    periods = [line.split(",")[1] for line in out.splitlines()[1:] if line.startswith("kam-001")]
    assert periods == ["2025-Q1"] * 3 + ["2025-Q3"] * 3


@pytest.mark.parametrize("engine", ENGINES)
def test_period_previous_computes_the_period_after_the_data(tmp_path, capsys, engine):
    d = _folder(tmp_path, YTD.replace("PLACE", "period.previous"))
    got = _run(capsys, d, *engine)
    # the Q3 deals pay in Q4 (10% of last quarter, minus the year's earlier payments)
    assert {k[1] for k in got} == {"2025-Q2", "2025-Q3", "2025-Q4"}
    assert got[("kam-002", "2025-Q4", "commission")] == "200.00"


@pytest.mark.parametrize("engine", ENGINES)
def test_a_placement_kamrules_cannot_follow_asks_for_period(tmp_path, capsys, engine):
    d = _folder(tmp_path, YTD.replace("close_date in PLACE", "close_date + 30 > period.end"))
    rc, out, err = _cli(capsys, "run", d / "plan.kam", "--data", d, *engine)
    assert rc == 1 and out == ""
    assert "KR417" in err and "pass --period" in err and "plan.kam:16:" in err
    rc, out, err = _cli(capsys, "run", d / "plan.kam", "--data", d, "--period", "2025-Q3", *engine)
    assert rc == 0 and "2025-Q3" in out


def test_a_let_chain_and_a_narrowing_filter_place_rows(tmp_path, capsys):
    plan = YTD.replace(
        "let ytd = sum(amount for deals where owner_id == payee.id and close_date in PLACE)",
        "let since = period.year_to_date\n"
        "let mine = deals where owner_id == payee.id and close_date in since\n"
        "let ytd = sum(amount for mine where close_date + 1 > period.start - 400)")
    d = _folder(tmp_path, plan)
    assert _run(capsys, d, "--engine", "interpreter") == YTD_EXPECTED


# ---------------------------------------------------------------- 10. selections
@pytest.mark.parametrize("engine", ENGINES)
def test_payee_typo_is_an_error_before_any_output(tmp_path, capsys, engine):
    d = _folder(tmp_path, YTD.replace("PLACE", "period"))
    rc, out, err = _cli(capsys, "run", d / "plan.kam", "--data", d, "--payee", "kam-01", *engine)
    assert rc == 1 and out == ""  # no header
    assert "KR405" in err and "kam-01" in err and "did you mean `kam-001`?" in err


@pytest.mark.parametrize("command", ["explain", "statement"])
def test_payee_typo_in_explain_and_statement(tmp_path, capsys, command):
    d = _folder(tmp_path, YTD.replace("PLACE", "period"))
    rc, out, err = _cli(capsys, command, d / "plan.kam", "--data", d, "--payee", "kam-01")
    assert rc == 1 and out == "" and "did you mean `kam-001`?" in err


@pytest.mark.parametrize("engine", ENGINES)
def test_period_outside_the_data_is_an_error(tmp_path, capsys, engine):
    d = _folder(tmp_path, YTD.replace("PLACE", "period"))
    rc, out, err = _cli(capsys, "run", d / "plan.kam", "--data", d, "--period", "2024-Q3", *engine)
    assert rc == 1 and out == ""
    assert "KR721" in err and "2025-Q1 to 2025-Q3" in err and "did you mean `2025-Q3`?" in err
    rc, out, err = _cli(capsys, "team", d / "plan.kam", "--data", d, "--period", "2031")
    assert rc == 1 and out == "" and "KR721" in err


# ---------------------------------------------------------------- 11. explain shows what was computed
AVG = """plan "Avg"
currency EUR
period quarter
payees people

input people key payee_id {
  payee_id: Text
}
input visits key visit_id {
  visit_id: Text
  owner_id: Text
  score: Number
  visit_date: Date
}

let mean = avg(score for visits where owner_id == payee.id and visit_date in period)
let few = count(visits where owner_id == payee.id and visit_date in period)
component bonus = money(mean * 1000) + money(few)
"""


def test_explain_shows_the_average_and_exact_shows_every_digit(tmp_path, capsys):
    (tmp_path / "plan.kam").write_text(AVG)
    (tmp_path / "people.csv").write_text("payee_id\nkam-001\n")
    (tmp_path / "visits.csv").write_text("visit_id,owner_id,score,visit_date\nv1,kam-001,0.8,2025-01-10\n"
                                         "v2,kam-001,0.9,2025-02-10\nv3,kam-001,0.77,2025-03-11\n")
    args = ["explain", tmp_path / "plan.kam", "--data", tmp_path, "--payee", "kam-001"]
    rc, out, err = _cli(capsys, *args)
    assert rc == 0, err
    # avg of 0.8, 0.9, 0.77 = 2.47 / 3 = 0.82333..., not the sum 2.47
    assert "2.47" not in out
    assert "mean = ≈ 0.8233 (rounded for reading; --exact shows 0.8233333333" in out
    assert "count(... visits ...) line 17 = 3" in out
    assert "bonus = 826.33 EUR" in out  # 823.33 + 3
    rc, out, err = _cli(capsys, *args, "--exact")
    assert rc == 0, err
    exact = Decimal("2.47") / 3
    assert f"mean = {exact}" in out and "≈" not in out and "rounded for reading" not in out


@pytest.mark.parametrize("engine", ["auto", "interpreter"])
def test_a_period_in_the_data_where_nobody_is_paid_says_so(capsys, engine):
    # case 01 places ARR snapshots in 2025-Q2, but only Q1 has targets, and eligibility asks
    # for one: --period 2025-Q2 pays nobody. Exit 0 (a time-boxed component legitimately pays
    # nothing in a period: docs/constructs/effective-dating.md), but never a bare header alone
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    args = ["run", str(root / "plans" / "abtasty-kam.kam"), "--data",
            str(root / "examples" / "01-abtasty-nrr-upsell"), "--engine", engine]
    rc, out, err = _cli(capsys, *args, "--period", "2025-Q2")
    assert rc == 0 and out == "payee_id,period,component,amount,currency\n"
    assert "note: --period 2025-Q2: no payout: no payee is eligible" in err
    rc, out, err = _cli(capsys, *args, "--period", "2025-Q1", "--period", "2025-Q2")
    assert rc == 0 and out.count("2025-Q1,total") == 3 and "2025-Q2" not in out
