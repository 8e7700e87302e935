"""The payment ledger through the CLI: close, run --ledger (adjustments of closed periods),
ledger verify|show|reopen, payroll; the two scenarios of issue 15 with amounts by hand."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLES, PLANS, run_cli

MEDIA = PLANS / "media-advance.kam"
ABTASTY = PLANS / "abtasty-kam.kam"


def copy_data(case: str, dest: Path) -> Path:
    shutil.copytree(EXAMPLES / case, dest)
    return dest


def close(plan, data, ledger, period, *more):
    res = run_cli("close", plan, "--data", data, "--period", period, "--ledger", ledger, *more)
    assert res.returncode == 0, res.stderr
    return res


def listing(folder: Path) -> dict:
    """Every file under the folder with its bytes (what `nothing written` compares)."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def correct_april_invoice(data: Path) -> None:
    """inv-00006 (med-001, 2025-04-05) corrected from 26,666 to 6,666 EUR."""
    f = data / "invoices.csv"
    text = f.read_text()
    assert "inv-00006,med-001,acc-m6,,26666,2025-04-05," in text
    f.write_text(text.replace("inv-00006,med-001,acc-m6,,26666,", "inv-00006,med-001,acc-m6,,6666,"))


@pytest.fixture(scope="module")
def media_closed(tmp_path_factory):
    """The media plan with 2025-01 to 2025-05 closed on the example data (a pristine copy of
    the ledger for each test: copy it before writing)."""
    root = tmp_path_factory.mktemp("media")
    data = copy_data("02-media-advance", root / "data")
    for month in ("01", "02", "03", "04", "05"):
        close(MEDIA, data, root / "ledger", f"2025-{month}")
    return root


def fresh(media_closed, tmp_path) -> tuple[Path, Path]:
    data, ledger = tmp_path / "data", tmp_path / "ledger"
    shutil.copytree(media_closed / "data", data)
    shutil.copytree(media_closed / "ledger", ledger)
    return data, ledger


def test_media_april_invoice_corrected_after_close(media_closed, tmp_path):
    data, ledger = fresh(media_closed, tmp_path)
    correct_april_invoice(data)
    res = run_cli("run", MEDIA, "--data", data, "--ledger", ledger, "--period", "2025-06")
    assert res.returncode == 0, res.stderr
    # med-001, target 1,200,000/year: 100,000 a month, 300,000 a quarter; variable 12,000.
    # April billed 6,666 + 26,666 + 26,668 = 60,000: 60% -> advance 12,000 * 60% / 12 = 600.00,
    #   750.00 was paid: adjustment -150.00, adjusts 2025-04.
    # June billed 90,000: 90%, capped 75% -> advance 750.00.
    # Q2 billed 60,000 + 95,000 + 90,000 = 245,000: 81.67% of 300,000 -> 2,450.00, minus the
    #   advances recomputed 600 + 750 + 750 = 2,100 -> true-up 350.00. Total 950.00.
    # med-002 unchanged: 1,500 advance, Q2 at 100%: 6,000 - 4,500 = 1,500.
    assert res.stdout == (
        "payee_id,period,component,adjusts,amount,currency\n"
        "med-001,2025-06,advance,,750.00,EUR\n"
        "med-001,2025-06,quarter_true_up,,350.00,EUR\n"
        "med-001,2025-06,advance,2025-04,-150.00,EUR\n"
        "med-001,2025-06,total,,950.00,EUR\n"
        "med-002,2025-06,advance,,1500.00,EUR\n"
        "med-002,2025-06,quarter_true_up,,1500.00,EUR\n"
        "med-002,2025-06,total,,3000.00,EUR\n")
    # closing June records it; paid to date then is what the plan owes on today's data:
    # advances 750 * 5 + 600 (April) = 4,350 = 750*6 - 150; true-ups 750 (Q1) + 350 (Q2)
    close(MEDIA, data, ledger, "2025-06")
    shown = run_cli("ledger", "show", ledger, "--payee", "med-001")
    assert shown.stdout == ("payee_id,component,paid_to_date,currency\n"
                            "med-001,advance,4350.00,EUR\n"
                            "med-001,quarter_true_up,1100.00,EUR\n"
                            "med-001,total,5450.00,EUR\n")
    plain = run_cli("run", MEDIA, "--data", data, "--payee", "med-001", "--period", "2025-Q1",
                    "--period", "2025-Q2")
    owed = sum(float(line.split(",")[3]) for line in plain.stdout.splitlines()[1:] if ",total," in line)
    assert owed == 5450.00
    # nothing left to adjust: July pays its own advance only
    july = run_cli("run", MEDIA, "--data", data, "--ledger", ledger, "--period", "2025-07", "--payee", "med-001")
    assert july.stdout.splitlines()[1:] == ["med-001,2025-07,advance,,750.00,EUR", "med-001,2025-07,total,,750.00,EUR"]


