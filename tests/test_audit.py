"""The audit plans of tests/data/audit/: plans and data written the way a RevOps analyst would,
judged from outside through the command line. Each folder holds NAME.kam, its data/ (with
awkward but valid cells: a BOM, CRLF, unicode names, negative amounts, dates on period edges,
empty optional cells, 12-decimal numbers) and tests/NAME/hand/expected.csv, every amount
computed by hand (the arithmetic is in its `note` column). Here: both engines print those
amounts, `kamrules test` passes them, and the findings of the audit stay fixed (lint, team page,
diagnostics)."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from conftest import run_cli

AUDIT = Path(__file__).resolve().parent / "data" / "audit"
PLANS = ["nrr-decel", "upsell-booster", "split-override", "draw-recovery", "pool-weight", "jpy-fx", "ytd-catchup",
         "tiers-hold"]


def _plan(name: str) -> Path:
    return AUDIT / name / f"{name}.kam"


def _expected(name: str) -> dict:
    with open(AUDIT / name / "tests" / name / "hand" / "expected.csv", encoding="utf-8") as f:
        return {(r["payee_id"], r["period"], r["component"]): r["amount"] for r in csv.DictReader(f)}


def _amounts(stdout: str) -> dict:
    return {(r["payee_id"], r["period"], r["component"]): r["amount"]
            for r in csv.DictReader(stdout.splitlines()) if r["component"] != "total"}


@pytest.mark.parametrize("name", PLANS)
def test_interpreter_pays_the_hand_computed_amounts(name):
    """The reference engine prints every hand-computed amount, and nothing else but zeros."""
    res = run_cli("run", _plan(name), "--data", AUDIT / name / "data", "--engine", "interpreter", "-q")
    assert res.returncode == 0, res.stderr
    got, want = _amounts(res.stdout), _expected(name)
    assert {k: got.get(k) for k in want} == want
    assert all(float(v) == 0 for k, v in got.items() if k not in want)


def test_kamrules_test_passes_every_audit_plan_on_the_default_engine():
    """`kamrules test` (the default engine, columnar where it runs the plan) on the hand cases
    and on the invalid inputs (a case.toml `error`: an impossible date, a duplicate key, a
    missing column, 17 decimals, a division by zero, a missing fx rate)."""
    cases = [c for n in PLANS for c in (AUDIT / n / "tests" / n).iterdir() if c.is_dir()]
    assert len(cases) == len(PLANS) + 6
    res = run_cli("test", *[_plan(n) for n in PLANS])
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"{len(cases)} passed" in res.stdout and "FAIL" not in res.stdout


def test_an_input_outside_the_data_folder_is_refused_before_reading(tmp_path):
    """`input fx_rates from "../rates.csv"`: KR006 at the file name, nothing written."""
    plan = _variant(tmp_path, "jpy-fx", "input fx_rates {", 'input fx_rates from "../rates.csv" {')
    (tmp_path / "rates.csv").write_text("date,from,to,rate\n2025-01-01,USD,JPY,1\n", encoding="utf-8")
    res = run_cli("run", plan, "--data", AUDIT / "jpy-fx" / "data", "-o", tmp_path / "out.csv")
    assert res.returncode == 1 and not (tmp_path / "out.csv").exists()
    assert 'jpy-fx.kam:19:21: error[KR006]: input `fx_rates` reads "../rates.csv"' in res.stderr


# ---------------------------------------------------------------- findings, each fixed


def test_lint_counts_inputs_read_implicitly_or_by_references_and_the_payee_name():
    """split-override: `reports_to` is read by below(), `accounts` by `references accounts`, and
    the payees' `name` and `role` by statements: none is "never used" (KR503 said all three)."""
    res = run_cli("check", _plan("split-override"))
    assert res.returncode == 0
    warned = [line for line in res.stderr.splitlines() if "warning[KR503]" in line]
    # the two columns that really are never read, and only them
    assert len(warned) == 2
    assert "`name` of `accounts`" in warned[0] and "`type` of `deals`" in warned[1]
    assert "reports_to" not in res.stderr and "input `accounts`" not in res.stderr
    assert "`name` of `people`" not in res.stderr and "`role`" not in res.stderr
    res = run_cli("check", _plan("nrr-decel"))  # `name` of the payees table: read by statements
    assert "KR503" not in res.stderr


