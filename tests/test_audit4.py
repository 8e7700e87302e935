"""The fourth outside audit (issue 14: every engine and every command prints the amounts `run`
prints; every user error is a clear message). Seven plans of tests/data/audit4/ on combinations the
earlier audits did not cover, each with small data and a hand-computed expected.csv (the
arithmetic in its `note` column), run on every engine; then each finding of
tests/data/audit4/FINDINGS.md kept fixed, through the command line (in-process)."""
from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pytest

from conftest import run_cli

AUDIT4 = Path(__file__).resolve().parent / "data" / "audit4"
PLANS = ["ytd-cap-advance", "decel-gate", "override-prorate", "split-clawback", "pool-ties", "fx-booster",
         "ytd-marginal-kicker"]
# the SQL backend refuses these plans up front (KR440, a documented limit), naming the construct
SQL_REFUSES = {"ytd-cap-advance": "period other than the calculation period", "decel-gate": "avg()",
               "split-clawback": "days()", "ytd-marginal-kicker": "period other than the calculation period"}


def _plan(name: str) -> Path:
    return AUDIT4 / name / "plan.kam"


def _data(name: str) -> Path:
    return AUDIT4 / name / "data"


def _expected(name: str) -> dict:
    with open(AUDIT4 / name / "tests" / "plan" / "hand" / "expected.csv", encoding="utf-8") as f:
        return {(r["payee_id"], r["period"], r["component"]): r["amount"] for r in csv.DictReader(f)}


def _amounts(stdout: str) -> dict:
    return {(r["payee_id"], r["period"], r["component"]): r["amount"] for r in csv.DictReader(io.StringIO(stdout))}


def _run(name: str, *args, data=None):
    return run_cli("run", _plan(name), "--data", data or _data(name), *args)


# ---------------------------------------------------------------- the six plans, on every engine
@pytest.mark.parametrize("name", PLANS)
def test_every_engine_prints_the_hand_computed_amounts(name):
    """The interpreter prints every amount of expected.csv (and zeros elsewhere); the columnar
    engine the same bytes; the SQL backend (duckdb) the same bytes or a KR440 refusal naming
    what it does not run (never other amounts)."""
    ref = _run(name, "--engine", "interpreter", "-q")
    assert ref.returncode == 0, ref.stderr
    got, want = _amounts(ref.stdout), _expected(name)
    assert {k: got.get(k) for k in want} == want
    assert all(v == "0.00" for k, v in got.items() if k not in want and k[2] != "total")
    assert _run(name, "--engine", "columnar", "-q").stdout == ref.stdout
    sql = _run(name, "--engine", "duckdb", "-q")
    if name in SQL_REFUSES:
        assert sql.returncode == 1 and sql.stdout == "" and "error[KR440]" in sql.stderr
        assert SQL_REFUSES[name] in sql.stderr
    else:
        assert sql.returncode == 0, sql.stderr
        assert sql.stdout == ref.stdout


def test_kamrules_test_passes_the_seven_hand_cases():
    res = run_cli("test", *[_plan(n) for n in PLANS])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "7 passed" in res.stdout


@pytest.mark.parametrize("name, payee", [("ytd-cap-advance", "a-1"), ("override-prorate", "m1"),
                                         ("split-clawback", "a1"), ("fx-booster", "f1"), ("ytd-marginal-kicker", "ae-1")])
def test_explain_and_statement_print_the_amounts_of_run(name, payee):
    """Every component line of `explain --payee` and of the statement's table (text) is the
    amount `run` prints (a-1: the capped true-up -100.00 of 2025-09; m1: the override 170.00;
    a1: the clawback -6,000.00; f1: the March booster 48.94; ae-1: the reversal -360.00)."""
    run = {k: v for k, v in _amounts(_run(name, "-q").stdout).items() if k[0] == payee}
    out = run_cli("explain", _plan(name), "--data", _data(name), "--payee", payee).stdout
    explained, period = {}, None
    for line in out.splitlines():
        m = re.match(r"^(\S+) (\S+): total (\S+) EUR", line)
        if m:
            period = m.group(2)
            explained[(payee, period, "total")] = m.group(3)
        m = re.match(r"^  (\w+) = (\S+) EUR", line)
        if m:
            explained[(payee, period, m.group(1))] = m.group(2)
    assert explained == run
    text = run_cli("statement", _plan(name), "--data", _data(name), "--payee", payee, "--format", "text").stdout
    stated, period = {}, None
    for line in text.splitlines():
        m = re.match(r"^(\S+) \(.*\): (\S+)$", line)
        if m:
            period = m.group(1)
        m = re.match(r"^  (\w+)\s+(-?)€([\d,]+\.\d\d)$", line)
        if m and period:
            stated[(payee, period, m.group(1))] = m.group(2) + m.group(3).replace(",", "")
    # the statement leaves out a component at zero in a period; every line it prints is run's
    assert stated and all(run[k] == v for k, v in stated.items()), (stated, run)
    assert {k for k, v in run.items() if v != "0.00"} <= set(stated)