def test_abtasty_late_expansion_in_a_closed_quarter(tmp_path):
    data = copy_data("01-abtasty-nrr-upsell", tmp_path / "data")
    ledger = tmp_path / "ledger"
    close(ABTASTY, data, ledger, "2025-Q1")
    with open(data / "deals.csv", "a") as fh:
        fh.write("dl-0100,acc-101,kam-001,expansion,abtasty,10000,2025-03-20,12,0,,won,\n")
    res = run_cli("run", ABTASTY, "--data", data, "--ledger", ledger, "--period", "2025-Q2")
    assert res.returncode == 0, res.stderr
    # kam-001, quarterly variable 40,000 / 4 = 10,000; portfolio on 2025-01-01: acc-101..105
    # = 200k + 150k + 80k + 60k + 10k = 500,000.
    # Paid: NRR (500k + 100k - 10k - 10k) / 500k = 116%, / 105% = 110.48% -> 110% -> rate 180%
    #   -> 70% * 10,000 * 1.8 = 12,600; net upsell 80,000 / 50,000 = 160% -> 180 + 0.4*50 = 200%
    #   -> 30% * 10,000 * 2 = 6,000.
    # With +10,000: NRR 590k / 500k = 118%, / 105% = 112.38% -> 112% -> 180.8% -> 12,656: +56.00;
    #   upsell 90,000 / 50,000 = 180% -> 208% -> 6,240: +240.00. Nobody else changes; Q2 pays
    #   nothing of its own (no Q2 targets).
    assert res.stdout == ("payee_id,period,component,adjusts,amount,currency\n"
                          "kam-001,2025-Q2,nrr,2025-Q1,56.00,EUR\n"
                          "kam-001,2025-Q2,upsell,2025-Q1,240.00,EUR\n"
                          "kam-001,2025-Q2,total,,296.00,EUR\n")
    # the same rows without --period: the quarter after the last closed one pays them
    assert run_cli("run", ABTASTY, "--data", data, "--ledger", ledger).stdout == res.stdout


def test_without_ledger_the_csv_has_no_adjusts_column(media_closed, tmp_path):
    data, ledger = fresh(media_closed, tmp_path)
    plain = run_cli("run", MEDIA, "--data", data, "--period", "2025-06")
    expected = (EXAMPLES / "02-media-advance" / "expected.csv").read_text().splitlines()
    assert plain.stdout.splitlines() == expected[:1] + [line for line in expected if ",2025-06," in line]
    with_ledger = run_cli("run", MEDIA, "--data", data, "--ledger", ledger, "--period", "2025-06")
    # nothing corrected: the same rows, the column adjusts empty
    assert [line.split(",") for line in with_ledger.stdout.splitlines()[1:]] == \
        [line.split(",")[:3] + [""] + line.split(",")[3:] for line in plain.stdout.splitlines()[1:]]