def test_team_year_to_date_total_keeps_payees_without_a_payout_this_period():
    """pool-weight: s-4 leaves on 14 February (500.00 in Q1, not eligible in Q2). The Q2 total of
    the year to date is the whole team's: 1,100.00 (Q1) + 0.05 (Q2) = 1,100.05, not 600.05."""
    res = run_cli("team", _plan("pool-weight"), "--data", AUDIT / "pool-weight" / "data", "--format", "text")
    assert res.returncode == 0, res.stderr
    q2 = res.stdout.split("2025-Q2:")[1]
    total = next(line for line in q2.splitlines() if line.strip().startswith("total"))
    assert total.split()[-3:] == ["0.05", "0.05", "1,100.05"]


def test_team_measure_of_a_payment_period_is_never_its_first_month():
    """tiers-hold is monthly, paid quarterly: v-1 billed 8,000 + 15,000 + 25,000.50 in 2025-Q1.
    The team page showed `billed` 8,000.00 EUR (April's) for the quarter; a month's value is not
    the quarter's, so it is left out (—) when the months differ, and shown when they agree (v-2
    bills nothing from July to September: 0.00)."""
    res = run_cli("team", _plan("tiers-hold"), "--data", AUDIT / "tiers-hold" / "data", "--format", "text")
    assert res.returncode == 0, res.stderr
    q1, q2 = res.stdout.split("2025-Q1:")[1].split("2025-Q2:")
    assert "8,000.00 EUR" not in q1 and "20,000.00 EUR" not in q1
    v1 = next(line for line in q1.splitlines() if line.strip().startswith("v-1"))
    assert v1.split()[3:] == ["—", "400.00", "400.00", "400.00"]
    v2 = next(line for line in q2.splitlines() if line.strip().startswith("v-2"))
    assert v2.split()[3:] == ["0.00", "EUR", "0.00", "0.00", "1,300.00"]


def test_unknown_reference_is_worded_as_a_key(tmp_path):
    """KR409 read "is not a account_id of `accounts`"; it names the key and its column."""
    data = tmp_path / "data"
    data.mkdir()
    for f in (AUDIT / "split-override" / "data").iterdir():
        (data / f.name).write_bytes(f.read_bytes())
    with open(data / "deals.csv", "a", encoding="utf-8") as f:
        f.write("S7,AC9,expansion,1,2025-01-02,won\n")
    res = run_cli("run", _plan("split-override"), "--data", data, "-o", tmp_path / "out.csv")
    assert res.returncode == 1 and not (tmp_path / "out.csv").exists()
    assert "deals.csv:8:2: error[KR409]: `account_id` = 'AC9'" in res.stderr
    assert "row 8 is not a key of `accounts` (column `account_id`)" in res.stderr


def test_statement_of_a_payment_period_credits_every_month_and_says_what_is_held():
    """tiers-hold, v-1, 2025-Q1 (April to June, paid together): the statement said `on billed
    €8,000.00` and listed April's invoice only; billed over the quarter is 8,000 + 15,000 +
    25,000.50 = 48,000.50 (three rows). May's 900.00 and June's 1,900.06 are held (unpaid by the
    month's end): the derivation says so, and July releases 900.00 + 1,900.06 = 2,800.06."""
    plan, data = _plan("tiers-hold"), AUDIT / "tiers-hold" / "data"
    res = run_cli("statement", plan, "--data", data, "--payee", "v-1", "--format", "text")
    assert res.returncode == 0, res.stderr
    q1, q2 = res.stdout.split("2025-Q2 (")
    assert "commission pays €400.00; on billed €48,000.50" in q1
    for row in ("I1         €8,000.00", "I2         €15,000.00", "I3         €25,000.50"):
        assert row in q1
    assert "paid for 2025-Q1: 2025-04 + 2025-05 + 2025-06, in this order" in q1
    assert "held: 900.00 paid later" in q1 and "held: 1900.06 paid later" in q1
    assert "released: 2800.06 held in earlier periods" in q2
    fr = run_cli("statement", plan, "--data", data, "--payee", "v-1", "--format", "text", "--locale", "fr")
    assert "retenu : 1 900,06 payé plus tard" in fr.stdout.replace("\u202f", " ").replace("\u00a0", " ")


