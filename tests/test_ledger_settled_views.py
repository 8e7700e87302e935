"""The ledger's views settled against a run: manual adjustments declared by the plan
(`input adjustments from "adjustments.csv"`), what to pay for an open period (computed plus
adjustments, with their reasons) and the balances on account, in run, statement, team and
diff with --ledger. Amounts by hand in comments."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLES, PLANS, run_cli

ROOT = Path(__file__).resolve().parent.parent
LEDGER = ROOT / "docs" / "examples" / "ledger-media"  # the media plan, 2025-01 .. 2025-05 closed
DATA = ROOT / "docs" / "examples" / "media-corrected"  # inv-00006 (April) corrected to 6,666
MEDIA = PLANS / "media-advance.kam"
HEADER = "payee_id,period,component,amount,currency,reason,reference\n"
DECLARED = """
input adjustments from "adjustments.csv" {
  payee_id: Text references people
  period: Period
  component: Text
  amount: Money
  currency: Text
  reason: Text
  reference: Text
}
"""


@pytest.fixture
def media(tmp_path):
    """(plan declaring the adjustments input, data with adjustments.csv, a copy of the ledger)."""
    plan = tmp_path / "media.kam"
    plan.write_text(MEDIA.read_text() + DECLARED)
    data, ledger = tmp_path / "data", tmp_path / "ledger"
    shutil.copytree(DATA, data)
    shutil.copytree(LEDGER, ledger)
    (data / "adjustments.csv").write_text(HEADER + "med-002,2025-06,spiff,250.00,EUR,Q2 media challenge winner,FIN-2301\n")
    return plan, data, ledger


def test_the_plan_declared_adjustments_are_paid_once_with_their_reason(media):
    plan, data, ledger = media
    assert "KR503" not in run_cli("check", plan).stderr  # the ledger reads it
    res = run_cli("run", plan, "--data", data, "--ledger", ledger, "--period", "2025-06", "--payee", "med-002")
    # med-002 June: advance 1,500 and true-up 1,500 (expected.csv), plus the 250.00 spiff
    assert res.stdout.splitlines()[1:] == ["med-002,2025-06,advance,,1500.00,EUR",
                                           "med-002,2025-06,quarter_true_up,,1500.00,EUR",
                                           "med-002,2025-06,spiff,manual:FIN-2301,250.00,EUR",
                                           "med-002,2025-06,total,,3250.00,EUR"]
    st = run_cli("statement", plan, "--data", data, "--payee", "med-002", "--period", "2025-06",
                 "--ledger", ledger, "--format", "text", "--locale", "en")
    assert st.returncode == 0, st.stderr
    assert ("Adjustment of spiff for manual:FIN-2301, paid in 2025-06: €250.00 (Q2 media challenge winner) "
            "(pending: paid by the next close)") in st.stdout
    assert "To pay for 2025-06: €3,250.00 (computed €3,000.00, adjustments €250.00)" in st.stdout
    res = run_cli("close", plan, "--data", data, "--period", "2025-06", "--ledger", ledger)
    assert res.returncode == 0, res.stderr
    assert (ledger / "0006-close-2025-06" / "adjustments.csv").read_text() == \
        HEADER + "med-002,2025-06,spiff,250.00,EUR,Q2 media challenge winner,FIN-2301\n"
    assert "med-002,spiff,250.00,EUR" in run_cli("ledger", "show", ledger).stdout
    july = run_cli("run", plan, "--data", data, "--ledger", ledger, "--period", "2025-07", "--payee", "med-002")
    assert july.stdout.splitlines()[1:] == ["med-002,2025-07,advance,,1200.00,EUR",
                                            "med-002,2025-07,total,,1200.00,EUR"]
    # a new line dated in the closed June is refused, naming the file and the row
    with open(data / "adjustments.csv", "a") as fh:
        fh.write("med-001,2025-06,spiff,25.00,EUR,late,FIN-2302\n")
    late = run_cli("run", plan, "--data", data, "--ledger", ledger)
    assert late.returncode == 1 and "KR810" in late.stderr and f"{data / 'adjustments.csv'}:3:1" in late.stderr
    assert late.stdout == ""


@pytest.mark.parametrize("line, optional, code, what", [
    # the loader checks the declared types first (KR403), naming the row and the column
    ("med-002,2025-06,spiff,250.00,EUR,,FIN-1", False, "KR403", "column `reason`: empty"),
    ("med-002,2025-06,spiff,12.345,EUR,why,FIN-1", False, "KR403", "column `amount`"),
    # declared optional, still required by the ledger (manual.py)
    ("med-002,2025-06,spiff,250.00,EUR,,FIN-1", True, "KR809", "`reason` is empty"),
    ("med-002,2025-06,spiff,250.00,EUR,why,", True, "KR809", "`reference` is empty"),
    ("nobody,2025-06,spiff,250.00,EUR,why,FIN-1", True, "KR", "nobody"),
])
def test_a_malformed_declared_adjustment_is_named(media, line, optional, code, what):
    plan, data, ledger = media
    if optional:
        plan.write_text(plan.read_text().replace("reason: Text", "reason: optional Text")
                        .replace("reference: Text", "reference: optional Text"))
    (data / "adjustments.csv").write_text(HEADER + line + "\n")
    res = run_cli("run", plan, "--data", data, "--ledger", ledger)
    assert res.returncode == 1 and code in res.stderr and what in res.stderr, res.stderr
    assert f"{data / 'adjustments.csv'}:2:" in res.stderr and res.stdout == ""


def test_the_declaration_needs_every_column_and_a_reference_once(media, tmp_path):
    plan, data, ledger = media
    other = tmp_path / "other.csv"
    other.write_text(HEADER + "med-001,2025-06,spiff,10.00,EUR,again,FIN-2301\n")
    both = run_cli("run", plan, "--data", data, "--ledger", ledger, "--adjustments", other)
    assert both.returncode == 1 and "KR809" in both.stderr and "FIN-2301" in both.stderr
    assert f"{other}:2:1" in both.stderr
    other.write_text(HEADER + "med-001,2025-06,spiff,10.00,EUR,more,FIN-9\n")
    both = run_cli("run", plan, "--data", data, "--ledger", ledger, "--adjustments", other, "--period", "2025-06")
    assert both.returncode == 0, both.stderr
    assert "med-001,2025-06,spiff,manual:FIN-9,10.00,EUR" in both.stdout
    assert "med-002,2025-06,spiff,manual:FIN-2301,250.00,EUR" in both.stdout
    plan.write_text(plan.read_text().replace("  reference: Text\n", ""))
    res = run_cli("run", plan, "--data", data, "--ledger", ledger)
    line = plan.read_text().splitlines().index('input adjustments from "adjustments.csv" {') + 1
    assert res.returncode == 1 and "KR751" in res.stderr and f"{plan}:{line}:1" in res.stderr, res.stderr
    assert "lacks the column `reference`" in res.stderr


# med-001 (annual variable 12,000; 100,000 a month, 300,000 a quarter), 2025-01..05 closed
# at 750.00 a month and a Q1 true-up of 750.00. April's invoice corrected: April billed
# 60,000 -> 600.00 (-150.00); June billed 90,000 -> 750.00; Q2 245,000 -> 2,450 - (600 + 750
# + 750) = 350.00. On account at June: advances of April and May, 1,500.00 (the Q2 true-up
# nets them); advances Jan-May 3,750.00 and the Q1 true-up 750.00 (December nets them).

def test_statement_settles_the_period_and_shows_the_balances():
    st = run_cli("statement", MEDIA, "--data", DATA, "--payee", "med-001", "--period", "2025-06",
                 "--ledger", LEDGER, "--format", "text", "--locale", "en")
    assert st.returncode == 0, st.stderr
    ledger = st.stdout[st.stdout.index("\nLedger\n"):]
    assert "To pay for 2025-06: €950.00 (computed €1,100.00, adjustments -€150.00)" in ledger
    assert ("Adjustment of advance for 2025-04, paid in 2025-06: -€150.00 (2025-04 recomputed on today's "
            "data differs from what was paid for it) (pending: paid by the next close)") in ledger
    assert "Paid on account, netted by quarter_true_up in 2025-Q2: €1,500.00" in ledger
    assert ("Paid on account, netted by year_regularisation in 2025: €4,500.00 (advance €3,750.00, "
            "quarter_true_up €750.00)") in ledger


def test_team_and_diff_show_what_to_pay_and_the_balances(tmp_path):
    team = run_cli("team", MEDIA, "--data", DATA, "--period", "2025-06", "--ledger", LEDGER)
    assert team.returncode == 0, team.stderr
    assert "med-001 to pay for 2025-06: 950.00 EUR (computed 1,100.00, adjustments -150.00)" in team.stdout
    # med-002: 1,500 a month paid, and its Q1 true-up 1,000 (500,000 of 600,000: 5,000 - 4,000)
    assert "med-002 to pay for 2025-06: 3,000.00 EUR (computed 3,000.00, adjustments 0.00)" in team.stdout
    assert "med-002 paid on account, netted by quarter_true_up in 2025-Q2: 3,000.00 EUR" in team.stdout
    diff = run_cli("diff", MEDIA, MEDIA, "--data", DATA, "--period", "2025-06", "--ledger", LEDGER)
    assert diff.returncode == 0, diff.stderr
    tail = diff.stdout[diff.stdout.index("Ledger "):]
    assert "med-001: paid to date 4500.00 EUR" in tail  # 5 * 750 + 750
    assert "adjustment of advance for 2025-04, paid in 2025-06: -150.00 EUR" in tail
    assert "paid on account, netted by quarter_true_up in 2025-Q2: 1500.00 EUR" in tail
    as_json = run_cli("diff", MEDIA, MEDIA, "--data", DATA, "--period", "2025-06", "--ledger", LEDGER,
                      "--format", "json")
    mine = json.loads(as_json.stdout)["ledger"]["med-001"]
    assert mine["paid_to_date"] == {"EUR": "4500.00"}
    assert mine["adjustments"] == [{"period": "2025-06", "adjusts": "2025-04", "component": "advance",
                                    "amount": "-150.00", "currency": "EUR"}]
    assert mine["balances"][1] == {"reader": "year_regularisation", "window": "2025", "amount": "4500.00",
                                   "currency": "EUR", "parts": {"advance": "3750.00", "quarter_true_up": "750.00"}}


def test_the_balance_is_zero_once_the_window_is_settled(tmp_path):
    ledger = tmp_path / "ledger"
    shutil.copytree(LEDGER, ledger)
    assert run_cli("close", MEDIA, "--data", DATA, "--period", "2025-06", "--ledger", ledger).returncode == 0
    st = run_cli("statement", MEDIA, "--data", DATA, "--payee", "med-001", "--period", "2025-07",
                 "--ledger", ledger, "--format", "text", "--locale", "en")
    assert "Paid on account, netted by quarter_true_up in 2025-Q3: €0.00" in st.stdout
    # the year: advances 3,750 - 150 + 750 = 4,350.00, true-ups 750 + 350 = 1,100.00
    assert "netted by year_regularisation in 2025: €5,450.00 (advance €4,350.00, quarter_true_up €1,100.00)" \
        in st.stdout


def test_a_recoverable_draw_balance_is_the_plans_outstanding(tmp_path):
    plan, data, ledger = PLANS / "recoverable-draw.kam", EXAMPLES / "draws", tmp_path / "ledger"
    for month in ("01", "02", "03"):
        assert run_cli("close", plan, "--data", data, "--period", f"2025-{month}", "--ledger", ledger).returncode == 0
    st = run_cli("statement", plan, "--data", data, "--payee", "sdr-1", "--period", "2025-04",
                 "--ledger", ledger, "--format", "text", "--locale", "en")
    assert st.returncode == 0, st.stderr
    # sdr-1 earns 10%: Jan 500 (draw 1,500), Feb 1,000 (draw 1,000), Mar 3,000 (no draw;
    # recovery -min(2,500, 3,000 - 1,000) = -2,000): outstanding 2,500 - 2,000 = 500.00, which
    # April (earned 4,000) recovers: -min(500, 3,000) = -500.00.
    assert "Paid on account, netted by outstanding in 2025: €500.00 (draw €2,500.00, recovery -€2,000.00)" \
        in st.stdout
    run = run_cli("run", plan, "--data", data, "--ledger", ledger, "--period", "2025-04", "--payee", "sdr-1")
    assert "sdr-1,2025-04,recovery,,-500.00,EUR" in run.stdout


def test_views_of_a_closed_year_the_data_does_not_go_past(tmp_path):
    """An annual plan, 2025 closed, data of 2025 only: `run --ledger` must pay 2026, which the
    data cannot compute (KR407); the statement of 2025 still shows the ledger, and a pending
    correction of 2025 (kam-01's expansion deal cut to a quarter), which 2026 will pay."""
    plan, ledger, data = PLANS / "kam-capped.kam", tmp_path / "ledger", tmp_path / "data"
    shutil.copytree(EXAMPLES / "04-uncapped-scenarios" / "scenario-b", data)
    assert run_cli("close", plan, "--data", data, "--period", "2025", "--ledger", ledger).returncode == 0
    assert "KR407" in run_cli("run", plan, "--data", data, "--ledger", ledger).stderr
    f = data / "deals.csv"
    f.write_text(f.read_text().replace("dl-001,acc-01,kam-01,expansion,abtasty,200000,",
                                       "dl-001,acc-01,kam-01,expansion,abtasty,50000,"))
    st = run_cli("statement", plan, "--data", data, "--payee", "kam-01", "--ledger", ledger, "--format", "text",
                 "--locale", "en")
    assert st.returncode == 0, st.stderr
    # kam-01: variable 20,000, opening ARR 1,000,000. Recorded: +200,000 of expansion -> NRR
    # 120%, rate 100% + 20 x 10% capped at 100% -> 20,000.00. Now +50,000 -> NRR 105%, rate
    # 100% - 20 x 5% = 0% -> 0.00: -20,000.00 owed back, paid in 2026.
    ledger_part = st.stdout[st.stdout.index("\nLedger\n"):]
    assert "Period 2025: closed" in ledger_part and "Paid to date for variable: €20,000.00" in ledger_part
    assert ("Adjustment of variable for 2025, paid in 2026: -€20,000.00 (2025 recomputed on today's data "
            "differs from what was paid for it) (pending: paid by the next close)") in ledger_part
    assert "To pay for" not in ledger_part  # 2025 is closed, 2026 not computed
