"""Lints (KR501-KR507), `# noqa` and the [tool.kamrules] select/ignore lists.

Expected findings are worked out in each test from the plan text (which row, which value),
and the curve property compares the lint with a direct evaluation of the generated rows.
"""
from __future__ import annotations

import textwrap
from decimal import Decimal as D

import pytest
from hypothesis import given, settings, strategies as st

from conftest import examples, run_cli
from kamrules.check.checker import check
from kamrules.cli.config import Config, load_config
from kamrules.data.strict import load_data
from kamrules.diagnostics.diagnostic import CODES, KamError, Severity
from kamrules.check.lint import filter_findings, lint, lint_data, noqa_codes
from kamrules.syntax.parser import parse
from kamrules.diagnostics.source import SourceFile

HEADER = """plan "T"
currency EUR
period quarter
input people key payee_id {
  payee_id: Text
  annual_variable: Money
}
"""


def checked(body: str, header: str = HEADER):
    text = header + textwrap.dedent(body)
    plan = parse(text, "t.kam")
    result, diags = check(plan, SourceFile("t.kam", text))
    assert result is not None, [d.message for d in diags]
    return result


def findings(body: str, header: str = HEADER):
    plan = checked(body, header)
    out = lint(plan)
    assert all(d.severity is Severity.WARNING and d.code in CODES for d in out)
    return out


def codes(body: str, header: str = HEADER):
    return [d.code for d in findings(body, header)]


# ------------------------------------------------------------------ curves
def test_abtasty_curve_threshold_is_not_a_jump_but_a_real_step_is():
    body = """
    curve r(a: Rate) -> Rate {
      | < 80%          | 0%                       |
      | 80% to < 100%  | 50% + 2.5 * (a - 80%)    |
      | 100% to < 110% | 100% + 8 * (a - 100%)    |
      | >= 110%        | 180% + 0.4 * (a - 110%)  |
    }
    component c = payee.annual_variable / 4 * r(100%)
    """
    # 0% -> 50% at 80% is a threshold; 2.5 * 20% + 50% = 100% and 100% + 8 * 10% = 180%: continuous
    assert codes(body) == []
    stepped = body.replace("180% + 0.4", "170% + 0.4")
    found = findings(stepped)
    assert [d.code for d in found] == ["KR501"]  # 180% at the end of row 3, then 170%
    assert "drops from 180% to 170% at a = 110%" in found[0].message
    assert found[0].span.line == HEADER.count("\n") + 6


def test_curve_jump_up_names_both_values():
    found = findings("""
    curve r(a: Rate) -> Rate {
      | < 100%  | a          |
      | >= 100% | 120%       |
    }
    component c = payee.annual_variable / 4 * r(100%)
    """)
    assert [(d.code, d.message) for d in found] == [("KR502", "`r` jumps from 100% to 120% at a = 100%")]


def test_curve_negative_slope_and_params_folded():
    found = findings("""
    param top = 150%
    param slope = 2
    curve r(a: Rate) -> Rate {
      | < 100%  | 100% - slope * (a - 100%) |
      | >= 100% | top                       |
    }
    component c = payee.annual_variable / 4 * r(100%)
    """)
    # row 1 falls as a grows (slope -2); at 100% it is 100%, row 2 starts at 150%: a jump too
    assert sorted(d.code for d in found) == ["KR501", "KR502"]


def test_money_curves_and_tables():
    assert codes("""
    curve bonus(x: Money) -> Money {
      | < 1000 EUR  | 0 EUR |
      | >= 1000 EUR | 500 EUR - x / 10 |
    }
    component c = bonus(payee.annual_variable)
    """) == ["KR501"]
    # a `table` is a grid (a rate that falls with the discount is normal): never linted
    assert codes("""
    table colour(d: Rate) -> Rate {
      | < 5%  | 5% |
      | >= 5% | 1% |
    }
    component c = payee.annual_variable * colour(3%)
    """) == []


def test_unfoldable_outputs_are_skipped():
    assert codes("""
    curve r(a: Rate) -> Rate {
      | < 100%  | a * a |
      | >= 100% | 50%   |
    }
    component c = payee.annual_variable / 4 * r(100%)
    """) == []


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(st.tuples(st.integers(0, 150), st.integers(-3, 3)), min_size=2, max_size=4),
       st.integers(0, 1))
