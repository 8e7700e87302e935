"""Statements in a currency of other minor digits than two (brief h-team items 1 and 2): the
yen has none. Amounts a KAM reads are to the yen; a table of rows credits exact values and
shows them rounded, so it says what they add up to exactly; the derivation keeps the digits
the English one shows in every locale (French rounded 0.50 JPY to `1 JPY`)."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_cli

JPY = Path(__file__).resolve().parent / "data" / "audit" / "jpy-fx"

PLAN = """plan "Yen halves"
currency JPY
period quarter
payees people
round components to unit half_up

input people key payee_id {
  payee_id: Text
  name: Text
}
input deals key deal_id {
  deal_id: Text
  owner_id: Text references people
  amount: Money[JPY]
  close_date: Date
}

component bonus = sum(amount * 5% for deals where owner_id == payee.id and close_date in period)
"""


def _plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


@pytest.fixture()
def halves(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "halves.kam").write_text(PLAN, encoding="utf-8")
    (tmp_path / "data" / "people.csv").write_text("payee_id,name\nt-1,Aiko\n", encoding="utf-8")
    (tmp_path / "data" / "deals.csv").write_text(
        "deal_id,owner_id,amount,close_date\nD1,t-1,10,2025-01-15\nD2,t-1,10,2025-02-01\nD3,t-1,10,2025-03-01\n",
        encoding="utf-8")
    return tmp_path


def _statement(plan, data, lang: str, fmt: str = "text", payee: str = "t-1") -> str:
    res = run_cli("statement", plan, "--data", data, "--payee", payee, "--format", fmt, "--locale", lang)
    assert res.returncode == 0, res.stderr
    return _plain(res.stdout)


def test_yen_halves_rows_say_their_exact_sum_and_the_rounded_one(halves):
    """Three deals of 10 JPY at 5%: 0.5 JPY each, 1.5 JPY in all, paid 2 JPY (half up). Each row
    shows ¥1 (half up): the table says the exact 1.5 JPY, the ¥2 shown and the ¥3 its rounded
    rows add up to; the derivation says 0.5 and 1.5, never a rounded 1 and 2."""
    en = _statement(halves / "halves.kam", halves / "data", "en")
    assert en.count("¥10  ¥1") == 3
    assert ("The credits are exact and shown rounded: they add up to 1.5 JPY, shown ¥2. "
            "The rounded credits shown add up to ¥3.") in en
    assert "bonus pays 2 JPY (rounded half_up from the exact 1.50)" in en
    assert "the sum over 3 rows of deals: 1.5 JPY" in en and en.count("(deals row 2): 0.5 JPY") == 1
    fr = _statement(halves / "halves.kam", halves / "data", "fr")
    assert ("Les crédits sont exacts et affichés arrondis : leur somme est 1,5 JPY, affichée 2 JPY. "
            "Les crédits arrondis affichés totalisent 3 JPY.") in fr
    assert "la somme sur 3 lignes de deals : 1,5 JPY" in fr and "D1 (deals ligne 2) : 0,5 JPY" in fr
    html = _statement(halves / "halves.kam", halves / "data", "en", "html")
    assert '<p class="note">The credits are exact and shown rounded: they add up to 1.5 JPY, shown ¥2.' in html


def test_fx_yen_rows_add_up_as_shown():
    """jpy-fx t-1 2025-Q1 (the case's hand note): 1000 x 157.2 x 3% = 4,716 and 333.33 x
    151.833333333333 x 3% = 1,518.31815 (shown ¥1,518); 6,234.31815 paid 6,234. The rounded
    rows (4,716 + 1,518 = 6,234) add up to the total shown: only the exact sum is said."""
    text = _statement(JPY / "jpy-fx.kam", JPY / "data", "en")
    assert "¥4,716" in text and "¥1,518" in text
    assert "they add up to 6,234.32 JPY, shown ¥6,234." in text and "The rounded credits shown" not in text
    assert "commission pays 6,234 JPY (rounded half_up from the exact 6234.3181499999966667)" in text
    assert "6,234.00" not in text


def test_rows_tables_have_no_empty_account_column_nor_the_date_twice():
    """pay-currency's deals have no account: the bookings table had an empty `account` column;
    the commission's `fx(amount * commission_rate, ..., close_date)` showed close_date again
    beside the row's date. bob: b-1 20,000.50 EUR x 4% = 800.02 EUR x 1.0357 = 828.58 USD."""
    from conftest import PLANS
    res = run_cli("statement", PLANS / "pay-currency.kam", "--data", PLANS / "tests" / "pay-currency" / "example",
                  "--payee", "bob", "--format", "md")
    assert res.returncode == 0, res.stderr
    # the conversion's columns (the row's currency, the rate and its date, the converted amount)
    assert "| date | row | amount | currency | FX rate | rate date | converted | credited |" in res.stdout
    assert "| January 15, 2025 | b-1 | €20,000.50 | EUR | 1.0357 | January 1, 2025 | $828.58 | $828.58 |" in res.stdout
    assert "| date | row | amount |\n|---|---|---:|\n| January 15, 2025 | b-1 | €20,000.50 |" in res.stdout
    assert "account" not in res.stdout and "close_date |" not in res.stdout


def test_a_yen_plan_that_pays_fractions_shows_them_as_run_prints_them(halves):
    """Without `round components to unit`, the bonus is 3 x 0.5 = 1.50 JPY, as `run` prints it.
    Two such components (the bonus twice) were shown ¥2 and ¥2 beside a total of ¥3: each is
    now 1.50, the total 3 (1.50 + 1.50), on the statement and the team page."""
    plan = halves / "halves.kam"
    text = plan.read_text(encoding="utf-8").replace("round components to unit half_up\n", "")
    plan.write_text(text + "\ncomponent again = sum(amount * 5% for deals where owner_id == payee.id"
                    " and close_date in period)\n", encoding="utf-8")
    run = run_cli("run", plan, "--data", halves / "data")
    assert "t-1,2025-Q1,bonus,1.50,JPY" in run.stdout and "t-1,2025-Q1,total,3.00,JPY" in run.stdout
    st = _statement(plan, halves / "data", "en")
    assert "  bonus  ¥1.50\n  again  ¥1.50\n  total     ¥3\n" in st and "Earned this period: ¥3" in st
    team = run_cli("team", plan, "--data", halves / "data", "--format", "text").stdout
    assert next(x for x in team.splitlines() if x.strip().startswith("t-1")).split()[-4:] == ["1.50", "1.50", "3", "3"]