def _variant(tmp_path, name: str, old: str, new: str) -> Path:
    text = _plan(name).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / f"{name}.kam"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_component_window_that_ends_before_it_starts_is_refused(tmp_path):
    """upsell-booster with its dates swapped (`from 2025-04-15 to 2025-03-15`) was accepted and
    silently never paid the booster; also through a param."""
    plan = _variant(tmp_path, "upsell-booster", "from 2025-03-15 to 2025-04-15", "from 2025-04-15 to 2025-03-15")
    res = run_cli("check", plan)
    assert res.returncode == 1
    assert "error[KR002]: component `booster` runs from 2025-04-15 to 2025-03-15" in res.stderr
    assert "hint: write the earlier date first: from 2025-03-15 to 2025-04-15" in res.stderr
    plan = _variant(tmp_path, "upsell-booster", "component booster from 2025-03-15",
                    "param challenge_start = 2025-04-16\ncomponent booster from challenge_start")
    assert "error[KR002]: component `booster` runs from 2025-04-16 to 2025-04-15" in run_cli("check", plan).stderr


def test_a_rate_param_written_as_a_whole_number_is_flagged(tmp_path):
    """`param booster_rate = 50` (50% meant) paid 50 times the challenge upsell with no word from
    check; 50% or 0.5 is not flagged, nor a real multiplier marked noqa."""
    plan = _variant(tmp_path, "upsell-booster", "booster_rate = 50%", "booster_rate = 50")
    res = run_cli("check", plan)
    assert res.returncode == 0 and "warning[KR504]: `booster_rate = 50` is a rate of 50 times, not 50%" in res.stderr
    for fine in ("booster_rate = 0.5", "booster_rate = 50  # noqa: KR504"):
        assert "KR504" not in run_cli("check", _variant(tmp_path, "upsell-booster", "booster_rate = 50%", fine)).stderr


@pytest.mark.parametrize("old, new, hint", [
    ('status == "won"', 'status = "won"', "hint: `=` defines a name; to compare two values write `==`"),
    ("default(discount, 0%) < 10%", "default(discount, 0%) < 10 %",
     "hint: a percentage is written without a space: 10%"),
    ('type in ["expansion", "cross_sell"]', 'type in ("expansion", "cross_sell")',
     'hint: a list is written in square brackets: ["won", "open"]; parentheses hold one value'),
])
def test_an_analysts_slips_get_a_hint(tmp_path, old, new, hint):
    """Three slips of upsell-booster that got a bare KR001 (no hint; for `=`, a list of
    statement keywords)."""
    res = run_cli("check", _variant(tmp_path, "upsell-booster", old, new))
    assert res.returncode == 1 and "error[KR001]" in res.stderr and hint in res.stderr