def test_curve_lint_matches_direct_evaluation(rows, zero_first):
    """Rows k cover [20k%, 20(k+1)%) (last open), output start_k% + slope_k * (a - lo_k)."""
    if zero_first:
        rows = [(0, 0)] + rows[1:]
    lines, values = [], []
    for k, (start, slope) in enumerate(rows):
        lo, hi = 20 * k, 20 * (k + 1)
        cell = f"{lo}% to < {hi}%" if k < len(rows) - 1 else f">= {lo}%"
        if k == 0:
            cell = f"< {hi}%"
            lo = 0  # the first row's output is anchored at 0%
        lines.append(f"  | {cell} | {start}% + {slope} * (a - {lo}%) |")
        values.append((D(start) / 100, D(slope), D(lo) / 100, D(hi) / 100))
    text = "curve r(a: Rate) -> Rate {\n" + "\n".join(lines) + "\n}\n" \
        "component c = payee.annual_variable * r(50%)\n"
    got = sorted(set(codes(text)))
    falls = any(slope < 0 for _, slope, _, _ in values)
    jumps = False
    for (s1, b1, lo1, hi1), (s2, b2, lo2, _) in zip(values, values[1:]):
        left, right = s1 + b1 * (hi1 - lo1), s2
        falls |= right < left
        jumps |= right > left and not (s1 == 0 and b1 == 0)
    want = ({"KR501"} if falls else set()) | ({"KR502"} if jumps else set())
    assert got == sorted(want)


# ------------------------------------------------------------------ unused
def test_unused_definitions_inputs_and_columns():
    found = findings("""
    input deals {
      owner_id: Text
      amount: Money
      region: Text
    }
    input spare {
      x: Text
    }
    param unused_rate = 5%
    curve unused_curve(a: Rate) -> Rate {
      | any | a |
    }
    let mine = sum(amount for deals where owner_id == payee.id)
    let helper = mine * 2
    let only_for_helper2 = helper
    component c = mine + payee.annual_variable / 4
    """)
    got = sorted(d.message for d in found if d.code == "KR503")
    assert got == sorted([
        "column `region` of `deals` is never used", "input `spare` is never used",
        "param `unused_rate` is never used", "curve `unused_curve` is never used",
        "let `helper` is never used", "let `only_for_helper2` is never used"])
    param = next(d for d in found if "unused_rate" in d.message)
    assert (param.span.column, param.span.end_column) == (7, 7 + len("unused_rate"))


def test_used_through_eligible_require_and_builtins_is_not_unused():
    assert codes("""
    input assignments {
      account_id: Text
      payee_id: Text
      role: Text
      start_date: Date
      end_date: optional Date
    }
    input deals {
      account_id: Text
      amount: Money
      close_date: Date
    }
    param floor = 0 EUR
    require every deals: amount >= floor
    let threshold = 1 EUR
    eligible when payee.annual_variable > threshold
    component c = sum(amount for deals where close_date in period
                                        and assignee(account_id, "kam", close_date) == payee.id)
    """) == []


# ------------------------------------------------------------------ money(), weights, measures
def test_bare_money_literal():
    found = findings("component c = payee.annual_variable / 4 + money(100)\n")
    assert [(d.code, d.hint) for d in found] == [("KR504", "write the amount with its currency: `100 EUR`")]


def test_weights():
    body = """
    param w1 = 70%
    param w2 = {w2}
    let q = payee.annual_variable / 4
    component a = w1 * q
    component b = (w2 * q) * 2
    """
    assert codes(body.format(w2="30%")) == []
    found = findings(body.format(w2="35%"))
    assert [d.code for d in found] == ["KR505"] and "add up to 105%" in found[0].message
    # a rate shared by components is not a weight; a component without a factor switches it off
    assert codes("""
    param rate = 10%
    let q = payee.annual_variable / 4
    component a = rate * q
    component b = rate * q / 2
    """) == []
    assert codes("""
    param w1 = 70%
    let q = payee.annual_variable / 4
    component a = w1 * q
    component b = q / 10
    """) == []


MEASURES = """
input deals {
  owner_id: Text
  kind: Text
  amount: Money
}
let mine = deals where owner_id == payee.id
let q = payee.annual_variable / 4
"""


@pytest.mark.parametrize("n", [1, 4, 5, 7])
def test_measures_counted_through_lets(n):
    lets = "".join(f'let m{k} = sum(amount for mine where kind == "k{k}")\nlet r{k} = m{k} / q\n'
                   for k in range(n))
    comp = "component c = q * (" + " + ".join(f"r{k}" for k in range(n)) + ")\n"
    found = findings(MEASURES + lets + comp)
    assert [d.code for d in found] == (["KR506"] if n > 4 else [])
    if n > 4:
        assert f"depend on {n} measures" in found[0].message
        assert ", ".join(f"r{k}" for k in range(n)) in found[0].message


