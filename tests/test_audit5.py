"""The fifth outside audit (issue 14: one semantics). Ten plans of tests/data/audit5/ on what
the earlier audits did not combine (a fiscal year from October, months paid per quarter, JPY
and GBP to EUR, pools by prorated presence, min/max/avg/one(rows), 19-digit amounts through
every rounding mode, yearly marginal tiers, holds with a true-up, a French export paid in
CHF, a text table with `!=`), each with a hand-computed expected.csv (the arithmetic in its `note` column), run on
every engine and every command; then each finding of tests/data/audit5/FINDINGS.md kept
fixed, through the command line (in-process)."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from audit_cases import Case, payout_amounts
from conftest import run_cli

AUDIT5 = Path(__file__).resolve().parent / "data" / "audit5"
PLANS = ["fiscal-oct-tiers", "clawback-quarterly-pay", "fx-four-currencies", "team-pool-prorate", "deal-stats",
         "big-rounding", "yearly-marginal-kicker", "draw-hold-trueup", "french-paycurrency", "kitchen-sink"]
# the SQL backend refuses these plans up front (KR440, a documented limit), naming the construct
SQL_REFUSES = {"fiscal-oct-tiers": "a period other than the calculation period", "clawback-quarterly-pay": "days()",
               "deal-stats": "max() over rows", "yearly-marginal-kicker": "hit marginal",
               "french-paycurrency": "a period other than the calculation period",
               "kitchen-sink": "the attribute .label"}


def _plan(name: str) -> Path:
    return Case(AUDIT5, name).plan


def _data(name: str) -> Path:
    return Case(AUDIT5, name).data


def _run(name: str, *args, data=None):
    return Case(AUDIT5, name).run(*args, data=data)


def _copy(tmp_path: Path, name: str, **files) -> Path:
    """The plan's data folder in tmp_path, with files replaced: name=text (`.` for `_` kept)."""
    folder = tmp_path / name
    folder.mkdir()
    for f in _data(name).iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    for fname, text in files.items():
        (folder / f"{fname}.csv").write_text(text, encoding="utf-8")
    return folder


# ---------------------------------------------------------------- the ten plans, on every engine
@pytest.mark.parametrize("name", PLANS)
def test_every_engine_prints_the_hand_computed_amounts(name):
    """The interpreter prints every amount of expected.csv (and 0.00 for the rows it does not
    list); the columnar engine the same bytes; duckdb the same bytes or a KR440 refusal naming
    the construct it does not run (never other amounts)."""
    Case(AUDIT5, name).check_every_engine(SQL_REFUSES.get(name))


def test_kamrules_test_passes_the_ten_hand_cases():
    res = run_cli("test", *[_plan(n) for n in PLANS])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "10 passed" in res.stdout


@pytest.mark.parametrize("name, payee", [("draw-hold-trueup", "h1"), ("team-pool-prorate", "a3"),
                                         ("french-paycurrency", "c2"), ("clawback-quarterly-pay", "a1")])
def test_explain_team_and_diff_print_the_amounts_of_run(name, payee):
    """explain --format json gives run's amount for every component of the payee (h1: the 2,500.00
    held in 2025-Q2 released with Q3's 4,000.00 = 6,500.00; a3: the pool share 338.23; c2: CHF
    amounts; a1: months added per quarter, -813.80 in Q2); the team page's total row of each period
    is the sum of run's totals; diff of a plan against itself changes nothing."""
    run = payout_amounts(_run(name, "-q").stdout)
    res = run_cli("explain", _plan(name), "--data", _data(name), "--payee", payee, "--format", "json")
    assert res.returncode == 0, res.stderr
    explained = {(e["payee_id"], e["period"], e["component"]): e["trace"]["value"]["amount"]
                 for e in json.loads(res.stdout)}
    assert explained == {k: v for k, v in run.items() if k[0] == payee and k[2] != "total"}
    team = run_cli("team", _plan(name), "--data", _data(name), "--format", "md").stdout
    totals = re.findall(r"^\| \*\*total\*\* \|.*\| \*\*(-?[\d,]+\.\d\d)\*\* \| \*\*-?[\d,.]+\*\* \|$", team, re.M)
    by_section: dict = {}
    for (p, period, c), v in run.items():
        if c == "total":
            by_section[period] = by_section.get(period, 0) + round(float(v) * 100)
    assert sorted(round(float(t.replace(",", "")) * 100) for t in totals) == sorted(by_section.values()) \
        or name == "french-paycurrency"  # one section per period and currency there
    diff = run_cli("diff", _plan(name), _plan(name), "--data", _data(name), "--format", "csv")
    assert diff.returncode == 0 and all(r["change"] == "0.00" for r in csv.DictReader(io.StringIO(diff.stdout)))


