"""What the views read from the ledger: `diff --ledger` (closed periods not paid again, the
adjustments of each version as rows of their own) and ledger.history.payee_history (paid to
date, adjustments with their reasons, period status). Amounts by hand from the media case
(examples/02-media-advance: med-001 variable 12,000, target 100,000 a month; med-002
variable 24,000, target 200,000 a month)."""
from __future__ import annotations

import csv
import io
import shutil
from decimal import Decimal

import pytest

from conftest import EXAMPLES, PLANS, run_cli
from kamrules.ledger.history import Adjustment, payee_history
from kamrules.ledger.store import verified

MEDIA = PLANS / "media-advance.kam"


def close(data, ledger, period, *more):
    res = run_cli("close", MEDIA, "--data", data, "--period", period, "--ledger", ledger, *more)
    assert res.returncode == 0, res.stderr


@pytest.fixture(scope="module")
def q1_closed(tmp_path_factory):
    """2025-01 to 2025-03 closed; a copy of the plan whose advance is capped at 80%."""
    root = tmp_path_factory.mktemp("views")
    shutil.copytree(EXAMPLES / "02-media-advance", root / "data")
    for m in ("01", "02", "03"):
        close(root / "data", root / "ledger", f"2025-{m}")
    text = MEDIA.read_text()
    assert "min(month_performance, 75%)" in text
    (root / "cap80.kam").write_text(text.replace("min(month_performance, 75%)", "min(month_performance, 80%)"))
    return root


def diff(root, *more):
    res = run_cli("diff", MEDIA, root / "cap80.kam", "--data", root / "data", "--ledger", root / "ledger",
                  "--period", "2025-04", "--format", "csv", *more)
    assert res.returncode == 0, res.stderr
    return [(r["payee_id"], r["period"], r["adjusts"], r["before"], r["after"], r["change"])
            for r in csv.DictReader(io.StringIO(res.stdout))]


def test_diff_with_a_ledger_leaves_closed_periods_alone(q1_closed):
    # April: med-001 billed 80,000 (80%): 750.00 capped at 75%, 800.00 at 80%;
    # med-002 billed 250,000 (125%): 1,500.00 vs 1,600.00. Q1 is closed and recomputed under
    # the plan its close recorded: no adjustment under either version.
    assert diff(q1_closed) == [("med-002", "2025-04", "", "1500.00", "1600.00", "100.00"),
                               ("med-001", "2025-04", "", "750.00", "800.00", "50.00")]


def test_diff_with_a_ledger_retroactive_shows_the_adjustments(q1_closed):
    # Under the 80% cap, Q1 recomputed: med-001 Jan (110%) and Feb (130%) advances +50.00
    # each; March advance (90%) +50.00 and the Q1 true-up 3,000 - 2,400 = 600 instead of
    # 750: March nets -100.00. med-002: Jan (50%) unchanged, Feb (105%) +100.00, March
    # (95%) +100.00 and the true-up (83.33% of 6,000 = 5,000) - 4,200 = 800 instead of
    # 1,000: March nets -100.00. The old version pays no adjustment (its own plan).
    got = diff(q1_closed, "--retroactive")
    assert sorted(got) == sorted([
        ("med-002", "2025-04", "", "1500.00", "1600.00", "100.00"),
        ("med-002", "2025-04", "2025-02", "0.00", "100.00", "100.00"),
        ("med-002", "2025-04", "2025-03", "0.00", "-100.00", "-100.00"),
        ("med-001", "2025-04", "", "750.00", "800.00", "50.00"),
        ("med-001", "2025-04", "2025-01", "0.00", "50.00", "50.00"),
        ("med-001", "2025-04", "2025-02", "0.00", "50.00", "50.00"),
        ("med-001", "2025-04", "2025-03", "0.00", "-100.00", "-100.00")])


def test_diff_retroactive_needs_a_ledger(q1_closed):
    res = run_cli("diff", MEDIA, q1_closed / "cap80.kam", "--data", q1_closed / "data", "--retroactive")
    assert res.returncode == 1 and "KR806" in res.stderr


def test_payee_history_paid_to_date_adjustments_and_status(q1_closed, tmp_path):
    data, ledger = tmp_path / "data", tmp_path / "ledger"
    shutil.copytree(q1_closed / "data", data)
    shutil.copytree(q1_closed / "ledger", ledger)
    adj = tmp_path / "adjustments.csv"
    adj.write_text("payee_id,period,component,amount,currency,reason,reference\n"
                   "med-001,2025-04,spiff,250.00,EUR,Q1 challenge winner,FIN-7\n")
    # inv-00001 (med-001, January) corrected from 110,000 to 50,000: January 50% -> advance
    # 500.00 instead of 750.00 (-250.00); Q1 270,000 = 90% -> 2,700 - (500 + 750 + 750) =
    # 700.00 instead of 750.00 (-50.00). April (80%): advance 750.00.
    f = data / "invoices.csv"
    text = f.read_text()
    assert "inv-00001,med-001,acc-m1,,110000," in text
    f.write_text(text.replace("inv-00001,med-001,acc-m1,,110000,", "inv-00001,med-001,acc-m1,,50000,"))
    close(data, ledger, "2025-04", "--adjustments", adj)
    h = payee_history(verified(str(ledger)), "med-001", periods=["2025-05"])
    assert h.paid_to_date == {"advance": (Decimal("2750.00"), "EUR"),  # 4 x 750 - 250
                              "quarter_true_up": (Decimal("700.00"), "EUR"),  # 750 - 50
                              "spiff": (Decimal("250.00"), "EUR")}
    assert h.total == {"EUR": Decimal("3700.00")}
    recomputed = "recomputed on today's data differs from what was paid for it"
    assert h.adjustments == (
        Adjustment("2025-04", "2025-01", "advance", Decimal("-250.00"), "EUR", f"2025-01 {recomputed}", True),
        Adjustment("2025-04", "2025-03", "quarter_true_up", Decimal("-50.00"), "EUR", f"2025-03 {recomputed}", True),
        Adjustment("2025-04", "manual:FIN-7", "spiff", Decimal("250.00"), "EUR", "Q1 challenge winner", True))
    assert h.periods == {"2025-01": "closed", "2025-02": "closed", "2025-03": "closed",
                         "2025-04": "closed", "2025-05": "open"}
    # a reopening's reason is the reason of the difference it pays; pending rows are marked
    res = run_cli("ledger", "reopen", ledger, "--period", "2025-04", "--reason", "April spiff doubled")
    assert res.returncode == 0, res.stderr
    from kamrules.ledger.store import Row
    pending = [Row("med-001", "2025-04", "advance", "2025-04", Decimal("10.00"), "EUR")]
    h = payee_history(verified(str(ledger)), "med-001", pending=pending)
    assert h.periods["2025-04"] == "open"
    assert h.adjustments[-1] == Adjustment("2025-04", "2025-04", "advance", Decimal("10.00"), "EUR",
                                           "2025-04 reopened: April spiff doubled", False)