def test_fmt_is_idempotent_and_keeps_the_meaning(tmp_path):
    """fmt of each plan is the plan (they are kept canonical), and a plan reformatted from a
    squeezed layout runs to the same bytes."""
    res = run_cli("fmt", "--check", *[_plan(n) for n in PLANS])
    assert res.returncode == 0, res.stdout + res.stderr
    for name in ("override-prorate", "split-clawback"):  # no comment inside a statement
        squeezed = tmp_path / f"{name}.kam"
        squeezed.write_text(re.sub(r"\n +", " ", _plan(name).read_text(encoding="utf-8")), encoding="utf-8")
        assert run_cli("fmt", squeezed).returncode == 0
        assert run_cli("fmt", "--check", squeezed).returncode == 0  # idempotent
        assert run_cli("run", squeezed, "--data", _data(name), "-q").stdout == _run(name, "-q").stdout


# ---------------------------------------------------------------- findings, each fixed
def _variant(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = _plan(name).read_text(encoding="utf-8")
    assert old in text
    out = tmp_path / "plan.kam"
    out.write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


def _data_copy(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(_data(name), folder)
    return folder


def _refused(res, *needles):
    assert res.returncode == 1 and res.stdout == "" and "Traceback" not in res.stderr
    for n in needles:
        assert n in res.stderr, res.stderr
    return res.stderr


@pytest.mark.parametrize("old, new, where, hint", [
    ("currency EUR", "currency EUE", "plan.kam:5:1:", "did you mean `EUR`?"),
    ("currency EUR", "currency XYZ", "plan.kam:5:1:", "three-letter code in capitals"),
    ("param booster_rate = 2%", "param booster_rate = 2% + 0 EUE / 1 EUR", "plan.kam:32:27:", "did you mean `EUR`?"),
    ("amount: Money[GBP]", "amount: Money[GPB]", "plan.kam:21:11:", "did you mean `GBP`?"),
    ('fx(amount, "EUR", close_date) for uk', 'fx(amount, "ERU", close_date) for uk', "plan.kam:38:18:", "did you mean `EUR`?"),
])
def test_a_currency_that_is_not_iso_4217_is_refused(tmp_path, old, new, where, hint):
    """F1: `currency EUE` (a typo) ran and paid every amount in "EUE", exit 0. Every fixed code
    the plan writes is an ISO 4217 code (KR002, did-you-mean)."""
    plan = _variant(tmp_path, "fx-booster", old, new)
    err = _refused(run_cli("check", plan), f"{where} error[KR002]", "is not an ISO 4217 currency code", hint)
    assert "error[KR002]" in err.split("\n")[0]  # first (amounts then in two currencies may follow: KR202)


def test_syntax_slips_get_their_own_message(tmp_path):
    """F2: `currency eur` said "unexpected `period`; expected `.`" on the next line; an
    unclosed string said "unexpected character '\"'; expected a string"; `8 EURO` had no hint."""
    plan = _variant(tmp_path, "split-clawback", "currency EUR", "currency eur")
    _refused(run_cli("check", plan), "plan.kam:6:10: error[KR001]: `currency eur`: a currency code is written "
             "in capitals", "write `currency EUR`")
    plan = _variant(tmp_path, "split-clawback", 'else "a split line is for an ae or an se"', 'else "unclosed')
    _refused(run_cli("check", plan), "error[KR001]: this string is never closed", 'end it with `"`')
    plan = _variant(tmp_path, "split-clawback", "param ae_rate = 8%", "param ae_rate = 8 EURO")
    _refused(run_cli("check", plan), "error[KR001]", "a currency is its ISO 4217 code, three capital letters")


def test_a_typo_in_the_rows_of_a_for_is_one_error(tmp_path):
    """F3: `for sld` (for `sold`) also reported `deal_id`, `share` and `role` as undefined, with
    the hints "did you mean `deals`?" and "`people`?": one typo, four errors, three wrong."""
    plan = _variant(tmp_path, "split-clawback", "half_up) for sold)", "half_up) for sld)")
    err = _refused(run_cli("check", plan), "error[KR101]: undefined name `sld`", "did you mean `sold`?")
    assert err.count("error[") == 1


@pytest.mark.parametrize("engine", ["interpreter", "columnar"])
def test_an_unclosed_quote_is_reported_where_it_opens(tmp_path, engine):
    """F4: `x4,p3,"20000.00,0.25,2025-03-15` (row 5) was reported at the end of the file (row 9,
    "unexpected end of data"): now at row 5, cell 3, column 7 where the quote opens."""
    data = _data_copy(tmp_path, "decel-gate")
    deals = data / "deals.csv"
    deals.write_text(deals.read_text().replace("x4,p3,20000.00,", 'x4,p3,"20000.00,'))
    _refused(_run("decel-gate", "--engine", engine, data=data),
             "deals.csv:5:7: error[KR403]", "the quote that opens cell 3 of row 5 is never closed",
             'close the quote at the end of its cell')
    deals.write_text('deal_id,"owner_id,amount,margin,close_date\nx1,p1,1.00,0.2,2025-01-01\n')  # in the header
    _refused(_run("decel-gate", "--engine", engine, data=data), "deals.csv:1:9: error[KR403]",
             "the quote that opens cell 2 of row 1 is never closed")


@pytest.mark.parametrize("sep, word, declare", [(";", "`;`", '";"'), ("\t", "tabs", '"tab"')])
def test_a_file_separated_by_another_character_is_one_error_with_the_dialect_to_declare(tmp_path, sep, word,
                                                                                       declare):
    """F5: a deals.csv exported with `;` gave five KR402 "has no column" (one per declared column)
    whose hint listed the header as one name. Now one KR402 with `with delimiter` to declare."""
    data = _data_copy(tmp_path, "decel-gate")
    deals = data / "deals.csv"
    deals.write_text(deals.read_text().replace(",", sep))
    err = _refused(_run("decel-gate", data=data), "deals.csv:1:1: error[KR402]",
                   f"the file looks separated by {word}", f"input deals with delimiter {declare}")
    assert err.count("error[") == 1


@pytest.mark.parametrize("file, old, new, hint", [
    ("deals.csv", "x3,p2,80000.00,", "x3,p2,80000.005,", "an amount in EUR has at most 2 decimal places"),
    ("targets.csv", "p2,2025-Q1,", "p2,Q1-2025,", "fix the cell in the export: a quarter 2025-Q1, a month 2025-03"),
])
def test_every_refused_cell_has_a_hint(tmp_path, file, old, new, hint):
    """F6: three decimals on a EUR amount and a period written `Q1-2025` were refused with no
    hint (the other refusals had one)."""
    data = _data_copy(tmp_path, "decel-gate")
    path = data / file
    path.write_text(path.read_text().replace(old, new))
    _refused(_run("decel-gate", data=data), "error[KR403]", f"hint: {hint}")


def test_nothing_to_compute_says_where(tmp_path):
    """F7: with no dated row (deals.csv and splits.csv a header only) the run said "error[KR405]:
    the data places no row in any period" with no file, line or column. Now at the filter that
    places rows; a plan with no placing filter at all, at its `period` line."""
    data = _data_copy(tmp_path, "split-clawback")
    for name in ("deals.csv", "splits.csv"):
        (data / name).write_text((data / name).read_text().split("\n", 1)[0] + "\n")
    _refused(_run("split-clawback", data=data), "plan.kam:42:", "error[KR405]", "no row of `deals`")
    plan = tmp_path / "bare.kam"
    plan.write_text('plan "x"\ncurrency EUR\nperiod quarter\ninput people key payee_id { payee_id: Text }\n'
                    "component c = 1 EUR\n", encoding="utf-8")
    _refused(run_cli("run", plan, "--data", data), "bare.kam:3:1: error[KR405]",
             "no filter of the plan places rows in periods")


def test_an_empty_payee_cell_in_a_calculation_names_its_row(tmp_path):
    """F8: `let cap = payee.annual_cap` with b-2's cap blank: "an empty value is used in a
    calculation [payee b-2, period 2025-03]", not saying which cell. Now the let, the column and
    the row of people.csv (b-2 is its row 3), on both engines."""
    plan = _variant(tmp_path, "ytd-cap-advance", "let cap = default(payee.annual_cap, default_cap)",
                    "let cap = payee.annual_cap")
    for engine in ("interpreter", "columnar"):
        _refused(run_cli("run", plan, "--data", _data("ytd-cap-advance"), "--engine", engine),
                 "error[KR406]", "`cap` is `payee.annual_cap`, which is empty for payee b-2 (row 3 of people)")


def test_a_commission_and_a_booster_are_not_weights():
    """F9: fx-booster warned "KR505 component weights add up to 7%, not 100%: commission_rate 5%
    + booster_rate 2%": rates on bookings summed from rows are commissions, not weights."""
    res = run_cli("check", _plan("fx-booster"))
    assert res.returncode == 0 and "KR505" not in res.stderr


def test_fmt_breaks_a_long_if_before_then_and_else(tmp_path):
    """F10: a 103-character `if ... then ... else 0 EUR` was broken inside the call of its
    then-branch (`payout_rate(` / `attainment) else 0 EUR`). Now before `else`."""
    plan = tmp_path / "p.kam"
    text = _plan("decel-gate").read_text(encoding="utf-8")
    plan.write_text(text.replace("payout_rate(attainment)\n  else 0 EUR", "payout_rate(attainment) else 0 EUR"),
                    encoding="utf-8")
    assert run_cli("fmt", plan).returncode == 0
    assert plan.read_text(encoding="utf-8") == text


def test_a_broken_require_rule_shows_the_values_compared(tmp_path):
    """F11: "deals d3 (row 4 ...): the split lines of a deal total 100%" for lines totalling
    66.67% + 33.32% = 99.99%, and "a split line is for an ae or an se" without the role read.
    Now the values of the rule's sides that are not constants, on that row."""
    data = _data_copy(tmp_path, "split-clawback")
    splits = data / "splits.csv"
    splits.write_text(splits.read_text().replace("d3,s1,se,0.3333", "d3,s1,se,0.3332")
                      .replace("d1,s1,se,30%", "d1,s1,xx,30%"))
    for engine in ("interpreter", "columnar"):
        err = _refused(_run("split-clawback", "--engine", engine, data=data),
                       "the split lines of a deal total 100% (`sum(share for splits where splits.deal_id == "
                       "deals.deal_id)` is 99.99%)", "a split line is for an ae or an se (`role` is xx)",
                       "a split line's role is its payee's role (`people[payee_id].role` is se, `role` is xx)")
        assert err.count("error[KR410]") == 3


def test_a_missing_fx_rate_names_the_row_converted(tmp_path):
    """F12: a USD deal of 31 Dec 2024, before the first rate (1 Jan 2025): "no fx rate USD->EUR on
    or before 2024-12-31 [payee f1, period 2024-12]". Now with the row (u9, row 5 of us_deals)."""
    data = _data_copy(tmp_path, "fx-booster")
    with open(data / "us_deals.csv", "a", encoding="utf-8") as f:
        f.write("u9,f1,10.00,2024-12-31\n")
    for engine in ("interpreter", "columnar"):
        _refused(_run("fx-booster", "--engine", engine, data=data), "error[KR405]: no fx rate USD->EUR on or before "
                 "2024-12-31 (row 5 of ", "us_deals.csv, u9)")


def test_share_inside_a_row_filter_is_refused_as_documented(tmp_path):
    """F13: `deals where ... and share(1 EUR, 1) > 0 EUR` passed `check`; the interpreter ran it
    and the columnar engine refused it (KR002 "does not run this plan"). The docs say KR206, as for
    team_total; now so."""
    plan = _variant(tmp_path, "decel-gate", "let won = deals where owner_id == payee.id and close_date in period",
                    "let won = deals where owner_id == payee.id and close_date in period and share(1 EUR, 1) > 0 EUR")
    _refused(run_cli("check", plan), "error[KR206]: share() pools payees; it cannot read a row")


def test_a_cell_of_the_wrong_unit_is_one_error(tmp_path):
    """F14: a curve cell `< 50 EUR` on a Rate input gave KR204 and a false KR302 "rows 1 and 2
    both match a = 50%" (the money bound read as 50)."""
    plan = _variant(tmp_path, "decel-gate", "| < 50%         | 0.5 * a               |", "| < 50 EUR | 0.5 * a |")
    err = _refused(run_cli("check", plan), "error[KR204]: cell of `a`: cannot compare Rate with Money[EUR]")
    assert err.count("error[") == 1


def test_engines_agree_on_a_broken_reference_read_by_a_rule(tmp_path):
    """F15 (found by corrupting cells at random): a split line whose payee_id is no payee stopped the
    interpreter on the `require` rule that looks it up (KR405 "no row of `people` ...") and the
    columnar engine on the reference (KR409). Both now report the reference first."""
    data = _data_copy(tmp_path, "split-clawback")
    splits = data / "splits.csv"
    splits.write_text(splits.read_text().replace("d1,s1,se,30%", "d1,zz,se,30%"))
    errs = {e: _refused(_run("split-clawback", "--engine", e, data=data)).split("\n")[0]
            for e in ("interpreter", "columnar")}
    assert errs["interpreter"] == errs["columnar"] and "splits.csv:3:2: error[KR409]" in errs["columnar"]


def test_a_far_date_is_placed_at_its_filter(tmp_path):
    """F16: a close date 0001-01-01: KR418 (24,291 months to compute) had no place; now the plan's
    filter that places that column."""
    data = _data_copy(tmp_path, "fx-booster")
    deals = data / "us_deals.csv"
    deals.write_text(deals.read_text().replace("u1,f1,1000.00,2025-02-28", "u1,f1,1000.00,0001-01-01"))
    _refused(_run("fx-booster", data=data), "plan.kam:36:38: error[KR418]", "us_deals.close_date from 0001-01-01")


def test_kamrules_test_on_a_missing_path_says_what_it_takes(tmp_path):
    """F17: `kamrules test nope.kam`: KR401 "does not exist" with no hint."""
    res = run_cli("test", tmp_path / "nope.kam")
    assert res.returncode == 1 and "error[KR401]" in res.stderr
    assert "hint: give a plan (.kam), a case folder" in res.stderr


def test_a_statement_of_a_payee_with_a_blank_pool_weight():
    """F18: pool-ties p-05 has a blank weight (takes no part: 0.00). `statement --payee p-05`
    stopped with a TypeError traceback (L.number(None) in component_sentence)."""
    res = run_cli("statement", _plan("pool-ties"), "--data", _data("pool-ties"), "--payee", "p-05",
                  "--format", "text")
    assert res.returncode == 0 and "pool_share" in res.stdout
    assert ("pool_share pays €0.00; no share of the pool company_pool (€1,000.00): weight empty\n"
            "    your weight in the pool is empty or 0: a share goes only to a weight above 0") in res.stdout
    # F26: p-04's weight is 0: said so, not "the rows credited add up to a result that pays nothing"
    res = run_cli("statement", _plan("pool-ties"), "--data", _data("pool-ties"), "--payee", "p-04",
                  "--format", "text", "--locale", "fr")
    assert res.returncode == 0, res.stderr
    assert "aucune part du pool company_pool (1\u202f000,00\u00a0€) : poids 0" in res.stdout
    assert "votre poids dans le pool est vide ou nul" in res.stdout


def test_explain_says_why_a_payee_is_not_eligible():
    """F27: decel-gate p4 has no target row, so `eligible when exists(targets ...)` is false in
    every quarter. `run --payee p4` says "no payout ... (`kamrules explain ... --payee ID --period
    P` says why)", but explain stops with KR405 "no payout for payee p4 in these periods" (exit 1)
    instead of saying why."""
    res = run_cli("explain", _plan("decel-gate"), "--data", _data("decel-gate"), "--payee", "p4", "--period", "2025-Q1")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "p4 2025-Q1: no payout: not eligible (the plan's `eligible when` is false)"
    assert lines[1] == "  eligible = false  [line 29]"
    assert "eligible when exists(targets where payee_id == payee.id" in lines[2]
    # a payee who is eligible and paid is explained as before; one eligible with nothing to pay
    # (no component applies) is still KR405
    res = run_cli("explain", _plan("decel-gate"), "--data", _data("decel-gate"), "--payee", "p4", "--period", "2025-Q1",
                  "--format", "json")
    import json
    assert [(x["period"], x["eligible"]) for x in json.loads(res.stdout)] == [("2025-Q1", False)]