def test_diff_of_a_top_tier_raised_by_one_point_is_computed_by_hand(tmp_path):
    """fiscal-oct-tiers with the >= 150% row at 10% instead of 9%: q2 2024-Q4 80,000 x 1% =
    +800.00, q2 2025-Q1 39,999.99 x 10% = 3,999.999 -> 4,000.00 (+400.00), q3 2025-Q2 7,500 x 1% =
    +75.00; total 14,275.00 -> 15,550.00 (+1,275.00, +8.93%)."""
    raised = tmp_path / "raised.kam"
    raised.write_text(_plan("fiscal-oct-tiers").read_text(encoding="utf-8").replace("| >= 150% | 9% |",
                                                                                    "| >= 150% | 10% |"))
    for engine in ("interpreter", "columnar"):
        res = run_cli("diff", _plan("fiscal-oct-tiers"), raised, "--data", _data("fiscal-oct-tiers"),
                      "--changed-only", "--format", "csv", "--engine", engine)
        rows = {(r["payee_id"], r["period"]): r["change"] for r in csv.DictReader(io.StringIO(res.stdout))}
        assert rows == {("q2", "2024-Q4"): "800.00", ("q2", "2025-Q1"): "400.00", ("q3", "2025-Q2"): "75.00"}


# ---------------------------------------------------------------- broken data: a located message
@pytest.mark.parametrize("name, fname, old, new, where, words", [
    ("deal-stats", "deals", "1000.00,2025-01-02", '"1,000.00",2025-01-02', "deals.csv:2:3", "has a comma"),
    ("fx-four-currencies", "jpy_deals", "1234567", "1234567.5", "jpy_deals.csv:2:3", "JPY has (0)"),
    ("draw-hold-trueup", "deals", ",no\n", ",maybe\n", "deals.csv:3:5", "is not true or false"),
    ("fiscal-oct-tiers", "deals", "d3,q1", "d3,qq", "deals.csv:4:2", "is not a key of `people`"),
    ("fiscal-oct-tiers", "deals", "d4,q1", "d3,q1", "deals.csv:5:1", "`d3` appears twice"),
    ("team-pool-prorate", "pools", "B,2025-Q2", "B,2025-Q5", "pools.csv:4:2", "not a period"),
    ("big-rounding", "deals", "99999999999999999.99", "9999999999999999999.99", "deals.csv:2:3", "19 digits"),
    ("big-rounding", "deals", "0.000000000001", "0.0000000000001", "deals.csv:2:5", "13 digits after"),
])
def test_a_broken_cell_stops_every_engine_at_its_file_row_and_column(tmp_path, name, fname, old, new, where, words):
    text = (_data(name) / f"{fname}.csv").read_text(encoding="utf-8")
    folder = _copy(tmp_path, name, **{fname: text.replace(old, new, 1)})
    errors = set()
    for engine in ("interpreter", "columnar"):
        res = _run(name, "--engine", engine, data=folder)
        assert res.returncode == 1 and res.stdout == "" and "Traceback" not in res.stderr
        assert f"{fname}.csv:" + where.split(":", 1)[1] in res.stderr and words in res.stderr and "hint" in res.stderr
        errors.add(res.stderr)
    assert len(errors) == 1


