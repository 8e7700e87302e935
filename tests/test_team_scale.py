"""The team page of a large population (issue 16, report/team_scale.py): at most --limit rows
per period, the largest totals first, --page K of them, while the summary, the budget and the
charts count every payee; within the limit the page is today's, byte for byte. The page summed
on the columnar run's payout frame is the page cut from every row built (the reference); the
charts' bins counted on sorted values are svg's; the portal's /team is paged with ?page=K.
Expected figures are worked out by hand in the comments, or from `kamrules run`'s CSV."""
from __future__ import annotations

import csv
import io
import sys
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from conftest import EXAMPLES, PLANS, ROOT, examples, run_cli

sys.path.insert(0, str(ROOT / "bench"))

CASES = [
    (PLANS / "abtasty-kam.kam", EXAMPLES / "01-abtasty-nrr-upsell"),
    (PLANS / "team-bonus.kam", EXAMPLES / "team-bonus"),
    (PLANS / "media-advance.kam", EXAMPLES / "02-media-advance"),
    (PLANS / "prorated-variable.kam", EXAMPLES / "proration"),
    (EXAMPLES / "team-pools" / "plan.kam", EXAMPLES / "team-pools"),  # share(): pooled weights
    (PLANS / "clawback-cash.kam", EXAMPLES / "09-clawback-cash"),  # totals taken back, cancelled out
]


def _data(plan, data, period=None):
    from kamrules.report.team_values import gather
    from kamrules.run.session import Session
    return gather(Session(str(plan), str(data), period))


def _pages(d, limit, page, lang, frame=True, team=None, shown=None) -> dict:
    from kamrules.report.team import render
    from kamrules.report.team_scale import build
    tv = build(d.plan, d.tables, d.payouts, d.periods, team, None, lang, shown, values=d.values,
               frame=d.frame if frame else None, limit=limit, page=page)
    return {fmt: render(tv, fmt) for fmt in ("html", "md", "text")}


@pytest.mark.parametrize("plan,data", CASES)
def test_the_page_summed_on_the_frame_is_the_page_cut_from_every_row(plan, data):
    import kamrules.report.team_scale as ts
    d = _data(plan, data)
    assert ts._large(d.plan, d.tables, d.frame, d.periods, None, None, "en", None, d.values, 1, 1) is not None
    for limit, page in ((1, 1), (2, 1), (1, 3), (2, 2), (1000, 1)):
        for lang in ("en", "fr"):
            assert _pages(d, limit, page, lang) == _pages(d, limit, page, lang, frame=False), (limit, page, lang)


def test_within_the_limit_the_page_is_todays_byte_for_byte():
    plan, data = CASES[0]
    unlimited = run_cli("team", plan, "--data", data, "--format", "html", "--limit", "0")
    default = run_cli("team", plan, "--data", data, "--format", "html")
    at = run_cli("team", plan, "--data", data, "--format", "html", "--limit", "3")  # 3 payees: within
    assert unlimited.returncode == 0 and unlimited.stdout == default.stdout == at.stdout
    assert "largest total first" not in default.stdout


def _run_totals(plan, data) -> dict:
    """period -> {payee: total} from `kamrules run`'s CSV (the reference the page reconciles with)."""
    r = run_cli("run", plan, "--data", data, "-q")
    assert r.returncode == 0, r.stderr
    out: dict = {}
    for row in csv.DictReader(io.StringIO(r.stdout)):
        if row["component"] == "total":  # run's own total line per payee
            continue
        by = out.setdefault(row["period"], {})
        by[row["payee_id"]] = by.get(row["payee_id"], Decimal(0)) + Decimal(row["amount"])
    return out


def test_the_largest_totals_first_and_the_summary_counts_everyone():
    plan, data = CASES[0]
    totals = _run_totals(plan, data)["2025-Q1"]
    ranked = sorted(totals, key=lambda p: (-totals[p], p))
    whole = run_cli("team", plan, "--data", data, "--format", "md", "--period", "2025-Q1", "--limit", "0").stdout
    for page in (1, 2, 3):
        r = run_cli("team", plan, "--data", data, "--format", "md", "--period", "2025-Q1", "--limit", "1",
                    "--page", str(page))
        assert r.returncode == 0, r.stderr
        rows = [line for line in r.stdout.splitlines() if line.startswith("| ") and not line.startswith(
            ("| payee |", "| **total**"))]
        assert len(rows) == 1 and rows[0].startswith(f"| {ranked[page - 1]} ")  # the page-th largest total
        assert rows[0] in whole  # the same line as on the whole page
        # 3 payees, 2025-Q1: 31,728.00 EUR in all (docs/statements.md), whatever the page shows
        assert "3 payees paid, total 31,728.00 EUR, average 10,576.00 EUR" in r.stdout
        assert f"payees {page} to {page} of 3, largest total first; page {page} of 3" in r.stdout
    past = run_cli("team", plan, "--data", data, "--format", "md", "--period", "2025-Q1", "--limit", "1",
                   "--page", "9").stdout  # past the last page: the last
    assert "payees 3 to 3 of 3" in past


def test_a_long_list_of_payees_with_no_payout_is_cut_and_counted(tmp_path):
    import workload
    workload.generate(str(tmp_path), 60, 1, 40, 3)
    targets = (tmp_path / "targets.csv").read_text().splitlines()
    # only kam-000000 to kam-000009 keep their targets: the 50 others are not eligible
    (tmp_path / "targets.csv").write_text("\n".join(targets[:1] + [t for t in targets[1:] if t < "kam-000010"]) + "\n")
    plan = ROOT / "bench" / "abtasty-monthly.kam"
    whole = run_cli("team", plan, "--data", tmp_path, "--format", "text", "--limit", "0").stdout
    cut = run_cli("team", plan, "--data", tmp_path, "--format", "text", "--limit", "5").stdout
    listed = whole.split("no payout: ")[1].split("\n")[0].split("), ")
    assert len(listed) >= 50 and "kam-000059 (not eligible)" in listed[-1]
    said = cut.split("no payout: ")[1].split("\n")[0]
    # the first 20 named as on the whole page, the others counted
    assert said == "), ".join(listed[:20]) + f") and {len(listed) - 20} more"