# ------------------------------------------------------------------ suppression and config
def test_noqa_parsing():
    assert noqa_codes("param x = 1  # noqa") == "all"
    assert noqa_codes("param x = 1  # noqa: KR503") == {"KR503"}
    assert noqa_codes("param x = 1  # NOQA:kr501, KR502") == {"KR501", "KR502"}
    assert noqa_codes("param x = 1  # a comment") is None


def test_filter_keeps_errors_and_applies_noqa_select_ignore():
    plan = checked("""
    param a = 5%  # noqa: KR503
    param b = 5%  # noqa: KR501
    param c = 5%
    component x = payee.annual_variable / 4
    """)
    diags = lint(plan)
    kept = filter_findings(diags, plan.source)
    assert sorted(d.message for d in kept) == ["param `b` is never used", "param `c` is never used"]
    assert filter_findings(diags, plan.source, ignore=("KR5",)) == []
    assert filter_findings(diags, plan.source, select=("KR501",)) == []
    assert len(filter_findings(diags, plan.source, select=("KR503",))) == 2
    from kamrules.diagnostics.diagnostic import Diagnostic
    err = Diagnostic("KR101", "x", plan.definitions["a"].span)
    assert filter_findings([err], plan.source, select=("KR999",), ignore=("KR1",)) == [err]


def test_config_found_by_walking_up(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.kamrules]\nignore = ["kr503"]\nselect = ["KR5"]\n')
    (tmp_path / "plans" / "sub").mkdir(parents=True)
    plan = tmp_path / "plans" / "sub" / "p.kam"
    plan.write_text(HEADER + "param spare = 1%\ncomponent c = payee.annual_variable / 4\n")
    assert load_config(str(plan)) == Config(("KR5",), ("KR503",), str(tmp_path / "pyproject.toml"))
    res = run_cli("check", plan)
    assert res.returncode == 0 and "KR503" not in res.stderr
    (tmp_path / "plans" / "pyproject.toml").write_text("[project]\nname = 'x'\n")  # no table: skipped
    assert load_config(str(plan)).ignore == ("KR503",)
    (tmp_path / "pyproject.toml").write_text('[tool.kamrules]\nignore = "KR503"\n')
    with pytest.raises(KamError) as err:
        load_config(str(plan))
    assert err.value.diagnostics[0].code == "KR002"
    res = run_cli("check", plan)
    assert res.returncode == 1 and "KR002" in res.stderr and "Traceback" not in res.stderr


# ------------------------------------------------------------------ data lint
PACKAGE = HEADER.replace("  annual_variable: Money\n", "  annual_fixed: Money\n  annual_variable: Money\n")


def test_variable_share_needs_data(tmp_path):
    plan = checked("component c = payee.annual_variable / 4\n", PACKAGE)
    (tmp_path / "people.csv").write_text(
        "payee_id,annual_fixed,annual_variable\n"
        "kam-001,60000,40000\n"     # 40%: fine
        "kam-002,40000,60000\n"     # 60%: too much variable
        "kam-003,95000,5000\n"      # 5%: too little
        "kam-004,90000,10000\n"     # exactly 10%: fine
        "kam-005,50000,50000\n")    # exactly 50%: fine
    assert lint(plan) == []  # annual_fixed is read by the data lint, not reported unused
    found = lint_data(plan, load_data(plan, str(tmp_path)))
    assert [d.code for d in found] == ["KR507", "KR507"]
    assert "`kam-002`" in found[0].message and "60%" in found[0].message
    assert "`kam-003`" in found[1].message and "5%" in found[1].message
    assert all("60000" not in d.message and "40000" not in d.message for d in found)
    # without annual_fixed the lint has nothing to say
    plain = checked("component c = payee.annual_variable / 4\n")
    assert lint_data(plain, {}) == []


def test_check_with_data_cli(tmp_path):
    plan = tmp_path / "p.kam"
    plan.write_text(PACKAGE + "component c = payee.annual_variable / 4\n")
    (tmp_path / "people.csv").write_text("payee_id,annual_fixed,annual_variable\nkam-1,40000,60000\n")
    res = run_cli("check", plan, "--data", tmp_path)
    assert res.returncode == 0 and "KR507" in res.stderr and "60000" not in res.stderr
    assert run_cli("check", plan, "--data", tmp_path, "--strict").returncode == 1
    res = run_cli("check", plan)
    assert res.returncode == 0 and "KR507" not in res.stderr
    (tmp_path / "people.csv").write_text("payee_id,annual_fixed\nkam-1,40000\n")
    res = run_cli("check", plan, "--data", tmp_path)
    assert res.returncode == 1 and "KR402" in res.stderr and "Traceback" not in res.stderr