# ---------------------------------------------------------------- findings, each fixed
def test_a_zero_divisor_read_from_the_payee_row_names_that_row(tmp_path):
    """Finding 4: q3's quota is 0.00 (and q3 booked nothing in 2024-Q4): `q_bookings /
    payee.quota` is 0 / 0. The message said only "undefined operation (0 / 0) [payee q3, period
    2024-Q4]"; it now names the cell to correct, as an empty cell's message does, on both
    engines; a division by a non-zero by zero (yearly-marginal-kicker, y3) too."""
    people = (_data("fiscal-oct-tiers") / "people.csv").read_text(encoding="utf-8").replace("q3,5000.00", "q3,0.00")
    folder = _copy(tmp_path, "fiscal-oct-tiers", people=people)
    for engine in ("interpreter", "columnar"):
        res = _run("fiscal-oct-tiers", "--engine", engine, data=folder)
        assert res.returncode == 1
        assert ("plan.kam:27:18: error[KR407]: undefined operation (0 / 0): `payee.quota` is 0 for payee q3 "
                "(row 4 of people) [payee q3, period 2024-Q4]") in res.stderr
    people = (_data("yearly-marginal-kicker") / "people.csv").read_text(encoding="utf-8").replace("80000.00", "0")
    folder = _copy(tmp_path, "yearly-marginal-kicker", people=people)
    res = _run("yearly-marginal-kicker", "--engine", "columnar", data=folder)
    assert "error[KR407]: division by zero: `payee.quota` is 0 for payee y3 (row 4 of people)" in res.stderr


def test_a_collect_sum_table_adds_nothing_where_no_row_matches(tmp_path):
    """Finding 6: the language page said a `hit collect_sum` table is checked for gaps (KR301);
    the checker (deliberately, tests/test_checker.py) and both engines treat a value no row
    matches as 0. The docs now say so. yearly-marginal-kicker with the last row `< 90%`: y2 at
    100,000.00 / 105,000.00 = 95.2% matches no row: kick 0.00, and `check` passes."""
    plan = tmp_path / "plan.kam"
    plan.write_text(_plan("yearly-marginal-kicker").read_text(encoding="utf-8").replace(
        "| < 100%  | any  | 0 EUR   |", "| < 90%   | any  | 0 EUR   |"), encoding="utf-8")
    assert run_cli("check", plan).returncode == 0
    people = (_data("yearly-marginal-kicker") / "people.csv").read_text(encoding="utf-8").replace(
        "y2,100000.00", "y2,105000.00")
    folder = _copy(tmp_path, "yearly-marginal-kicker", people=people)
    for engine in ("interpreter", "columnar"):
        res = run_cli("run", plan, "--data", folder, "--engine", engine, "--payee", "y2", "--period", "2025", "-q")
        assert "y2,2025,kick,0.00,EUR" in res.stdout, res.stderr
    language = (Path(__file__).resolve().parent.parent / "docs" / "language.md").read_text(encoding="utf-8")
    assert "a value no row matches gives 0" in language and "still wants every value covered" not in language


def test_explain_and_statements_round_a_carried_pool_weight_for_reading():
    """Finding 7: a3's weight in pool A is 69/90 of 34/15 (prorated presence): explain (without
    --exact) and the statements printed both quotients with 80 digits. Now ≈0.766667 of
    ≈2.266667 (fr: ≈0,766667 sur ≈2,266667); explain --exact keeps every digit."""
    args = ("--data", _data("team-pool-prorate"), "--payee", "a3", "--period", "2025-Q1")
    out = run_cli("explain", _plan("team-pool-prorate"), *args).stdout
    assert "branch: weight ≈0.766667 of ≈2.266667 in pool A" in out
    exact = run_cli("explain", _plan("team-pool-prorate"), *args, "--exact").stdout
    assert "branch: weight 0.7666666666666666666666" in exact
    for locale, want in (("en", "weight ≈0.766667 of ≈2.266667 in pool A"), ("fr", "poids ≈0,766667 sur ≈2,266667")):
        text = run_cli("statement", _plan("team-pool-prorate"), *args, "--format", "text", "--locale", locale).stdout
        assert want in text and "66666666666" not in text


