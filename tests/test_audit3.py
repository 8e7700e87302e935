"""The third outside audit of statements and the team page (issue 16; the findings in
tests/data/audit3/FINDINGS.md, most harmful first): each finding kept fixed, on the plans of
plans/ and their example data, through the command line (in-process). Amounts are computed
by hand in the comments."""
from __future__ import annotations

import re
import subprocess

import pytest

from conftest import EXAMPLES, PLANS, chromium, run_cli

CLAWBACK = (PLANS / "clawback-cash.kam", EXAMPLES / "09-clawback-cash")


def _statement(plan_data, *args):
    plan, data = plan_data
    r = run_cli("statement", plan, "--data", data, *args)
    assert r.returncode == 0, r.stderr
    return r.stdout


# ---------------------------------------------------------------- 1. a clawback's rows count against the payout
@pytest.mark.parametrize("lang, head, sentence, amount", [
    ("en", "Rows taken back in booking_commission:", "booking_commission pays -€8,000.00; 1 row taken back",
     "-€8,000.00"),
    ("fr", "Lignes reprises dans booking_commission :", "booking_commission paie -8\u202f000,00\u00a0€; 1 ligne reprise",
     "-8\u202f000,00\u00a0€")])
def test_a_clawed_back_row_shows_its_negative_contribution(lang, head, sentence, amount):
    """cb-002: 80,000 won on 10 February, cancelled on 2 May (81 days, within the 180 days):
    booking_commission of May = 0 (nothing booked) - 80,000 x 10% = -8,000. The row was listed
    as "credited" with +8,000; it is taken back, at -8,000."""
    out = _statement(CLAWBACK, "--payee", "ae-020", "--period", "2025-05", "--format", "text", "--locale", lang)
    assert sentence in out
    block = out.split(head, 1)[1].split("\n")[1]
    assert "cb-002" in block and block.rstrip().endswith(amount), block
    assert "1 row credited" not in out and "1 ligne créditée" not in out
    # the same in the html (its summary) and the markdown (its table)
    html = _statement(CLAWBACK, "--payee", "ae-020", "--period", "2025-05", "--format", "html", "--locale", "en")
    assert "Rows taken back in booking_commission (-€8,000.00)" in html
    md = _statement(CLAWBACK, "--payee", "ae-020", "--period", "2025-05", "--format", "md", "--locale", "en")
    assert "| February 10, 2025 | cb-002 | €80,000.00 | -€8,000.00 |" in md


def test_period_does_not_hide_a_component_that_paid_earlier_in_the_year():
    """ae-020 was paid cash_commission in March (25,000 x 10% = 2,500): with --period 2025-05
    it is zero, and was said "cannot apply to you" (the year's earlier periods were not looked
    at); it is shown at 0.00 with its reason, as in the statement of every period."""
    out = _statement(CLAWBACK, "--payee", "ae-020", "--period", "2025-05", "--format", "text")
    assert "cash_commission cannot apply to you" not in out
    assert "  cash_commission: €0.00\n" in out and "no row credited to you this period" in out


# ---------------------------------------------------------------- 2. the team page: net zero, clawback
def test_team_net_zero_and_clawback_are_said_as_such():
    """2025-04, ae-021: cb-005 (64,000 on 31 March) cancelled on 1 April: booking -6,400; its
    invoice ci-003 paid on 30 April: cash +6,400; total 0 — not "no data". 2025-05, ae-020:
    -8,000 (cb-002 taken back): not a payee paid, and no average of -8,000."""
    plan, data = CLAWBACK
    r = run_cli("team", plan, "--data", data, "--format", "text")
    assert r.returncode == 0, r.stderr
    april = next(x for x in r.stdout.splitlines() if x.startswith("2025-04:"))
    assert "ae-021 (booking_commission, cash_commission cancel out)" in april
    may = next(x for x in r.stdout.splitlines() if x.startswith("2025-05:"))
    assert may.startswith("2025-05: 0 payees paid, total -8,000.00 EUR, average 0.00 EUR; "
                          "taken back: ae-020 (-8,000.00)"), may
    # March: 2,500 (ae-020) and 6,400 (ae-021) paid: average (2,500 + 6,400) / 2 = 4,450 as before
    assert "2025-03: 2 payees paid, total 8,900.00 EUR, average 4,450.00 EUR" in r.stdout
    fr = run_cli("team", plan, "--data", data, "--format", "text", "--locale", "fr").stdout
    assert "ae-021 (booking_commission, cash_commission se compensent)" in fr
    assert "repris : ae-020 (-8\u202f000,00)" in fr


# ---------------------------------------------------------------- 3. an empty date
@pytest.mark.parametrize("lang, reason", [("en", "paid_date is empty"), ("fr", "paid_date est vide")])
def test_a_row_left_out_for_an_empty_date_says_the_date_is_empty(lang, reason):
    """ci-002 (25,000, not paid: no paid_date) was left out of March's cash_commission as
    "paid_date  is outside 2025-03" (an empty value, two spaces)."""
    out = _statement(CLAWBACK, "--payee", "ae-020", "--period", "2025-03", "--format", "text", "--locale", lang)
    line = next(x for x in out.splitlines() if "ci-002" in x)
    assert line.rstrip().endswith(reason), line
    assert "  is outside" not in out and "  est hors" not in out


# ---------------------------------------------------------------- 4. a quarter on one printed page
def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


@pytest.mark.parametrize("payee", ["kam-001", "am-003"])
def test_a_typical_quarter_prints_on_one_page(payee, tmp_path):
    """kam-001's 2025-Q1 (two components, two charts, what-ifs and ratios) printed on two
    pages, the second holding the end of the upsell chart; with the print stylesheet (A4,
    12 mm margins, 9 pt) it is one page, by `--format pdf` and by Chromium's print of the html."""
    browser = chromium()
    if browser is None:
        pytest.skip("no chromium binary: install Debian's `chromium` (done by .ci/run when apt works)")
    plan_data = (PLANS / "abtasty-kam.kam", EXAMPLES / "01-abtasty-nrr-upsell")
    pdf = tmp_path / "q1.pdf"
    _statement(plan_data, "--payee", payee, "--period", "2025-Q1", "--locale", "fr", "-o", pdf)
    assert _pages(pdf.read_bytes()) == 1
    page = tmp_path / "q1.html"
    _statement(plan_data, "--payee", payee, "--period", "2025-Q1", "--locale", "fr", "-o", page)
    printed = tmp_path / "printed.pdf"
    r = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={printed}",
                        "--no-pdf-header-footer", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert _pages(printed.read_bytes()) == 1