def test_closed_periods_are_not_paid_again(media_closed, tmp_path):
    data, ledger = fresh(media_closed, tmp_path)
    res = run_cli("run", MEDIA, "--data", data, "--ledger", ledger)
    periods = {line.split(",")[1] for line in res.stdout.splitlines()[1:]}
    assert periods == {f"2025-{m:02d}" for m in range(6, 13)}
    res = run_cli("run", MEDIA, "--data", data, "--ledger", ledger, "--period", "2025-04")
    assert res.returncode == 1 and "KR806" in res.stderr and res.stdout == ""


def test_close_refuses_and_writes_nothing(media_closed, tmp_path):
    data, ledger = fresh(media_closed, tmp_path)
    before = listing(ledger)
    again = run_cli("close", MEDIA, "--data", data, "--period", "2025-05", "--ledger", ledger)
    assert again.returncode == 1 and "KR802" in again.stderr and "2025-05 is closed already" in again.stderr
    skip = run_cli("close", MEDIA, "--data", data, "--period", "2025-07", "--ledger", ledger)
    assert skip.returncode == 1 and "KR803" in skip.stderr and "2025-06 is still open" in skip.stderr
    quarter = run_cli("close", MEDIA, "--data", data, "--period", "2025-Q2", "--ledger", ledger)
    assert quarter.returncode == 1 and "KR806" in quarter.stderr
    (data / "invoices.csv").write_text((data / "invoices.csv").read_text().replace("26666,2025-04-05", "26666,2025-04-31"))
    bad = run_cli("close", MEDIA, "--data", data, "--period", "2025-06", "--ledger", ledger)
    assert bad.returncode == 1 and "invoices.csv" in bad.stderr and "Traceback" not in bad.stderr
    assert listing(ledger) == before
    first = run_cli("close", MEDIA, "--data", data, "--period", "2025-02", "--ledger", tmp_path / "new")
    assert first.returncode == 1 and not (tmp_path / "new").exists()


def test_a_plan_edited_after_a_close_changes_nothing_closed_unless_retroactive(media_closed, tmp_path):
    data, ledger = fresh(media_closed, tmp_path)
    plan = tmp_path / "media.kam"
    plan.write_text(MEDIA.read_text().replace("min(month_performance, 75%)", "min(month_performance, 50%)"))
    res = run_cli("run", plan, "--data", data, "--ledger", ledger, "--payee", "med-001", "--period", "2025-06")
    # the closed months keep the plan recorded for them: no adjustment, and paid() reads them
    # as recomputed under it (750.00 each). June under the new plan: advance 90% capped 50% ->
    # 500.00; Q2 265,000/300,000 -> 2,650 - (750 + 750 + 500) -> 650.00
    assert res.stdout.splitlines()[1:] == ["med-001,2025-06,advance,,500.00,EUR",
                                           "med-001,2025-06,quarter_true_up,,650.00,EUR",
                                           "med-001,2025-06,total,,1150.00,EUR"]
    retro = run_cli("run", plan, "--data", data, "--ledger", ledger, "--payee", "med-001",
                    "--period", "2025-06", "--retroactive")
    # every month Jan-May billed >= 80%: 750 paid, 500 now: -250 each; Q1 330,000 -> 100%:
    # 3,000 - 1,500 = 1,500 now, 750 paid: +750. Total 1,650 - 1,250 + 750 = 1,150.
    assert retro.stdout.splitlines()[1:] == [
        "med-001,2025-06,advance,,500.00,EUR", "med-001,2025-06,quarter_true_up,,1150.00,EUR",
        *[f"med-001,2025-06,advance,2025-0{m},-250.00,EUR" for m in (1, 2, 3)],
        "med-001,2025-06,quarter_true_up,2025-03,750.00,EUR",
        *[f"med-001,2025-06,advance,2025-0{m},-250.00,EUR" for m in (4, 5)],
        "med-001,2025-06,total,,1150.00,EUR"]