_NE_PLAN = """plan "ne"
currency EUR
period quarter
payees people
input people key payee_id { payee_id: Text  att: Rate  tier: optional Text }
table bonus(a: Rate) -> Money hit first {
  | != 100% | 100 EUR |
  | any     | 500 EUR |
}
table tier_bonus(t: Text) -> Money hit first {
  | == "gold" | 300 EUR |
  | != "lost" | 100 EUR |
  | any       | 0 EUR   |
}
component b = bonus(payee.att)
component t = tier_bonus(default(payee.tier, "none"))
"""


def test_a_not_equal_cell_runs_on_every_engine(tmp_path):
    """Finding 1 (high): a `!= 100%` cell, which the language page lists and `check` accepts,
    stopped the default engine with a traceback (columnar: KeyError '!='). Finding 3: `!= "lost"`
    on a Text input was refused ("cannot order values of type Text", hint "use == or != for
    text"), and once accepted, the coverage check did not count "any other text" as matching it
    (a false KR303 on the row). By hand: p1 (100%, gold) 500 + 300; p2 (50%, lost) 100 + 0; p3
    (50%, silver: other text) 100 + 100; p4 (100%, blank -> "none") 500 + 100."""
    plan = tmp_path / "ne.kam"
    plan.write_text(_NE_PLAN, encoding="utf-8")
    (tmp_path / "people.csv").write_text("payee_id,att,tier\np1,1,gold\np2,0.5,lost\np3,50%,silver\np4,100%,\n",
                                         encoding="utf-8")
    assert run_cli("check", plan).returncode == 0
    want = {("p1", "b"): "500.00", ("p1", "t"): "300.00", ("p2", "b"): "100.00", ("p2", "t"): "0.00",
            ("p3", "b"): "100.00", ("p3", "t"): "100.00", ("p4", "b"): "500.00", ("p4", "t"): "100.00"}
    for engine in ("auto", "columnar", "interpreter", "duckdb"):
        res = run_cli("run", plan, "--data", tmp_path, "--period", "2025-Q1", "--engine", engine, "-q")
        assert res.returncode == 0 and "Traceback" not in res.stderr, (engine, res.stderr)
        assert {(p, c): a for (p, _, c), a in payout_amounts(res.stdout).items() if c != "total"} == want, engine


def test_an_overlap_on_any_other_text_is_named_so(tmp_path):
    """Finding 9 (low): two `!=` rows of a `hit unique` table both match a text no cell names:
    KR302 said "both match t = None"; now "t = other text", as KR301 says."""
    plan = tmp_path / "ne.kam"
    plan.write_text(_NE_PLAN.replace("Money hit first {\n  | == \"gold\" | 300 EUR |\n", "Money {\n"),
                    encoding="utf-8")
    res = run_cli("check", plan)
    assert "error[KR302]: rows 1 and 2 of `tier_bonus` both match t = other text" in res.stderr, res.stderr


def test_a_period_literal_runs_on_the_columnar_engine(tmp_path):
    """Finding 10 (medium, fixed: frame.PeriodConst): `when period.month == 2025-12`
    (a period written in the plan) is refused by the columnar engine: "does not run this plan:
    PeriodLit expressions" (an internal class name); the README says it translates every
    construct of the language. `--engine auto` falls back to the interpreter and prints the
    hand amounts (k1 seniority 180.00, k2 1.00)."""
    plan = tmp_path / "plan.kam"
    plan.write_text(_plan("kitchen-sink").read_text(encoding="utf-8").replace(
        'period.label == "2025-12"', "period.month == 2025-12"), encoding="utf-8")
    auto = run_cli("run", plan, "--data", _data("kitchen-sink"), "-q")
    assert auto.stdout == _run("kitchen-sink", "-q").stdout
    res = run_cli("run", plan, "--data", _data("kitchen-sink"), "--engine", "columnar", "-q")
    assert res.returncode == 0 and res.stdout == auto.stdout, res.stderr


