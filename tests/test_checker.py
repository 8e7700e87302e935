"""The checker: every mistake the language-core issue lists is caught before any data is read,
with file:line:col, the source line and a caret, a code and a 'did you mean' where one exists;
all errors of a file come out in one run."""
from __future__ import annotations

import textwrap

import pytest

from kamrules.check.checker import check
from kamrules.diagnostics.render import render_text
from kamrules.syntax.parser import parse
from kamrules.diagnostics.source import SourceFile

from conftest import run_cli

HEADER = """\
plan "Test"
currency EUR
period quarter
payees people
input people key payee_id { payee_id: Text  annual_variable: Money  hired: Date }
input deals key deal_id { deal_id: Text  amount: Money[USD]  close_date: Date  owner_id: Text }
"""


def diagnose(body: str):
    text = HEADER + textwrap.dedent(body)
    checked, diags = check(parse(text, "t.kam"), SourceFile("t.kam", text))
    return checked, diags, text


def only_error(body: str):
    checked, diags, text = diagnose(body)
    errors = [d for d in diags if d.is_error]
    assert checked is None and len(errors) == 1, [d.message for d in diags]
    return errors[0], text


@pytest.mark.parametrize("body, code, words", [
    ("let x = payee.annual_variable + sum(amount for deals)", "KR202", "Money[EUR] and Money[USD]"),
    ("let x = payee.annual_variable * payee.annual_variable", "KR203", "cannot multiply"),
    ("let x = payee.hired + payee.annual_variable", "KR201", "cannot add Date and Money[EUR]"),
    ("let x = quarterly_variable", "KR101", "undefined name `quarterly_variable`"),
    ("let x = round(1.5, cent)", "KR103", "round() takes 3 argument(s), got 2"),
    ("let x = payee.annual_variable > 0", "KR204", "cannot compare Money[EUR] with Number"),
    ("let x = payee.anual_variable", "KR104", "no column `anual_variable`"),
    ("let x = 1\nlet x = 2", "KR003", "defined twice"),
    ("let x: Money = 5%", "KR201", "declared Money[EUR]"),
    ("component c = 5%", "KR201", "must be an amount of money"),
    ("let x = if true then 1 EUR else 2%", "KR201", "two arms"),
    ("let x = count(deals where amount)", "KR205", "true or false"),
    ("let x = period.month", "KR201", "no single month"),
    ("let x = round(1, cent, half_upp)", "KR206", "not a rounding mode"),
])
def test_check_error(body, code, words):
    err, _ = only_error(body)
    assert err.code == code
    assert words in err.message


def test_location_caret_and_did_you_mean():
    err, text = only_error("let quarterly_variable = payee.annual_variable / 4\n"
                           "component c = quarterly_variabel")
    assert (err.span.line, err.span.column) == (8, 15)
    rendered = render_text(err, {"t.kam": SourceFile("t.kam", text)})
    lines = rendered.splitlines()
    assert lines[0] == "t.kam:8:15: error[KR101]: undefined name `quarterly_variabel`"
    assert lines[1].endswith("component c = quarterly_variabel")
    caret = lines[2]
    assert caret.strip() == "^" * len("quarterly_variabel")
    assert caret.index("^") == lines[1].index("quarterly_variabel")
    assert "did you mean `quarterly_variable`?" in rendered


def test_cycle_names_every_definition():
    err, _ = only_error("let a = b + 1\nlet b = c * 2\nlet c = a")
    assert err.code == "KR102"
    assert "a -> b -> c -> a" in err.message
    assert len(err.related) == 2


def test_all_errors_reported_in_one_run():
    _, diags, _ = diagnose("let a = nope\nlet b = payee.hired + 1 EUR\nlet c = round(1)\n")
    assert [d.code for d in diags] == ["KR101", "KR201", "KR103"]
    assert [d.span.line for d in diags] == [7, 8, 9]


def test_decision_table_gap_and_overlap_name_the_values():
    _, diags, _ = diagnose("""
        curve r(a: Rate) -> Rate {
          | < 80%         | 0%   |
          | 90% to < 100% | 50%  |
          | >= 95%        | 100% |
        }
    """)
    codes = {d.code: d for d in diags}
    assert "KR301" in codes and "a = 80%" in codes["KR301"].message
    assert "KR302" in codes and "rows 2 and 3" in codes["KR302"].message


def test_unreachable_row_with_hit_first():
    _, diags, _ = diagnose("""
        table t(a: Rate) -> Rate hit first {
          | any    | 1% |
          | >= 10% | 2% |
        }
    """)
    assert [d.code for d in diags] == ["KR303"]


def test_clean_plan_has_no_diagnostics():
    checked, diags, _ = diagnose("""
        let usd = sum(amount for deals where owner_id == payee.id and close_date in period)
        component c = payee.annual_variable / 4 * min(usd / 100000 USD, 150%)
    """)
    assert diags == [] and checked is not None
    assert checked.components == ["c"]


def test_cli_check_exit_codes(tmp_path):
    good = tmp_path / "good.kam"
    good.write_text(HEADER + "component c = payee.annual_variable / 4\n")
    bad = tmp_path / "bad.kam"
    bad.write_text(HEADER + "component c = payee.annual_variabl\n")
    assert run_cli("check", good).returncode == 0
    res = run_cli("check", bad)
    assert res.returncode == 1 and "KR104" in res.stderr and "Traceback" not in res.stderr
    assert run_cli("check").returncode == 2


@pytest.mark.parametrize("body, code, words", [
    ('let x = money(sum(amount for deals), "EUR")', "KR202", "cannot relabel Money[USD] as EUR"),
    ("let x = round(5%, 0.05 EUR, half_up)", "KR201", "cannot round Rate to a step of Money[EUR]"),
    ("let where = 1", "KR003", "word of the language"),
])
def test_more_check_errors(body, code, words):
    err, _ = only_error(body)
    assert err.code == code and words in err.message


def test_collect_sum_tables_have_no_gaps():
    _, diags, _ = diagnose("""
        table bonus(a: Rate) -> Money hit collect_sum {
          | >= 100% | 500 EUR |
          | >= 120% | 300 EUR |
        }
    """)
    assert diags == []
