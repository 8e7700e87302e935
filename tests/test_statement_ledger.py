"""`statement --ledger`: each period's status, what was paid to date per component and the
recorded adjustments, from the ledger folder (kamrules close). The expected amounts are summed
here from the ledger's own payouts.csv files (a second method, not kamrules' reader)."""
from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
LEDGER = ROOT / "docs" / "examples" / "ledger-media"  # the media plan, 2025-01 .. 2025-05 closed
DATA = ROOT / "docs" / "examples" / "media-corrected"
PLAN = ROOT / "plans" / "media-advance.kam"


def paid_by_hand(payee: str) -> dict:
    sums: dict = {}
    for f in sorted(LEDGER.glob("*/payouts.csv")):
        for row in csv.DictReader(f.open(encoding="utf-8")):
            if row["payee_id"] == payee:
                sums[row["component"]] = sums.get(row["component"], Decimal(0)) + Decimal(row["amount"])
    return sums


def test_the_statement_shows_the_ledger_status_and_paid_to_date():
    r = run_cli("statement", PLAN, "--data", DATA, "--payee", "med-001", "--period", "2025-05",
                "--period", "2025-06", "--ledger", LEDGER, "--format", "text", "--locale", "en")
    assert r.returncode == 0, r.stderr
    ledger = r.stdout[r.stdout.index("\nLedger\n"):]
    assert "Period 2025-05: closed" in ledger and "Period 2025-06: open" in ledger
    want = paid_by_hand("med-001")
    assert want and all(v > 0 for v in want.values())
    for component, amount in want.items():
        assert f"Paid to date for {component}: €{amount:,.2f}" in ledger, (component, amount, ledger)


def test_in_french_and_without_a_ledger_no_section():
    r = run_cli("statement", PLAN, "--data", DATA, "--payee", "med-001", "--period", "2025-06",
                "--ledger", LEDGER, "--format", "md", "--locale", "fr")
    assert r.returncode == 0, r.stderr
    assert "## Registre des paiements" in r.stdout and "Période 2025-06 : ouverte" in r.stdout
    plain = run_cli("statement", PLAN, "--data", DATA, "--payee", "med-001", "--period", "2025-06",
                    "--format", "md", "--locale", "fr")
    assert plain.returncode == 0 and "Registre des paiements" not in plain.stdout


def test_a_tampered_ledger_is_refused(tmp_path):
    import shutil
    copy = tmp_path / "ledger"
    shutil.copytree(LEDGER, copy)
    f = copy / "0002-close-2025-02" / "payouts.csv"
    f.write_text(f.read_text().replace("750.00", "751.00", 1))
    out = tmp_path / "s.html"
    r = run_cli("statement", PLAN, "--data", DATA, "--payee", "med-001", "--ledger", copy, "-o", out)
    assert r.returncode == 1 and "KR804" in r.stderr and not out.exists()


def test_the_team_page_shows_statuses_and_each_payees_paid_to_date():
    r = run_cli("team", PLAN, "--data", DATA, "--period", "2025-06", "--ledger", LEDGER)
    assert r.returncode == 0, r.stderr
    ledger = r.stdout[r.stdout.index("\nLedger\n"):]
    assert "2025-05 closed" in ledger and "2025-06 open" in ledger
    for payee in ("med-001", "med-002"):
        total = sum(paid_by_hand(payee).values())
        assert f"{payee} paid to date: {total:,.2f} EUR" in ledger, (payee, total, ledger)
    plain = run_cli("team", PLAN, "--data", DATA, "--period", "2025-06")
    assert plain.returncode == 0 and "Ledger" not in plain.stdout
