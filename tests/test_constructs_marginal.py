"""Marginal curves (issue 17 item 3): `curve NAME(x: Money) -> Money marginal { ... }`, each
row's rate applied to the slice of x inside its range; the checker proves the slices
contiguous from the first bound (KR306 gap, KR307 overlap or empty slice), each row a slice
with written bounds (KR305), the curve one Money/Number input returning its type (KR308);
both engines print the same bytes; amounts below are computed by hand."""
from __future__ import annotations

import pytest

pytest.importorskip("polars")

from constructs_helpers import amounts as _amounts, both, write_case  # noqa: E402
from conftest import run_cli  # noqa: E402
from kamrules.check.checker import check  # noqa: E402
from kamrules.diagnostics.source import SourceFile  # noqa: E402
from kamrules.syntax.fmt import format_text  # noqa: E402
from kamrules.syntax.parser import parse  # noqa: E402

HEAD = '''plan "t"
currency EUR
period quarter
payees people
input people key payee_id { payee_id: Text }
input deals { deal_id: Text  payee_id: Text  amount: Money  close_date: Date }
let bookings = sum(amount for deals where payee_id == payee.id and close_date in period)
'''
TIERS = '''curve tiers(x: Money) -> Money marginal {
  | 0 EUR to < 100000 EUR      | 5%  |
  | 100000 EUR to < 200000 EUR | 8%  |
  | >= 200000 EUR              | 12% |
}
component commission = tiers(bookings)
'''
PEOPLE = ["payee_id", "a", "b", "c", "d", "e", "f"]
DEALS = ["deal_id,payee_id,amount,close_date",
         "1,a,250000,2025-01-10",     # 100000 x 5% + 100000 x 8% + 50000 x 12% = 5000 + 8000 + 6000
         "2,b,100000,2025-01-10",     # exactly on the first bound: 100000 x 5% = 5000 (8% of nothing)
         "3,c,150000.50,2025-02-10",  # 5000 + 50000.50 x 8% = 5000 + 4000.04
         "4,d,-500,2025-03-01",       # below the first bound: no slice, 0
         "5,e,200000,2025-03-01",     # 5000 + 8000, on the last bound
         "6,f,33333.33,2025-03-01"]   # 33333.33 x 5% = 1666.6665 -> 1666.67 (the component's cent)


def test_each_rate_applies_to_its_slice_on_both_engines(tmp_path):
    checked, tables = write_case(tmp_path, HEAD + TIERS, {"people": PEOPLE, "deals": DEALS})
    want, got = both(checked, tables)
    assert got == want
    assert _amounts(want, "commission") == {"a": "19000.00", "b": "5000.00", "c": "9000.04", "d": "0.00",
                                            "e": "13000.00", "f": "1666.67"}


def test_a_closed_last_row_caps_and_number_inputs_work(tmp_path):
    plan = HEAD + '''curve capped(x: Number) -> Number marginal {
  | 0 to < 1000    | 10% |
  | 1000 to < 2000 | 20% |
}
component commission = money(capped(bookings / 100 EUR))
'''
    checked, tables = write_case(tmp_path, plan, {"people": PEOPLE, "deals": DEALS})
    want, got = both(checked, tables)
    assert got == want
    # a: 2500 -> 1000 x 10% + 1000 x 20% = 300 (nothing above 2000); c: 1500.005 -> 100 + 100.001
    assert _amounts(want, "commission")["a"] == "300.00"
    assert _amounts(want, "commission")["c"] == "200.00"
    assert _amounts(want, "commission")["f"] == "33.33"  # 333.3333 x 10%


def test_explain_shows_the_slices(tmp_path):
    checked, tables = write_case(tmp_path, HEAD + TIERS, {"people": PEOPLE, "deals": DEALS})
    r = run_cli("explain", tmp_path / "p.kam", "--data", tmp_path / "data", "--payee", "c")
    assert r.returncode == 0, r.stderr
    assert ("slices: row 1: 100000.00 EUR x 5% = 5000.00 EUR; row 2: 50000.50 EUR x 8% = 4000.04 EUR"
            in r.stdout)


def _errors(text):
    _, diags = check(parse(text, "t.kam"), SourceFile("t.kam", text))
    return [(d.code, d.message, d.span.line if d.span else None) for d in diags if d.is_error]


@pytest.mark.parametrize("old, new, code, line, words", [
    ("100000 EUR to < 200000 EUR", "120000 EUR to < 200000 EUR", "KR306", 10, "from 100000 to 120000"),
    ("100000 EUR to < 200000 EUR", "90000 EUR to < 200000 EUR", "KR307", 10, "from 90000 to 100000"),
    ("100000 EUR to < 200000 EUR", "100000 EUR to < 100000 EUR", "KR307", 10, "empty slice"),
    ("| >= 200000 EUR ", "| 200000 EUR to < 300000 EUR ", None, None, None),  # a cap: fine
    ("0 EUR to < 100000 EUR     ", ">= 0 EUR                  ", "KR305", 9, "row 1"),  # open row not last
    ("100000 EUR to < 200000 EUR", "100000 EUR to < bookings", "KR305", 10, "row 2"),  # computed bound
    ("| 8%  |", "| 800 EUR |", "KR308", 10, "rate of its slice"),
    ("-> Money marginal", "-> Rate marginal", "KR308", 8, "returns its input's type"),
    ("tiers(x: Money)", "tiers(x: Date)", "KR308", 8, "one Money or Number input"),
])
def test_the_checker_proves_the_slices(old, new, code, line, words):
    text = HEAD + TIERS
    assert old in text
    errors = _errors(text.replace(old, new))
    if code is None:
        assert errors == []
        return
    assert any(c == code and ln == line and words in m for c, m, ln in errors), errors


def test_marginal_round_trips_through_the_formatter():
    text = HEAD + TIERS.replace("-> Money marginal", "->   Money   marginal")
    again = format_text(text, "t.kam")
    assert "curve tiers(x: Money) -> Money marginal {" in again
    assert parse(again, "t.kam") == parse(text, "t.kam")