def test_a_held_period_says_what_it_earned_and_holds():
    """Finding 5 (medium): h1 earned 2,500.00 in 2025-Q2 (50% x 20,000 / 4), held because d2 is
    not invoiced; the statement said "the rows credited add up to a result that pays nothing".
    Now it says the amount earned and held (en and fr), and Q3 pays 6,500.00 as run does."""
    args = (_plan("draw-hold-trueup"), "--data", _data("draw-hold-trueup"), "--payee", "h1", "--format", "text")
    en = run_cli("statement", *args, "--period", "2025-Q2").stdout
    assert "€2,500.00 earned this period is held while `hold when` is true, and paid in a later period" in en
    assert "pays nothing" not in en
    fr = run_cli("statement", *args, "--period", "2025-Q2", "--locale", "fr").stdout
    assert re.search(r"2\s500,00\s€ gagnés cette période sont retenus tant que `hold when` est vrai", fr)
    assert "advance  €6,500.00" in run_cli("statement", *args, "--period", "2025-Q3").stdout


def test_a_definition_twice_and_payee_in_a_rule_have_a_hint(tmp_path):
    """Finding 8 (low): KR003 "`commission` is defined twice" (a component, or an input) and
    KR206 "`payee` has no value in a `require` rule" said what was wrong but not what to do."""
    plan = tmp_path / "plan.kam"
    text = _plan("team-pool-prorate").read_text(encoding="utf-8")
    plan.write_text(text.replace("component commission = bookings * 3%",
                                 "component commission = bookings * 3%\ncomponent commission = bookings * 4%"))
    res = run_cli("check", plan)
    assert "error[KR003]: `commission` is defined twice" in res.stderr
    assert "first defined here" in res.stderr and "hint: rename one of the two" in res.stderr
    plan.write_text(text.replace("amount > 0 EUR else", "amount > 0 EUR and owner_id == payee.id else"))
    res = run_cli("check", plan)
    assert "error[KR206]: `payee` has no value in a `require` rule" in res.stderr
    assert "hint: compare the row's own columns" in res.stderr


def test_a_json_array_on_one_line_runs_as_its_csv(tmp_path):
    """Finding 2 (high): deal-stats with its three tables as JSON arrays written on one line (as
    `json.dumps` writes them): every row was numbered 1 (its line), so the columnar engine (the
    default) stopped with a traceback (polars ShapeError: the one(rows) lookup of `regions` joined
    on the row number, 6 rows became 12) and a duplicated key said "rows 1 and 1". Rows of a
    one-line array are now numbered 2, 3... as a CSV's; every engine prints the CSV's bytes."""
    plan = _plan("deal-stats").read_text(encoding="utf-8")
    for name in ("people", "regions", "deals"):
        with open(_data("deal-stats") / f"{name}.csv", encoding="utf-8") as f:
            rows = [{k: v or None for k, v in r.items()} for r in csv.DictReader(f)]
        (tmp_path / f"{name}.json").write_text(json.dumps(rows), encoding="utf-8")
        plan = plan.replace(f"input {name} ", f'input {name} from "{name}.json" ', 1)
    (tmp_path / "plan.kam").write_text(plan, encoding="utf-8")
    want = _run("deal-stats", "-q").stdout
    for engine in ("auto", "columnar", "interpreter"):
        res = run_cli("run", tmp_path / "plan.kam", "--data", tmp_path, "--engine", engine, "-q")
        assert res.returncode == 0 and res.stdout == want, (engine, res.stderr[-400:])
    deals = json.loads((tmp_path / "deals.json").read_text(encoding="utf-8"))
    deals[2]["deal_id"] = "d1"
    (tmp_path / "deals.json").write_text(json.dumps(deals), encoding="utf-8")
    res = run_cli("run", tmp_path / "plan.kam", "--data", tmp_path, "-q")
    assert "error[KR404]: deals.json row 4, column `deal_id`: `d1` appears twice (rows 2 and 4)" in res.stderr



