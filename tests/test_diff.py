"""`kamrules diff`: two versions of a plan on the same data, per payee and period, with
who gains and who loses; the expected numbers are worked out by hand from the case files."""
from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from conftest import EXAMPLES, PLANS, examples, run_cli
from kamrules.core.calendar import parse_period
from kamrules.report.compare import diff_markdown, diff_rows, diff_summary, totals
from kamrules.trace.tree import Payout

SCENARIO_B = EXAMPLES / "04-uncapped-scenarios" / "scenario-b"
CLAWBACK = EXAMPLES / "09-clawback-cash"


def test_capped_to_uncapped_on_scenario_b_three_gain_40000_each():
    # kam-01..03 reach NRR 120%: uncapped rate 100% + 20 x 10% = 300% -> 60,000 vs 20,000 capped;
    # the seven others are at 110%: 100% under both plans -> unchanged.
    res = run_cli("diff", PLANS / "kam-capped.kam", PLANS / "kam-uncapped.kam", "--data", SCENARIO_B,
                  "--format", "csv")
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [(r["payee_id"], r["before"], r["after"], r["change"]) for r in rows[:3]] == [
        (f"kam-0{i}", "20000.00", "60000.00", "40000.00") for i in (1, 2, 3)]
    assert all(r["change"] == "0.00" and r["before"] == "20000.00" for r in rows[3:])
    assert len(rows) == 10 and {r["period"] for r in rows} == {"2025"}


def test_the_summary_counts_winners_and_losers_and_the_cost():
    res = run_cli("diff", PLANS / "kam-uncapped.kam", PLANS / "kam-capped.kam", "--data", SCENARIO_B)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    # losers come last, sorted by change
    assert [l.split()[0] for l in lines[-5:-2]] == ["kam-01", "kam-02", "kam-03"]
    assert "-40000.00" in lines[-3]
    assert lines[-1] == ("total cost 320000.00 -> 200000.00 EUR (-120000.00, -37.50%); "
                         "0 payee(s) gain, 3 lose, 7 unchanged")


def _clawback_variant(tmp_path):
    """The clawback plan paid quarterly at 12% instead of monthly at 10%."""
    text = (PLANS / "clawback-cash.kam").read_text()
    assert "period month" in text and "param rate = 10%" in text
    new = tmp_path / "clawback-12.kam"
    new.write_text(text.replace("period month", "period quarter").replace("param rate = 10%", "param rate = 12%"))
    return new


