"""Past a curve's top tier, the next step of an axis rounded to steps (report/whatif.py
step_tier): 1% more business may pay nothing while some more lifts the rounded attainment a
step and pays. The statement says how much, re-run through the engine, on both paths
(`--payee`: the interpreter on the payee's rows; `--all` from BATCH_FROM payees: the clones'
batch)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import run_cli
from kamrules.portal import pages

ROOT = Path(__file__).resolve().parent.parent
PLAN, DATA = ROOT / "plans" / "abtasty-kam.kam", ROOT / "examples" / "01-abtasty-nrr-upsell"


def _nrr_lines(text: str) -> list:
    q1 = text.split("2025-Q2 (")[0]
    part = q1.split("  nrr: ")[1].split("\n  upsell: ")[0]
    return [x.strip() for x in part.splitlines() if x.strip().startswith("- ")]


def test_kam_001_at_the_top_tier_is_told_the_next_step_of_its_attainment():
    """kam-001, 2025-Q1: nrr_result = (500,000 + 100,000 - 10,000 - 10,000) / 500,000 = 116%,
    nrr_target 1.05: nrr_attainment = round(1.16 / 1.05, 1%, down) = 110%, the top tier
    (180% + 0.4 x (a - 110%)). 1% more expansion (1,000) gives 581,000 / 500,000 / 1.05 =
    110.67%: still 110%, nothing more. 111% needs nrr_result >= 1.11 x 1.05 = 1.1655, so
    500,000 x 1.1655 - 580,000 = 2,750.00 more expansion (2,749 gives 110.99..%: still 110%);
    it pays 0.4% x 70% x 10,000 = 28.00 more on nrr."""
    res = run_cli("statement", PLAN, "--data", DATA, "--payee", "kam-001", "--format", "text")
    assert res.returncode == 0, res.stderr
    assert _nrr_lines(res.stdout)[0] == ("- €2,750.00 more expansion before March 31, 2025 would raise nrr_attainment "
                                         "to 111% and pay €28.00 more on nrr")
    res = run_cli("statement", PLAN, "--data", DATA, "--payee", "kam-001", "--format", "text", "--locale", "fr")
    assert [x.strip() for x in res.stdout.splitlines() if "porterait" in x] == [("- 2\u202f750,00\u00a0€ de plus en expansion avant le 31 mars 2025 porterait "
                                         "nrr_attainment à 111\u202f% et paierait 28,00\u00a0€ de plus sur nrr")]


def test_a_first_step_that_pays_is_not_followed_by_a_step_search(tmp_path):
    """upsell at kam-001 is past its top tier too (160%), but 1% more expansion (1,000) already
    pays: the 1% sentence alone is said, no 'would raise' sentence (the step search runs only
    when 1% pays nothing)."""
    res = run_cli("statement", PLAN, "--data", DATA, "--payee", "kam-001", "--format", "text", "--period", "2025-Q1")
    upsell = res.stdout.split("\n  upsell: ")[1].split("How it is computed")[0]
    assert "would pay €24.00 more on upsell" in upsell and "would raise" not in upsell


@pytest.mark.parametrize("batch_from", [2, pages.BATCH_FROM])
def test_all_equals_payee(monkeypatch, tmp_path, batch_from):
    """--all (batched from 2 payees, or the interpreter per payee) writes each payee's
    statement as --payee does, the step sentence included."""
    monkeypatch.setattr(pages, "BATCH_FROM", batch_from)
    out = tmp_path / "all"
    from kamrules.cli.main import main
    assert main(["statement", str(PLAN), "--data", str(DATA), "--all", "--format", "text", "-o", str(out)]) == 0
    for f in sorted(out.iterdir()):
        pid = f.name.split(".")[0]
        one = run_cli("statement", PLAN, "--data", DATA, "--payee", pid, "--format", "text").stdout
        assert f.read_text(encoding="utf-8") == one, pid
    assert "would raise nrr_attainment to 111% and pay €28.00 more on nrr" in (out / "kam-001.txt").read_text()
