"""Closed periods under the plan recorded for them: `paid()` in the open periods reads each
closed period recomputed on today's data under its recorded plan (or under today's plan with
--retroactive), through the History input both engines read (kamrules/core/history.py)."""
from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import EXAMPLES, PLANS, run_cli

MEDIA = PLANS / "media-advance.kam"
LEDGER = Path(__file__).resolve().parent.parent / "docs" / "examples" / "ledger-media"
ENGINES = ("interpreter", "columnar")


def edited(tmp_path: Path, cap: str) -> Path:
    plan = tmp_path / f"media-{cap}.kam"
    text = MEDIA.read_text()
    assert "min(month_performance, 75%)" in text
    plan.write_text(text.replace("min(month_performance, 75%)", f"min(month_performance, {cap})"))
    return plan


@pytest.fixture(scope="module")
def closed_at_75(tmp_path_factory):
    """The media plan (advance capped at 75%) with 2025-01 to 2025-05 closed on the example
    data (the ledger committed in docs/examples, copied)."""
    root = tmp_path_factory.mktemp("media75")
    shutil.copytree(EXAMPLES / "02-media-advance", root / "data")
    shutil.copytree(LEDGER, root / "ledger")
    return root


def june(plan, root, ledger, *more):
    out = {}
    for engine in ENGINES:
        res = run_cli("run", plan, "--data", root / "data", "--ledger", ledger, "--period", "2025-06",
                      "--engine", engine, *more)
        assert res.returncode == 0, res.stderr
        out[engine] = res.stdout.splitlines()[1:]
    assert out["interpreter"] == out["columnar"]
    return out["columnar"]


# med-001: annual variable 12,000, billing target 1,200,000 (100,000 a month, 300,000 a
# quarter). Billed: Jan 110,000, Feb 130,000, Mar 90,000, Apr 80,000, May 95,000, Jun 90,000.
# med-002: variable 24,000, target 2,400,000 (200,000 / 600,000). Billed: Jan 100,000,
# Feb 210,000, Mar 190,000, Apr 250,000, May 260,000, Jun 240,000.
# Recorded (cap 75%): med-001 every advance 750.00, Q1 true-up 3,000 - 2,250 = 750.00;
# med-002 Jan 50% -> 1,000.00, then 1,500.00 a month, Q1 true-up 5,000 - 4,000 = 1,000.00.

def test_cap_raised_after_a_close_keeps_the_recorded_months(closed_at_75, tmp_path):
    plan = edited(tmp_path, "80%")
    rows = june(plan, closed_at_75, closed_at_75 / "ledger")
    # Without --retroactive nothing closed is adjusted; June is computed under the 80% cap
    # on the recorded values of April and May (75%: 750.00 / 1,500.00):
    # med-001: advance 90% capped 80% -> 800.00; Q2 265,000 / 300,000 = 88.33% -> 2,650.00
    #   - (750 + 750 + 800) = 350.00; total 1,150.00.
    # med-002: advance 120% capped 80% -> 1,600.00; Q2 750,000 / 600,000 capped 100% ->
    #   6,000.00 - (1,500 + 1,500 + 1,600) = 1,400.00; total 3,000.00.
    assert rows == ["med-001,2025-06,advance,,800.00,EUR", "med-001,2025-06,quarter_true_up,,350.00,EUR",
                    "med-001,2025-06,total,,1150.00,EUR",
                    "med-002,2025-06,advance,,1600.00,EUR", "med-002,2025-06,quarter_true_up,,1400.00,EUR",
                    "med-002,2025-06,total,,3000.00,EUR"]