def test_explain_of_a_payee_not_eligible_shows_the_values_that_decide():
    """Finding 11 (low): team-pool-prorate b1 (people.csv: start_date 2025-04-01) in 2025-Q1 (ends
    2025-03-31): explain printed "eligible = false" and the condition's line, no value. Now each
    test the condition reaches, its value and the data it reads: 2025-04-01 <= 2025-03-31 is
    false, and `and` stops there. b2 (2024-01-01 to 2025-03-31) in 2025-Q2 passes the first test
    (2024-01-01 <= 2025-06-30), has an end date (`not present` false) and left before 2025-04-01."""
    args = (_plan("team-pool-prorate"), "--data", _data("team-pool-prorate"))
    res = run_cli("explain", *args, "--payee", "b1", "--period", "2025-Q1")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[3:] == [
        "    payee.start_date <= period.end = false  [line 11]",
        "      payee.start_date = 2025-04-01",
        "      period.end = 2025-03-31"]
    res = run_cli("explain", *args, "--payee", "b2", "--period", "2025-Q2")
    assert res.stdout.splitlines()[3:] == [
        "    payee.start_date <= period.end = true  [line 11]",
        "      payee.start_date = 2024-01-01",
        "      period.end = 2025-06-30",
        "    not present(payee.end_date) = false  [line 11]",
        "      payee.end_date = 2025-03-31",
        "    payee.end_date >= period.start = false  [line 11]",
        "      payee.end_date = 2025-03-31",
        "      period.start = 2025-04-01"]
    res = run_cli("explain", *args, "--payee", "b1", "--period", "2025-Q1", "--format", "json")
    [entry] = json.loads(res.stdout)
    [test] = entry["trace"]["children"]
    assert (test["name"], test["kind"], test["value"], test["span"]["column"], test["span"]["end_column"]) == \
        ("payee.start_date <= period.end", "condition", False, 3, 33)
    assert [(c["name"], c["kind"], c["value"]) for c in test["children"]] == [
        ("payee.start_date", "operand", "2025-04-01"), ("period.end", "operand", "2025-03-31")]
    # an eligible payee's trees hold no test of the eligibility: their explain is as it was
    res = run_cli("explain", *args, "--payee", "a3", "--format", "json")
    kinds = {k for e in json.loads(res.stdout) for k in re.findall(r'"kind": "(\w+)"', json.dumps(e["trace"]))}
    assert kinds.isdisjoint({"operand", "eligible"}) and "condition" not in kinds


@pytest.mark.parametrize("command", ["run", "explain", "statement", "team", "simulate", "diff"])
def test_a_quiet_period_inside_a_year_of_the_data_is_computed_by_every_command(command):
    """Finding 12 (low): fiscal-oct-tiers' deals close from 2025-07-01 (fiscal 2024-Q4) to
    2026-03-31 (2025-Q2). `run --period 2025` printed 2025-Q3 at 0.00, but `--period 2025-Q3`
    stopped with KR721. The data's span is now counted in whole (fiscal) years: 2025-Q3 is
    computed by every command taking --period (q1: no deal in April-June 2026, commission
    0.00); 2026-Q1, in a year without data, is still KR721 (a typo guard)."""
    args = {"run": ("--format", "csv"), "explain": ("--payee", "q1"),
            "statement": ("--payee", "q1", "--format", "text"), "team": ("--format", "text"),
            "simulate": ("--format", "csv"), "diff": ("--format", "csv")}[command]
    plans = (_plan("fiscal-oct-tiers"),) * (2 if command == "diff" else 1)
    res = run_cli(command, *plans, "--data", _data("fiscal-oct-tiers"), "--period", "2025-Q3", *args)
    assert res.returncode == 0, res.stderr
    assert "2025-Q3" in res.stdout and "KR721" not in res.stderr
    if command == "run":
        assert "q1,2025-Q3,commission,0.00,EUR" in res.stdout
    if command == "explain":
        assert res.stdout.startswith("q1 2025-Q3: total 0.00 EUR\n  commission = 0.00 EUR")
    res = run_cli(command, *plans, "--data", _data("fiscal-oct-tiers"), "--period", "2026-Q1", *args)
    assert res.returncode == 1 and res.stdout == ""
    assert ("error[KR721]: --period 2026-Q1: outside the years the data reaches (its rows cover 2024-Q4 to "
            "2025-Q2)") in res.stderr