def test_reopen_then_close_again_pays_the_difference(media_closed, tmp_path):
    data, ledger = fresh(media_closed, tmp_path)
    correct_april_invoice(data)
    assert run_cli("ledger", "reopen", ledger, "--period", "2025-04", "--reason", " ").returncode == 1
    res = run_cli("ledger", "reopen", ledger, "--period", "2025-04", "--reason", "inv-00006 corrected")
    assert res.returncode == 0, res.stderr
    assert "0006-reopen-2025-04" in res.stdout
    assert run_cli("ledger", "reopen", ledger, "--period", "2025-04", "--reason", "x").returncode == 1
    # April is open again: it pays its own difference (600 - 750), June pays no adjustment
    res = run_cli("run", MEDIA, "--data", data, "--ledger", ledger, "--payee", "med-001",
                  "--period", "2025-04", "--period", "2025-06")
    assert res.stdout.splitlines()[1:] == [
        "med-001,2025-04,advance,2025-04,-150.00,EUR", "med-001,2025-04,total,,-150.00,EUR",
        "med-001,2025-06,advance,,750.00,EUR", "med-001,2025-06,quarter_true_up,,350.00,EUR",
        "med-001,2025-06,total,,1100.00,EUR"]
    close(MEDIA, data, ledger, "2025-04")
    assert sorted(os.listdir(ledger))[-3:] == ["0006-reopen-2025-04", "0007-close-2025-04", "plans"]
    shown = run_cli("ledger", "show", ledger, "--payee", "med-001").stdout
    assert "med-001,advance,3600.00,EUR" in shown  # 5 * 750 - 150
    assert run_cli("ledger", "verify", ledger).returncode == 0
    reason = (ledger / "0006-reopen-2025-04" / "manifest.json").read_text()
    assert '"reason": "inv-00006 corrected"' in reason


