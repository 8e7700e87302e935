"""`currency payee.COLUMN`: each payee paid in the currency its row names (plans/pay-currency.kam,
examples/pay-currency, docs/cookbook/pay-currency.md).

The example, by hand (plans/tests/pay-currency/example/case.toml):
  ana (EUR): 30,000 x 4% + 15,000 x 4% = 1,200.00 + 600.00 = 1,800.00 EUR, no bonus (45,000 < 50,000)
  bob (USD): 800.02 x 1.0357 = 828.580714 -> 828.58; 400 x 1.0812 = 432.48; 1,000 x 1.0812 = 1,081.20
             = 2,342.26 USD; 55,000.50 booked: bonus 500.00 USD; total 2,842.26 USD
"""
from __future__ import annotations

import re
import shutil
from decimal import Decimal, ROUND_HALF_UP

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import ROOT
from constructs_helpers import both, write_case
from kamrules.check.checker import check
from kamrules.diagnostics.source import SourceFile
from kamrules.syntax.parser import parse

PLAN = ROOT / "plans" / "pay-currency.kam"
DATA = ROOT / "examples" / "pay-currency"
EXPECTED = (ROOT / "plans" / "tests" / "pay-currency" / "example" / "expected.csv").read_text(encoding="utf-8")

HEAD = """plan "p"
currency payee.pay_currency
period quarter
payees people
input people key payee_id {
  payee_id: Text
  pay_currency: Text
  team: Text
}
input deals key deal_id {
  deal_id: Text
  owner_id: Text
  amount: Money[EUR]
  close_date: Date
}
input fx_rates {
  date: Date
  from: Text
  to: Text
  rate: Number
}
let eur = sum(amount for deals where owner_id == payee.id and close_date in period)
let mine = fx(eur, payee.pay_currency, period.end)
"""


def codes(text: str) -> list:
    _, diags = check(parse(text, "p.kam"), SourceFile("p.kam", text))
    return [(d.code, d.message, d.hint) for d in diags if d.is_error]


@pytest.mark.parametrize("engine", ["interpreter", "columnar"])
def test_run_pays_each_payee_in_their_currency_on_both_engines(cli, engine):
    r = cli("run", PLAN, "--data", DATA, "--engine", engine)
    assert r.returncode == 0, r.stderr
    assert r.stdout == EXPECTED


def test_the_columnar_engine_computes_it_itself():
    from kamrules.run.session import Session
    s = Session(str(PLAN), str(DATA), engine="columnar")
    run = s.execute()
    assert s.handed_over is None and not s.interpreted_payees
    assert [(p.payee_id, p.component, str(p.amount), p.currency) for p in run.payouts] == [
        ("ana", "commission", "1800.00", "EUR"), ("ana", "target_bonus", "0.00", "EUR"),
        ("bob", "commission", "2342.26", "USD"), ("bob", "target_bonus", "500.00", "USD")]


@pytest.mark.parametrize("body, code, words", [
    # money in the payee's currency plus a fixed currency: typed, with the fx hint
    ("component c = mine + 100 EUR", "KR340", "cannot add Money[payee.pay_currency] and Money[EUR]"),
    ("component c = eur", "KR340", "component `c` is Money[EUR] but the plan pays in payee.pay_currency"),
    ("component c = 100 EUR", "KR340", "is Money[EUR]"),  # a literal 100 EUR is EUR
    ("component c = if mine > 1000 EUR then mine else money(0)", "KR340",
     "cannot compare Money[payee.pay_currency] with Money[EUR]"),
    ("component c = if eur >= money(50000) then mine else money(0)", "KR340", "cannot compare"),
    ("component c = mine - eur", "KR340", "cannot subtract"),
    ("component c = money(eur)", "KR340", "money() cannot relabel Money[EUR]"),
    ("component c = team_total(mine)", "KR343", "team_total() would add amounts of payees paid in different"),
    ("component c = share(mine, 1)", "KR343", "share() would add"),
    ("component c = fx(eur, payee.team, period.end)", "KR341", "`payee.team` is not it"),
])
def test_mixing_the_payee_currency_with_a_fixed_one_is_a_check_error(body, code, words):
    found = codes(HEAD + body + "\n")
    assert found and {c for c, _, _ in found} == {code}, found
    assert words in found[0][1]
    if code == "KR340":
        assert "fx(" in found[0][2] and "payee.pay_currency" in found[0][2]