def test_cap_raised_retroactively_adjusts_the_closed_months(closed_at_75, tmp_path):
    plan = edited(tmp_path, "80%")
    rows = june(plan, closed_at_75, closed_at_75 / "ledger", "--retroactive")
    # Every closed month under the 80% cap:
    # med-001: Jan, Feb, Mar billed >= 90%: 800.00 each (+50.00); Q1 330,000 capped 100% ->
    #   3,000 - 2,400 = 600.00 (750.00 paid: -150.00); Apr 80% and May 95%: 800.00 (+50.00).
    #   June: advance 800.00, Q2 2,650 - (800 + 800 + 800) = 250.00.
    #   Total 800 + 250 + 3 * 50 - 150 + 2 * 50 = 1,150.00.
    # med-002: Jan 50% -> 1,000.00 (unchanged); Feb 105%, Mar 95% -> 1,600.00 (+100.00); Q1
    #   500,000 / 600,000 = 83.33% -> 5,000 - 4,200 = 800.00 (1,000.00 paid: -200.00); Apr, May
    #   1,600.00 (+100.00). June: 1,600.00, Q2 6,000 - 4,800 = 1,200.00.
    #   Total 1,600 + 1,200 + 100 + 100 - 200 + 100 + 100 = 3,000.00.
    assert rows == [
        "med-001,2025-06,advance,,800.00,EUR", "med-001,2025-06,quarter_true_up,,250.00,EUR",
        *[f"med-001,2025-06,advance,2025-0{m},50.00,EUR" for m in (1, 2, 3)],
        "med-001,2025-06,quarter_true_up,2025-03,-150.00,EUR",
        *[f"med-001,2025-06,advance,2025-0{m},50.00,EUR" for m in (4, 5)],
        "med-001,2025-06,total,,1150.00,EUR",
        "med-002,2025-06,advance,,1600.00,EUR", "med-002,2025-06,quarter_true_up,,1200.00,EUR",
        *[f"med-002,2025-06,advance,2025-0{m},100.00,EUR" for m in (2, 3)],
        "med-002,2025-06,quarter_true_up,2025-03,-200.00,EUR",
        *[f"med-002,2025-06,advance,2025-0{m},100.00,EUR" for m in (4, 5)],
        "med-002,2025-06,total,,3000.00,EUR"]


def test_a_correction_is_recomputed_under_the_recorded_plan(closed_at_75, tmp_path):
    """The April invoice corrected and the cap raised: April is recomputed under the plan
    recorded for it (75%), and June's true-up reads that corrected value."""
    root = tmp_path / "root"
    shutil.copytree(closed_at_75, root)
    f = root / "data" / "invoices.csv"
    f.write_text(f.read_text().replace("inv-00006,med-001,acc-m6,,26666,", "inv-00006,med-001,acc-m6,,6666,"))
    rows = june(edited(tmp_path, "80%"), root, root / "ledger", "--payee", "med-001")
    # April billed 60,000: 60% -> 600.00 under 75% (and under 80%): adjustment -150.00.
    # June 800.00; Q2 245,000 / 300,000 -> 2,450 - (600 + 750 + 800) = 300.00.
    assert rows == ["med-001,2025-06,advance,,800.00,EUR", "med-001,2025-06,quarter_true_up,,300.00,EUR",
                    "med-001,2025-06,advance,2025-04,-150.00,EUR", "med-001,2025-06,total,,950.00,EUR"]


def test_periods_closed_under_two_plans(closed_at_75, tmp_path):
    """Jan-May closed at 75%, then June closed under a 90% cap, then July run under 90%
    with an April correction: April is recomputed under 75%, June under 90%."""
    root = tmp_path / "root"
    shutil.copytree(closed_at_75, root)
    plan = edited(tmp_path, "90%")
    res = run_cli("close", plan, "--data", root / "data", "--period", "2025-06", "--ledger", root / "ledger")
    assert res.returncode == 0, res.stderr
    # June closed under 90%: med-001 advance 90% -> 900.00, Q2 2,650 - (750 + 750 + 900) = 250.00
    assert "med-001,2025-06,quarter_true_up,,250.00,EUR" in res.stdout + \
        (root / "ledger" / "0006-close-2025-06" / "payouts.csv").read_text()
    f = root / "data" / "invoices.csv"
    f.write_text(f.read_text().replace("inv-00006,med-001,acc-m6,,26666,", "inv-00006,med-001,acc-m6,,6666,"))
    out = {}
    for engine in ENGINES:
        res = run_cli("run", plan, "--data", root / "data", "--ledger", root / "ledger", "--period", "2025-07",
                      "--payee", "med-001", "--engine", engine)
        assert res.returncode == 0, res.stderr
        out[engine] = res.stdout.splitlines()[1:]
    assert out["interpreter"] == out["columnar"]
    # April -> 600.00 under 75%: -150.00. June recomputed under 90% with April's 600.00:
    # 2,450 - (600 + 750 + 900) = 200.00 (250.00 paid: -50.00). July billed 120,000: 120%
    # capped 90% -> 900.00. Total 900 - 150 - 50 = 700.00.
    assert out["columnar"] == ["med-001,2025-07,advance,,900.00,EUR",
                               "med-001,2025-07,advance,2025-04,-150.00,EUR",
                               "med-001,2025-07,quarter_true_up,2025-06,-50.00,EUR",
                               "med-001,2025-07,total,,700.00,EUR"]