@pytest.mark.parametrize("target, line", [
    ("0002-close-2025-02/payouts.csv", 3),
    ("0002-close-2025-02/payroll.csv", 2),
    ("0002-close-2025-02/manifest.json", 4),
    ("plan", 10),
    ("0005-close-2025-05/manifest.json", 3),
])
def test_verify_names_the_first_file_and_line_that_changed(media_closed, tmp_path, target, line):
    _, ledger = fresh(media_closed, tmp_path)
    assert run_cli("ledger", "verify", ledger).returncode == 0
    if target == "plan":
        path = next((ledger / "plans").iterdir())
        shown = f"plans/{path.name}"
    else:
        path, shown = ledger / target, target
    lines = path.read_bytes().splitlines(keepends=True)
    text = bytearray(lines[line - 1])
    text[len(text) // 2] ^= 0x01  # one bit of one byte, in the middle of the line
    path.write_bytes(b"".join(lines[:line - 1]) + bytes(text) + b"".join(lines[line:]))
    res = run_cli("ledger", "verify", ledger)
    assert res.returncode == 1 and "KR804" in res.stderr
    assert f"{shown} line {line}" in res.stderr, res.stderr
    run = run_cli("run", MEDIA, "--data", media_closed / "data", "--ledger", ledger)
    assert run.returncode == 1 and "KR804" in run.stderr and run.stdout == ""


def test_verify_names_a_missing_record(media_closed, tmp_path):
    _, ledger = fresh(media_closed, tmp_path)
    shutil.rmtree(ledger / "0003-close-2025-03")
    res = run_cli("ledger", "verify", ledger)
    assert res.returncode == 1 and "record 0003 is missing" in res.stderr
    ok = run_cli("ledger", "verify", media_closed / "ledger")
    assert ok.returncode == 0 and "5 records, chain intact" in ok.stdout


def test_a_close_killed_at_any_point_leaves_a_ledger_that_verifies(media_closed, tmp_path, monkeypatch):
    """KeyboardInterrupt at the k-th write syscall of close (fsync, rename, replace): the ledger
    is unchanged or holds the whole new record, and verifies."""
    data, ledger = fresh(media_closed, tmp_path)
    before = listing(ledger)
    calls = {"n": 0, "stop": None}
    real = {name: getattr(os, name) for name in ("fsync", "rename", "replace")}

    def trap(name):
        def call(*a, **k):
            calls["n"] += 1
            if calls["n"] == calls["stop"]:
                raise KeyboardInterrupt
            return real[name](*a, **k)
        return call

    for name in real:
        monkeypatch.setattr(os, name, trap(name))
    outcomes = set()
    for stop in range(1, 40):
        calls["n"], calls["stop"] = 0, stop
        res = run_cli("close", MEDIA, "--data", data, "--period", "2025-06", "--ledger", ledger)
        calls["stop"] = None
        assert run_cli("ledger", "verify", ledger).returncode == 0
        after = listing(ledger)
        new = sorted(k for k in after if k.startswith("0006-close-2025-06/"))
        if new:  # the record is whole (killed after its rename, or not killed at all)
            assert new == [f"0006-close-2025-06/{f}" for f in ("manifest.json", "payouts.csv", "payroll.csv")]
            outcomes.add("done")
            break
        assert res.returncode == 130
        assert {k: v for k, v in after.items() if not k.startswith("plans/")} == \
            {k: v for k, v in before.items() if not k.startswith("plans/")}
        assert not [n for n in os.listdir(ledger) if n.startswith(".kamrules-")]
        outcomes.add("unchanged")
    assert outcomes == {"done", "unchanged"}
    assert (ledger / "0006-close-2025-06" / "payouts.csv").exists()


def test_payroll_export_with_earning_codes(tmp_path):
    data = copy_data("02-media-advance", tmp_path / "data")
    plan = tmp_path / "media.kam"
    plan.write_text(MEDIA.read_text())
    ledger = tmp_path / "ledger"
    (tmp_path / "pyproject.toml").write_text('[tool.kamrules.payroll]\nadvance = "C100"\n')
    res = run_cli("close", plan, "--data", data, "--period", "2025-01", "--ledger", ledger)
    assert res.returncode == 0, res.stderr
    assert run_cli("payroll", ledger).stdout == ("payee_id,period,earning_code,amount,currency\n"
                                                 "med-001,2025-01,C100,750.00,EUR\n"
                                                 "med-002,2025-01,C100,1000.00,EUR\n")
    close(plan, data, ledger, "2025-02")
    refused = run_cli("close", plan, "--data", data, "--period", "2025-03", "--ledger", ledger)
    assert refused.returncode == 1 and "KR808" in refused.stderr and "quarter_true_up" in refused.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.kamrules.payroll]\nadvance = "C100"\nquarter_true_up = "C200"\n')
    close(plan, data, ledger, "2025-03")
    # March: med-001 advance 90% -> 750, Q1 330,000 -> 100% -> 3,000 - 2,250 = 750;
    # med-002 (variable 24,000, 200,000 a month): March 190,000 -> 95%, capped 75% -> 1,500;
    # advances 1,000 + 1,500 + 1,500 = 4,000 and Q1 billed 100,000 + 210,000 + 190,000 =
    # 500,000 of 600,000 -> 83.33% -> 5,000 - 4,000 = 1,000.
    assert run_cli("payroll", ledger, "--period", "2025-03").stdout.splitlines()[1:] == [
        "med-001,2025-03,C100,750.00,EUR", "med-001,2025-03,C200,750.00,EUR",
        "med-002,2025-03,C100,1500.00,EUR", "med-002,2025-03,C200,1000.00,EUR"]
    assert run_cli("payroll", ledger, "--period", "2025-04").returncode == 1


ADJ_HEADER = "payee_id,period,component,amount,currency,reason,reference\n"