@pytest.mark.parametrize("engine", ["interpreter", "columnar"])
def test_diff_never_compares_amounts_of_two_currencies(tmp_path, engine):
    """nrr-decel moved from `currency EUR` to `currency USD`: diff said every payee was
    unchanged (10714.29 USD before and after). Each amount stays in its own currency: kam-1
    2025-Q1 leaves 10,714.29 EUR and comes back as 10,714.29 USD."""
    new = _variant(tmp_path, "nrr-decel", "currency EUR", "currency USD")
    res = run_cli("diff", _plan("nrr-decel"), new, "--data", AUDIT / "nrr-decel" / "data",
                  "--engine", engine, "--format", "csv")
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(res.stdout.splitlines()))
    kam1 = sorted((r["currency"], r["before"], r["after"]) for r in rows
                  if (r["payee_id"], r["period"]) == ("kam-1", "2025-Q1"))
    assert kam1 == [("EUR", "10714.29", "0.00"), ("USD", "0.00", "10714.29")]
    table = run_cli("diff", _plan("nrr-decel"), new, "--data", AUDIT / "nrr-decel" / "data", "--engine", engine)
    assert "total cost 35775.85 -> 0.00 EUR (-35775.85, -100.00%); 0.00 -> 35775.85 USD" in table.stdout
    assert "0 payee(s) gain, 0 lose, 1 unchanged" in table.stdout  # kam-4: 0.00 both ways


@pytest.mark.parametrize("how", ["payee", "all"])
def test_what_if_adds_the_business_in_the_period_not_to_an_earlier_paid_month(tmp_path, how):
    """ytd-catchup, w-1, 2025-08: year to date 95,000.50 (8%), 12,600.06 paid before August.
    5,000 more booked in August reaches 100% (12%): 100,000.50 x 12% - 12,600.06 = -600.00
    against -5,000.02, so +4,400.02. The statement said +3,800.02: it added the 5,000 to July's
    booking (the largest row), which also raised July's pay that August's paid() takes back."""
    plan, data = _plan("ytd-catchup"), AUDIT / "ytd-catchup" / "data"
    if how == "payee":
        res = run_cli("statement", plan, "--data", data, "--payee", "w-1", "--period", "2025-08", "--format", "text")
        text = res.stdout
    else:
        res = run_cli("statement", plan, "--data", data, "--period", "2025-08", "--all", "-o", tmp_path / "st")
        text = (tmp_path / "st" / "w-1.html").read_text(encoding="utf-8")
    assert res.returncode == 0, res.stderr
    assert "€5,000.00 more ytd_bookings before August 31, 2025 reaches the next tier" in text
    assert "would pay €4,400.02 more on commission" in text and "3,800.02" not in text
    # and 951.00 more: 95,951.50 x 8% = 7,676.12 - 12,600.06 = -4,923.94, +76.08
    assert "€951.00 more ytd_bookings before August 31, 2025 would pay €76.08 more" in text


def test_a_draw_at_zero_is_shown_with_its_reason_not_hidden_as_not_applying():
    """draw-recovery, p-2, January alone: commission 1,500.00 (12,500 x 12%) covers the
    1,500.00 draw, so draw and recovery are 0.00. The statement hid both as "cannot apply to
    you" (and, in full-year statements, said "no row credited to you this period"), though p-2
    is paid a draw in March; the rows are there: earned sums B7."""
    res = run_cli("statement", _plan("draw-recovery"), "--data", AUDIT / "draw-recovery" / "data",
                  "--payee", "p-2", "--period", "2025-01", "--format", "text")
    assert res.returncode == 0, res.stderr
    assert "cannot apply" not in res.stdout and "no row credited" not in res.stdout
    assert "  draw            €0.00" in res.stdout and "  recovery        €0.00" in res.stdout
    assert res.stdout.count("the rows credited add up to a result that pays nothing") == 2


def test_a_call_with_a_wrong_count_of_arguments_reports_only_that(tmp_path):
    """`between(close_date, 2025-03-15)` in a filter: KR103, and no second, false, KR101
    "undefined name `close_date`" (the arguments were checked outside the row's scope)."""
    plan = _variant(tmp_path, "upsell-booster", "between(close_date, 2025-03-15, 2025-04-15)",
                    "between(close_date, 2025-03-15)")
    res = run_cli("check", plan)
    assert res.returncode == 1 and "error[KR103]: between() takes 3 argument(s), got 2" in res.stderr
    assert "KR101" not in res.stderr and "1 error(s)" in res.stderr