@pytest.mark.parametrize("engine", ["columnar", "interpreter", "duckdb"])
def test_a_quiet_period_is_computed_on_every_engine(engine):
    """Finding 12: team-pool-prorate's data covers 2025-Q1 to 2025-Q2; --period 2025-Q4 gives the
    lines of the year's run for that quarter (every amount 0.00: no deal, no pool row), on each
    engine: a1, a2 and b1, the three eligible in it (a3 and b2 left in 2025-Q1), 3 components and
    a total each; 2024-Q4 is KR721 with the nearest quarter of the data."""
    if engine == "duckdb":
        pytest.importorskip("duckdb", reason="the duckdb extra is not installed")
    args = (_plan("team-pool-prorate"), "--data", _data("team-pool-prorate"), "--engine", engine, "-q")
    year = run_cli("run", *args, "--period", "2025").stdout.splitlines()
    res = run_cli("run", *args, "--period", "2025-Q4")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[1:] == [line for line in year if ",2025-Q4," in line] and len(lines) == 1 + 3 * 4
    assert sorted({line.split(",")[0] for line in lines[1:]}) == ["a1", "a2", "b1"]
    assert all(line.endswith(",0.00,EUR") for line in lines[1:])
    res = run_cli("run", *args, "--period", "2024-Q4")
    assert res.returncode == 1 and "KR721" in res.stderr and "did you mean `2025-Q4`?" in res.stderr


@pytest.mark.parametrize("engine", ["auto", "interpreter", "columnar", "duckdb"])
def test_a_bad_fx_rate_is_placed_at_its_cell_on_every_engine(tmp_path, engine):
    """Finding 13 (low): fx-four-currencies with GBP->EUR at 0 on row 6 of fx_rates.csv said
    "plan.kam:40:7: error[KR420]: ... is 0 [payee p1, period 2025-Q1]": the USD component's fx()
    of payee p1, who has no GBP deal. The file is checked whole at the first conversion; the
    error is a data error, now placed at the rate's cell (row 6, `rate` the 4th column: 6:4),
    the plan's fx() as a note, no payee; the columnar and SQL engines hand the run to the
    interpreter, so one diagnostic. Two rates on one day point at the second row (7:4, GBP->EUR
    1.1875 on row 6 and 1.19 added as row 7), the first as a note."""
    if engine == "duckdb":
        pytest.importorskip("duckdb", reason="the duckdb extra is not installed")
    rates = (_data("fx-four-currencies") / "fx_rates.csv").read_text(encoding="utf-8")
    assert rates.splitlines()[5] == "2025-01-01,GBP,EUR,1.1875"
    data = _copy(tmp_path, "fx-four-currencies", fx_rates=rates.replace("GBP,EUR,1.1875", "GBP,EUR,0"))
    res = run_cli("run", _plan("fx-four-currencies"), "--data", data, "--engine", engine, "-o", tmp_path / "out.csv")
    assert res.returncode == 1 and not (tmp_path / "out.csv").exists()
    lines = res.stderr.splitlines()
    assert lines[0] == (f"{data / 'fx_rates.csv'}:6:4: error[KR420]: fx_rates row 6 of fx_rates.csv: "
                        "the rate GBP->EUR on 2025-01-01 is 0")
    assert lines[1] == (f"  note: {_plan('fx-four-currencies')}:40:7: the whole file is checked at the plan's "
                        "first conversion, here")
    assert "[payee" not in res.stderr and "hint: a rate is above 0: fix the row in the export" in res.stderr
    (tmp_path / "two").mkdir()
    data = _copy(tmp_path / "two", "fx-four-currencies", fx_rates=rates.replace(
        "2025-01-01,GBP,EUR,1.1875\n", "2025-01-01,GBP,EUR,1.1875\n2025-01-01,GBP,EUR,1.19\n"))
    res = run_cli("run", _plan("fx-four-currencies"), "--data", data, "--engine", engine)
    assert res.stderr.splitlines()[:2] == [
        f"{data / 'fx_rates.csv'}:7:4: error[KR420]: fx_rates rows 6 and 7 of fx_rates.csv: two rates GBP->EUR "
        "on 2025-01-01 (1.1875 and 1.19)", f"  note: {data / 'fx_rates.csv'}:6:4: the first rate of that day"]
