"""Issue 16's small fixes on the team page and statements, each checked on tiny data by hand:
year to date under --period counts the year's earlier periods, a payee paid 0.00 is not
"paid", histogram bins labelled with the fewest decimals, one blank line in Markdown."""
from __future__ import annotations

from conftest import EXAMPLES, PLANS, run_cli

TB_PLAN, TB_DATA = PLANS / "team-bonus.kam", EXAMPLES / "team-bonus"


def test_markdown_statement_has_no_double_blank_line():
    # team-bonus kam-3 in 2025-Q1: a component sentence with no bullet under it (team_bonus),
    # then the derivation and the period's end: each followed by exactly one blank line
    r = run_cli("statement", TB_PLAN, "--data", TB_DATA, "--payee", "kam-3", "--format", "md")
    assert r.returncode == 0, r.stderr
    assert "\n\n\n" not in r.stdout


def test_a_payee_paid_zero_is_not_counted_as_paid_and_says_why():
    # 2025-Q2 of team-bonus: only kam-1 books (10,000 EUR won on 2025-04-02: 5% = 500.00); the
    # north team's 10,000 is under its 50,000 target, so no bonus; kam-2, kam-3 and kam-4 have a
    # row of 0.00 (as `run` prints): not paid, each with its reason
    r = run_cli("team", TB_PLAN, "--data", TB_DATA, "--format", "text")
    assert r.returncode == 0, r.stderr
    assert ("2025-Q2: 1 payee paid, total 500.00 EUR, average 500.00 EUR; no payout: "
            "kam-2 (commission, team_bonus at zero), kam-3 (commission, team_bonus at zero), "
            "kam-4 (commission, team_bonus at zero)") in r.stdout
    # 2025-Q1: every payee earns their 5% (3,000 + 2,250 + 1,500 + 1,000) + north's two bonuses
    assert "2025-Q1: 4 payees paid, total 9,750.00 EUR, average 2,437.50 EUR\n" in r.stdout
    assert "kam-2 (Ben)" in r.stdout.split("2025-Q2")[1]  # the zero row is still in the table