def test_both_engines_read_the_history_input_alike():
    """The History input straight to the two engines: April and May fixed (med-001's April
    advance 100.00, May nothing), June computed on them."""
    from kamrules.backends.interp.run import evaluate
    from kamrules.backends.polars.engine import evaluate_frames, payouts_list
    from kamrules.core.calendar import parse_period
    from kamrules.core.history import History
    from kamrules.data.fast import frames_from_tables
    from kamrules.data.strict import load_data
    from kamrules.run.session import Session

    plan = Session(str(MEDIA)).check()
    tables = load_data(plan, str(EXAMPLES / "02-media-advance"))
    apr, may, jun = (parse_period(f"2025-0{m}", plan.fiscal_start) for m in (4, 5, 6))
    history = History(frozenset({apr, may}), {("med-001", apr, "advance"): Decimal("100.00")})
    mine = evaluate(plan, tables, [jun], trace=False, history=history)
    table, _ = evaluate_frames(plan, frames_from_tables(plan, tables), [jun], history=history)
    theirs = payouts_list(plan, table, [jun])
    got = {(p.payee_id, p.component): p.amount for p in mine}
    assert got == {(p.payee_id, p.component): p.amount for p in theirs}
    # med-001: Q2 2,650.00 - (100 + 0 + 750) = 1,800.00; med-002: 6,000 - (0 + 0 + 1,500)
    assert got[("med-001", "quarter_true_up")] == Decimal("1800.00")
    assert got[("med-002", "quarter_true_up")] == Decimal("4500.00")


def test_a_held_component_read_by_paid_needs_retroactive(tmp_path):
    """KR750: the history paid() reads is the components' values before holds, which a
    closed period's payouts do not give when paid() reads a held component."""
    plan = tmp_path / "held.kam"
    text = MEDIA.read_text().replace("component advance =", "component advance hold when billed_month < 0 EUR =")
    assert text != MEDIA.read_text()
    plan.write_text(text)
    ledger, data = tmp_path / "ledger", EXAMPLES / "02-media-advance"
    assert run_cli("close", plan, "--data", data, "--period", "2025-01", "--ledger", ledger).returncode == 0
    plan.write_text(text.replace("75%", "80%"))
    res = run_cli("run", plan, "--data", data, "--ledger", ledger)
    assert res.returncode == 1 and "KR750" in res.stderr and "holds `advance`" in res.stderr, res.stderr
    assert res.stdout == ""
    retro = run_cli("run", plan, "--data", data, "--ledger", ledger, "--retroactive", "--period", "2025-02")
    assert retro.returncode == 0, retro.stderr
    # January under 80%: 110% capped 80% -> 800.00, 750.00 paid: +50.00 (med-001); med-002
    # January 50% -> 1,000.00 either way
    assert "med-001,2025-02,advance,2025-01,50.00,EUR" in retro.stdout
    assert ",2025-01," not in retro.stdout.replace("med-001,2025-02,advance,2025-01,50.00,EUR", "")


def test_todays_plan_recorded_before_another(tmp_path):
    """Q1 closed under the 80% cap, April and May under 75%, June run under 80% again: the
    closed periods recorded under today's plan come first, then those of the other plan."""
    plan80, ledger, data = edited(tmp_path, "80%"), tmp_path / "ledger", EXAMPLES / "02-media-advance"
    for month, plan in (("01", plan80), ("02", plan80), ("03", plan80), ("04", MEDIA), ("05", MEDIA)):
        res = run_cli("close", plan, "--data", data, "--period", f"2025-{month}", "--ledger", ledger)
        assert res.returncode == 0, res.stderr
    out = {}
    for engine in ENGINES:
        res = run_cli("run", plan80, "--data", data, "--ledger", ledger, "--period", "2025-06",
                      "--payee", "med-001", "--engine", engine)
        assert res.returncode == 0, res.stderr
        out[engine] = res.stdout.splitlines()[1:]
    assert out["interpreter"] == out["columnar"]
    # April and May count for their 75% advances (750.00 each), June 800.00:
    # Q2 2,650 - (750 + 750 + 800) = 350.00; nothing closed is adjusted.
    assert out["columnar"] == ["med-001,2025-06,advance,,800.00,EUR", "med-001,2025-06,quarter_true_up,,350.00,EUR",
                               "med-001,2025-06,total,,1150.00,EUR"]
