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