def test_periods_of_different_lengths_are_rolled_up_to_the_longer(tmp_path):
    new = _clawback_variant(tmp_path)
    res = run_cli("diff", PLANS / "clawback-cash.kam", new, "--data", CLAWBACK, "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    got = {(r["payee_id"], r["period"]): (r["before"], r["after"], r["change"]) for r in out["rows"]}
    # ae-020 Q1: bookings 50k + 80k + 20k + 30k = 180k, cash 25k paid in March.
    #   10%: 18,000 + 2,500 = 20,500; 12%: 21,600 + 3,000 = 24,600.
    # Q2: cb-002 cancelled 81 days after close: -8,000 / -9,600.
    # Q3: cb-003 cancelled at day 180 (reversed): -2,000 / -2,400; cb-004 at day 181 is kept.
    # ae-021 Q1: 64,000 booked; Q2: reversed the next day and 64,000 cash -> 0 under both.
    assert got == {
        ("ae-020", "2025-Q1"): ("20500.00", "24600.00", "4100.00"),
        ("ae-020", "2025-Q2"): ("-8000.00", "-9600.00", "-1600.00"),
        ("ae-020", "2025-Q3"): ("-2000.00", "-2400.00", "-400.00"),
        ("ae-021", "2025-Q1"): ("6400.00", "7680.00", "1280.00"),
        ("ae-021", "2025-Q2"): ("0.00", "0.00", "0.00"),
        ("ae-021", "2025-Q3"): ("0.00", "0.00", "0.00"),  # the data reach July: a row, zero
    }
    assert [(r["payee_id"], r["period"]) for r in out["rows"]][0] == ("ae-020", "2025-Q1")
    assert out["summary"] == {"cost": {"EUR": {"before": "16900.00", "after": "20280.00", "change": "3380.00"}},
                              "winners": 2, "losers": 0, "unchanged": 0}


def test_github_markdown_lists_only_the_changes(tmp_path):
    new = _clawback_variant(tmp_path)
    res = run_cli("diff", PLANS / "clawback-cash.kam", new, "--data", CLAWBACK, "--format", "github-markdown")
    assert res.returncode == 0, res.stderr
    table = [l for l in res.stdout.splitlines() if l.startswith("| ae-")]
    assert table[0] == "| ae-020 | 2025-Q1 | 20,500.00 EUR | 24,600.00 EUR | +4,100.00 |"
    assert table[-1] == "| ae-020 | 2025-Q2 | -8,000.00 EUR | -9,600.00 EUR | -1,600.00 |"
    assert len(table) == 4 and "2 payee-period row(s) unchanged." in res.stdout
    assert "16,900.00 -> 20,280.00 EUR (+3,380.00, +20.00%)" in res.stdout


def test_a_plan_error_exits_1_and_writes_no_file(tmp_path):
    bad = tmp_path / "bad.kam"
    bad.write_text((PLANS / "clawback-cash.kam").read_text().replace("sum(amount * rate for booked)",
                                                                       "sum(amount * rat for booked)"))
    out = tmp_path / "diff.md"
    res = run_cli("diff", PLANS / "clawback-cash.kam", bad, "--data", CLAWBACK, "-o", out)
    assert res.returncode == 1 and "KR101" in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()
    res = run_cli("diff", PLANS / "clawback-cash.kam", PLANS / "clawback-cash.kam", "--data", tmp_path / "none")
    assert res.returncode == 1 and "KR401" in res.stderr


# ---------------------------------------------------------------- properties of the comparison
PAYOUT = st.builds(lambda who, month, comp, cents: Payout(who, parse_period(f"2025-{month:02d}"), comp,
                                                           Decimal(cents).scaleb(-2), "EUR"),
                   st.sampled_from(["a", "b", "c|d"]), st.integers(1, 6), st.sampled_from(["x", "y"]),
                   st.integers(-10**7, 10**7))


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(PAYOUT, max_size=12), st.lists(PAYOUT, max_size=12), st.sampled_from([None, "quarter", "year"]))
def test_changes_add_up_to_the_cost_change_and_every_payee_is_counted_once(old, new, kind):
    rows = diff_rows(totals(old, kind), totals(new, kind))
    summary = diff_summary(rows)
    before = sum((p.amount for p in old), Decimal(0))
    after = sum((p.amount for p in new), Decimal(0))
    cost = summary["cost"].get("EUR", {"before": Decimal(0), "after": Decimal(0), "change": Decimal(0)})
    assert (cost["before"], cost["after"]) == (before, after)
    assert sum((r.change for r in rows), Decimal(0)) == after - before
    payees = {p.payee_id for p in old + new}
    assert summary["winners"] + summary["losers"] + summary["unchanged"] == len(payees)
    assert [r.change for r in rows] == sorted((r.change for r in rows), reverse=True)
    md = diff_markdown(rows, summary, "old.kam", "new.kam")
    # a `|` in a payee id cannot break the markdown table: every row has exactly 5 cells
    for line in md.splitlines():
        if line.startswith("| ") and "---" not in line:
            assert line.replace("\\|", "").count("|") == 6


def test_period_limits_both_versions(tmp_path):
    new = _clawback_variant(tmp_path)
    res = run_cli("diff", PLANS / "clawback-cash.kam", new, "--data", CLAWBACK, "--period", "2025-Q1",
                  "--format", "csv")
    assert res.returncode == 0, res.stderr
    rows = [(r["payee_id"], r["period"], r["before"], r["after"]) for r in csv.DictReader(io.StringIO(res.stdout))]
    assert rows == [("ae-020", "2025-Q1", "20500.00", "24600.00"), ("ae-021", "2025-Q1", "6400.00", "7680.00")]