@settings(max_examples=examples(4), deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 12), st.integers(1, 3), st.integers(0, 60),
       st.integers(1, 4), st.integers(1, 3))
def test_the_benchmark_plan_on_generated_data(tmp_path_factory, seed, payees, months, deals, limit, page):
    import workload
    folder = tmp_path_factory.mktemp("bench")
    workload.generate(str(folder), payees, months, deals, seed)
    d = _data(ROOT / "bench" / "abtasty-monthly.kam", folder)
    assert _pages(d, limit, page, "en") == _pages(d, limit, page, "en", frame=False)


def test_with_a_period_the_year_to_date_counts_the_earlier_months(tmp_path):
    import workload
    workload.generate(str(tmp_path), 12, 4, 60, 11)
    d = _data(ROOT / "bench" / "abtasty-monthly.kam", tmp_path, "2025-03")
    for limit in (1, 4):
        assert _pages(d, limit, 1, "fr", shown=d.shown) == _pages(d, limit, 1, "fr", frame=False, shown=d.shown)


@settings(max_examples=examples(30))
@given(st.lists(st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False), min_size=1,
                max_size=60) | st.lists(st.sampled_from([Decimal("0.1"), Decimal("0.30"), Decimal("1E+1")]),
                                        min_size=1, max_size=20))
def test_the_bins_counted_on_sorted_values_are_svgs(values):
    from kamrules.report import svg, team_bins
    assert team_bins.histogram_bins(values, 8) == svg.histogram_bins(values, 8)
    assert team_bins.binned(values, 8) == svg._binned(values, 8)
    assert team_bins.span(values, 8) == svg._binned(values, 8)[:3]


def test_a_tree_is_cut_at_the_deepest_level_that_fits(tmp_path):
    """A tree of more payees than --limit keeps its top levels whole, with their subtotals."""
    from test_team_tree import DEALS, LINES, PEOPLE, PLAN
    (tmp_path / "p.kam").write_text(PLAN, encoding="utf-8")
    for name, text in (("people", PEOPLE), ("reports_to", LINES), ("deals", DEALS)):
        (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
    r = run_cli("team", tmp_path / "p.kam", "--data", tmp_path, "--format", "md", "--limit", "4")
    assert r.returncode == 0, r.stderr
    firsts = [line.split("|")[1].strip().strip("*") for line in r.stdout.splitlines() if line.startswith("| ")][1:]
    # 5 payees over 3 levels (tests/test_team_tree.py): ceo; m1, m2; a, b. Down to depth 1: 3 payees
    # (4 fit, not 5), with the subtotals of ceo, m1 and m2
    assert firsts == ["ceo (Chloé)", "· m1 (Marc)", "· subtotal m1 and reports (2 payees)", "· m2 (Mia)",
                      "· subtotal m2 and reports (2 payees)", "subtotal ceo and reports (5 payees)", "total"]
    assert "the reporting tree down to depth 1: 3 of 5 payees" in r.stdout
    assert "**222.00**" in r.stdout  # the total still everyone's: 32 + 130 + 60


@pytest.mark.parametrize("bad", ["-1", "x", "1.5"])
def test_limit_and_page_take_whole_numbers(bad):
    plan, data = CASES[0]
    for option in ("--limit", "--page"):
        r = run_cli("team", plan, "--data", data, option, bad)
        assert r.returncode == 2 and "whole number" in r.stderr and "Traceback" not in r.stderr


def test_the_portal_team_page_is_paged(tmp_path, monkeypatch):
    testclient = pytest.importorskip("starlette.testclient")
    import kamrules.report.team_scale as ts
    from kamrules.portal.app import Portal, make_app
    monkeypatch.setattr(ts, "LIMIT", 1)
    monkeypatch.setattr(ts.build, "__defaults__", ts.build.__defaults__[:-2] + (1, 1))
    plan, data = CASES[0]
    c = testclient.TestClient(make_app(Portal(str(plan), str(data))))
    totals = _run_totals(plan, data)["2025-Q1"]
    ranked = sorted(totals, key=lambda p: (-totals[p], p))
    first, second = c.get("/team").text, c.get("/team?page=2&locale=fr").text
    assert f'data-payee="{ranked[0]}"' in first and f'data-payee="{ranked[1]}"' not in first
    assert '<a rel="next" href="/team?page=2">next page</a>' in first and 'rel="prev"' not in first
    assert f'data-payee="{ranked[1]}"' in second
    assert '<a rel="prev" href="/team?locale=fr&amp;page=1">page précédente</a>' in second


@settings(max_examples=60, deadline=None)
@given(st.lists(st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False, allow_infinity=False),
                min_size=1, max_size=40))
def test_a_chart_drawn_from_bins_counted_once_is_svgs_own(values):
    """team.py sorts a chart's values once (team_bins.chart_bins) for the SVG and the words under
    it: the same SVG and the same bins as svg.py counting value by value."""
    from kamrules.report import svg, team_bins
    counted, rows = team_bins.chart_bins(values, 8)
    fmt = str
    assert svg.histogram_svg(values, 8, fmt, "t", "", counted) == svg.histogram_svg(values, 8, fmt, "t")
    assert rows == svg.histogram_bins(values, 8)