def test_manual_adjustments_are_paid_once_with_their_reasons(media_closed, tmp_path):
    data, ledger = fresh(media_closed, tmp_path)
    adj = tmp_path / "adjustments.csv"
    adj.write_text(ADJ_HEADER + "med-002,2025-06,spiff,250.00,EUR,Q2 media challenge winner,FIN-2301\n")
    res = run_cli("run", MEDIA, "--data", data, "--ledger", ledger, "--period", "2025-06",
                  "--payee", "med-002", "--adjustments", adj)
    # med-002 June: advance 1,500 and true-up 1,500 (expected.csv), plus the 250.00 spiff
    assert res.stdout.splitlines()[1:] == ["med-002,2025-06,advance,,1500.00,EUR",
                                           "med-002,2025-06,quarter_true_up,,1500.00,EUR",
                                           "med-002,2025-06,spiff,manual:FIN-2301,250.00,EUR",
                                           "med-002,2025-06,total,,3250.00,EUR"]
    close(MEDIA, data, ledger, "2025-06", "--adjustments", adj)
    assert (ledger / "0006-close-2025-06" / "adjustments.csv").read_text() == \
        ADJ_HEADER + "med-002,2025-06,spiff,250.00,EUR,Q2 media challenge winner,FIN-2301\n"
    # recorded: not paid again, and not taken for a plan amount (no adjustment of June)
    july = run_cli("run", MEDIA, "--data", data, "--ledger", ledger, "--period", "2025-07",
                   "--payee", "med-002", "--adjustments", adj)
    assert july.stdout.splitlines()[1:] == ["med-002,2025-07,advance,,1200.00,EUR",
                                            "med-002,2025-07,total,,1200.00,EUR"]
    assert "med-002,spiff,250.00,EUR" in run_cli("ledger", "show", ledger).stdout
    # a new one dated in a closed period is refused, naming the line
    adj.write_text(ADJ_HEADER + "med-002,2025-06,spiff,25.00,EUR,late,FIN-2302\n")
    late = run_cli("run", MEDIA, "--data", data, "--ledger", ledger, "--adjustments", adj)
    assert late.returncode == 1 and "KR810" in late.stderr and f"{adj}:2:1" in late.stderr


@pytest.mark.parametrize("row, what", [
    ("med-002,2025-07,spiff,25.00,EUR,,FIN-1", "`reason` is empty"),
    ("med-002,2025-07,spiff,25.00,EUR,why, ", "`reference` is empty"),
    ("med-009,2025-07,spiff,25.00,EUR,why,FIN-1", "payee `med-009`"),
    ("med-002,2025-Q3,spiff,25.00,EUR,why,FIN-1", "is not a month"),
    ("med-002,2025-07,spiff,25.001,EUR,why,FIN-1", "not an amount to the cent"),
])
def test_a_malformed_manual_adjustment_is_named(media_closed, tmp_path, row, what):
    data, ledger = fresh(media_closed, tmp_path)
    adj = tmp_path / "adjustments.csv"
    adj.write_text(ADJ_HEADER + row + "\n")
    res = run_cli("close", MEDIA, "--data", data, "--period", "2025-06", "--ledger", ledger, "--adjustments", adj)
    assert res.returncode == 1 and "KR809" in res.stderr and what in res.stderr, res.stderr
    assert not (ledger / "0006-close-2025-06").exists()


def test_both_engines_close_and_adjust_alike(tmp_path):
    data = copy_data("01-abtasty-nrr-upsell", tmp_path / "data")
    out = {}
    for engine in ("interpreter", "columnar"):
        ledger = tmp_path / engine
        close(ABTASTY, data, ledger, "2025-Q1", "--engine", engine)
        out[engine] = [(ledger / "0001-close-2025-Q1" / "payouts.csv").read_text()]
    with open(data / "deals.csv", "a") as fh:
        fh.write("dl-0100,acc-201,kam-002,churn,abtasty,50000,2025-02-20,12,0,,won,\n")
    for engine in out:
        res = run_cli("run", ABTASTY, "--data", data, "--ledger", tmp_path / engine, "--engine", engine)
        out[engine].append(res.stdout)
    assert out["interpreter"] == out["columnar"]
    assert ",2025-Q1,-" in out["columnar"][1]  # kam-002's churn lowers Q1: a negative adjustment
