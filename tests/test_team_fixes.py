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


def test_histogram_bins_are_labelled_with_the_fewest_distinct_decimals():
    # AB Tasty 2025-Q1: nrr_attainment 91%, 102% and 110% (test_team.py computes them by hand):
    # 8 bins of (110 - 91) / 8 = 2.375 points, edges 91, 93.375, 95.75, 98.125, 100.5, 102.875,
    # 105.25, 107.625, 110: whole percents (half up) 91 93 96 98 101 103 105 108 110 are all
    # distinct from their neighbours. Payouts 6,510 to 18,600: bins of 1,511.25, whole euros.
    AB_PLAN, AB_DATA = PLANS / "abtasty-kam.kam", EXAMPLES / "01-abtasty-nrr-upsell"
    r = run_cli("team", AB_PLAN, "--data", AB_DATA, "--period", "2025-Q1", "--format", "html")
    assert r.returncode == 0, r.stderr
    assert "<li>91% – 93%: 1 payee</li><li>101% – 103%: 1 payee</li><li>108% – 110%: 1 payee</li>" in r.stdout
    assert "<li>6,510 – 8,021: 2 payees</li><li>17,089 – 18,600: 1 payee</li>" in r.stdout
    assert "93.375%" not in r.stdout and "8,021.25" not in r.stdout


def test_bin_labels_take_decimals_only_until_neighbours_differ():
    from decimal import Decimal

    from kamrules.report import i18n
    from kamrules.report.team import bin_format
    L = i18n.get("en")
    # 93% to 93.5%: edges every 0.0625 point; one decimal gives 93.1% twice (93.0625, 93.125),
    # two decimals keep them apart: 93.06%, 93.13%
    fmt = bin_format(L, [Decimal("0.93"), Decimal("0.935")], "rate", None)
    assert [fmt(Decimal("0.93") + Decimal("0.000625") * k) for k in (1, 2)] == ["93.06%", "93.13%"]
    # amounts 100 to 104 EUR: bins of 0.50, whole euros would repeat (100.5 -> 101, 101 -> 101): one decimal
    fmt = bin_format(L, [Decimal(100), Decimal(104)], "money", "EUR")
    assert fmt(Decimal("100.5")) == "100.5" and fmt(Decimal(101)) == "101.0"  # amounts keep their places
    # yen never has decimals: the currency's unit is the finest
    fmt = bin_format(L, [Decimal(100), Decimal(101)], "money", "JPY")
    assert fmt(Decimal("100.125")) == "100"


def test_team_year_to_date_under_period_counts_the_years_earlier_periods():
    # --period 2025-Q2: Q1 is computed, not printed; kam-1's year to date 4,000 (Q1: 3,000 + the
    # north bonus 1,000) + 500 = 4,500; kam-2 3,250 + 0; the team 9,750 + 500 = 10,250
    r = run_cli("team", TB_PLAN, "--data", TB_DATA, "--period", "2025-Q2", "--format", "text")
    assert r.returncode == 0, r.stderr
    assert "2025-Q1" not in r.stdout and "from 2025-Q2" not in r.stdout
    lines = {x.split()[0]: x.split() for x in r.stdout.splitlines() if x.startswith("  ")}
    assert lines["kam-1"][-2:] == ["500.00", "4,500.00"]
    assert lines["kam-2"][-2:] == ["0.00", "3,250.00"]
    assert lines["total"][-2:] == ["500.00", "10,250.00"]


def test_statement_year_to_date_under_period_counts_the_years_earlier_periods():
    # team-bonus kam-1, --period 2025-Q2: Q1's 4,000 + Q2's 500 = 4,500, as without --period
    r = run_cli("statement", TB_PLAN, "--data", TB_DATA, "--payee", "kam-1", "--period", "2025-Q2",
                "--format", "text")
    assert r.returncode == 0, r.stderr
    assert "Year to date (from 2025-Q1): €4,500.00" in r.stdout
    assert "2025-Q1 (" not in r.stdout  # computed, not printed


def test_portal_year_to_date_under_period_counts_the_years_earlier_periods():
    from kamrules.portal.app import Portal
    portal = Portal(str(TB_PLAN), str(TB_DATA), ["2025-Q2"])
    team = portal.team()
    # kam-1's row: 500.00 this quarter, 4,500.00 to date (Q1 4,000 computed, not served)
    assert '<td data-label="total">500.00</td><td data-label="year to date">4,500.00</td>' in team
    assert 'data-period="2025-Q1"' not in team
    assert "€4,500.00" in portal.statement("kam-1", "en")