def test_what_stays_in_one_currency_checks():
    # fx to the payee's currency; money(x) is the payee's currency; a pool by the pay currency
    # column adds amounts of one currency only; EUR with EUR compares
    body = ("component a = mine + money(100)\n"
            "component b = if eur >= 50000 EUR then money(500) else money(0)\n"
            "component c = team_total(mine, by payee.pay_currency)\n"
            "component d = round(fx(share(1000 EUR, 1), payee.pay_currency, period.end), cent, half_up)\n")
    assert codes(HEAD + body) == []


@pytest.mark.parametrize("header, people, code, words", [
    ("currency payee.pay", "pay_currency: Text", "KR341", "has no column `pay`"),
    ("currency payee.pay_currency", "pay_currency: Number", "KR341", "not Text"),
    ("currency team.pay_currency", "pay_currency: Text", "KR341", "each payee's (payee.COLUMN)"),
])
def test_the_header_names_a_text_column_of_the_payees(header, people, code, words):
    text = (HEAD.replace("currency payee.pay_currency", header).replace("pay_currency: Text", people)
            .replace("let mine = fx(eur, payee.pay_currency, period.end)\n", "") + "component c = money(1)\n")
    found = codes(text)
    assert code in [c for c, _, _ in found] and any(words in m for _, m, _ in found), found


def test_a_bare_money_input_column_names_its_currency():
    found = codes(HEAD.replace("amount: Money[EUR]", "amount: Money") + "component c = money(1)\n")
    assert [c for c, _, _ in found] == ["KR342"]
    assert "deals.amount" in found[0][1] and "Money[EUR]" in found[0][2]


@pytest.mark.parametrize("engine", ["interpreter", "columnar"])
@pytest.mark.parametrize("cell, shown", [("US$", "`US$`"), ("", "empty"), ("usd", "`usd`")])
def test_an_unknown_or_empty_code_stops_the_run_naming_row_and_column(cli, tmp_path, engine, cell, shown):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    (data / "people.csv").write_text("payee_id,name,pay_currency\nana,Ana,EUR\nbob,Bob," + cell + "\n",
                                     encoding="utf-8")
    plan = tmp_path / "plan.kam"  # an empty cell: KR403 when the column is required, so optional here
    plan.write_text(PLAN.read_text(encoding="utf-8").replace("pay_currency: Text", "pay_currency: optional Text"),
                    encoding="utf-8")
    out = tmp_path / "out.csv"
    r = cli("run", plan, "--data", data, "--engine", engine, "-o", out)
    assert r.returncode == 1 and not out.exists()
    assert "KR460" in r.stderr
    assert f"people row 3 (payee bob): column `pay_currency` is {shown}, not an ISO 4217" in r.stderr


def test_team_simulate_diff_total_per_currency(cli, tmp_path):
    r = cli("team", PLAN, "--data", DATA, "--format", "text")
    assert r.returncode == 0, r.stderr
    assert "2025-Q1 EUR: 1 payee paid, total 1,800.00 EUR" in r.stdout
    assert "2025-Q1 USD: 1 payee paid, total 2,842.26 USD" in r.stdout
    assert "4,642.26" not in r.stdout  # never 1,800.00 + 2,842.26
    r = cli("simulate", PLAN, "--data", DATA)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[1].split()[-2:] == ["n/a", "EUR"] and "1800.00" in lines[1]
    assert lines[2].split()[-2:] == ["n/a", "USD"] and "2842.26" in lines[2]
    # a second plan doubling bob's bonus: diff totals per currency (USD +500.00, EUR unchanged)
    after = tmp_path / "after.kam"
    after.write_text(PLAN.read_text(encoding="utf-8").replace("money(500)", "money(1000)"), encoding="utf-8")
    r = cli("diff", PLAN, after, "--data", DATA)
    assert r.returncode == 0, r.stderr
    assert "1800.00 -> 1800.00 EUR (0.00, 0.00%)" in r.stdout
    assert "2842.26 -> 3342.26 USD (+500.00" in r.stdout


def _half_up(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pay=st.lists(st.sampled_from(["EUR", "USD", "GBP"]), min_size=1, max_size=4),
       deals=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 9_999_999), st.integers(1, 90)),
                      min_size=1, max_size=8),
       usd=st.integers(9000, 12000), gbp=st.integers(8000, 9000))
def test_both_engines_agree_and_match_a_second_computation(tmp_path_factory, pay, deals, usd, gbp):
    """Random payees, currencies and deals: the interpreter and the columnar engine print the
    same CSV, and each commission is the sum of the deals' 4% converted at the day's rate and
    rounded to the cent, computed here with Decimal."""
    import datetime as dt
    tmp = tmp_path_factory.mktemp("cur")
    rates = {"USD": (Decimal(usd).scaleb(-4), Decimal(usd + 50).scaleb(-4)),
             "GBP": (Decimal(gbp).scaleb(-4), Decimal(gbp - 50).scaleb(-4))}
    people = ["payee_id,pay_currency,team"] + [f"p{i},{c},t" for i, c in enumerate(pay)]
    rows = ["deal_id,owner_id,amount,close_date"]
    want, booked = {}, {}
    for n, (who, cents, day) in enumerate(deals):
        who %= len(pay)
        date = dt.date(2025, 1, 1) + dt.timedelta(days=day - 1)
        amount = Decimal(cents).scaleb(-2)
        rows.append(f"d{n},p{who},{amount},{date}")
        cur = pay[who]
        rate = Decimal(1) if cur == "EUR" else rates[cur][date >= dt.date(2025, 2, 15)]
        want[f"p{who}"] = want.get(f"p{who}", Decimal(0)) + _half_up(amount * Decimal("0.04") * rate)
        booked[f"p{who}"] = booked.get(f"p{who}", Decimal(0)) + amount
    fx = ["date,from,to,rate", f"2025-01-01,EUR,USD,{rates['USD'][0]}", f"2025-02-15,EUR,USD,{rates['USD'][1]}",
          f"2025-01-01,EUR,GBP,{rates['GBP'][0]}", f"2025-02-15,EUR,GBP,{rates['GBP'][1]}"]
    plan = HEAD + ("component c = sum(round(fx(amount * 4%, payee.pay_currency, close_date), cent, half_up)"
                   " for deals where owner_id == payee.id and close_date in period)\n"
                   "component d = round(mine * 1%, cent, half_up)\n")  # the quarter's, at its last day's rate
    checked, tables = write_case(tmp, plan, {"people": people, "deals": rows, "fx_rates": fx})
    interp, columnar = both(checked, tables)
    assert interp == columnar
    for line in interp.splitlines()[1:]:
        payee, _, comp, amount, cur = line.split(",")
        assert cur == pay[int(payee[1:])]
        end_rate = Decimal(1) if pay[int(payee[1:])] == "EUR" else rates[pay[int(payee[1:])]][1]
        if comp == "c":
            assert Decimal(amount) == want.get(payee, Decimal(0))
        if comp == "d":
            assert Decimal(amount) == _half_up(booked.get(payee, Decimal(0)) * Decimal("0.01") * end_rate)


def test_explain_and_statement_name_the_payees_currency(cli):
    r = cli("explain", PLAN, "--data", DATA, "--payee", "bob")
    assert r.returncode == 0, r.stderr
    assert "commission = 2342.26 USD" in r.stdout and "row 4 of deals (b-1) -> 828.58 USD" in r.stdout
    assert "payee.pay_currency" not in r.stdout
    r = cli("statement", PLAN, "--data", DATA, "--payee", "bob", "--format", "text")
    assert r.returncode == 0, r.stderr
    assert "Earned this period: $2,842.26" in r.stdout
    assert not re.search(r"\d payee\.pay_currency|payee\.pay_currency\d", r.stdout)  # amounts: USD
