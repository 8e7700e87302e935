"""The managers' team view (`kamrules team`): totals reconcile with `kamrules run`, the
attainment measures are the ones computed by hand from the case files, --team filters,
html is self-contained and deterministic, errors are diagnostics."""
from __future__ import annotations

import csv
import re
from decimal import ROUND_DOWN, Decimal

from conftest import EXAMPLES, PLANS, run_cli

AB_PLAN, AB_DATA = PLANS / "abtasty-kam.kam", EXAMPLES / "01-abtasty-nrr-upsell"
TB_PLAN, TB_DATA = PLANS / "team-bonus.kam", EXAMPLES / "team-bonus"


def _run_rows(plan, data, *extra):
    r = run_cli("run", plan, "--data", data, *extra)
    assert r.returncode == 0, r.stderr
    return {(row["payee_id"], row["period"], row["component"]): Decimal(row["amount"])
            for row in csv.DictReader(r.stdout.splitlines())}


def _md_tables(text: str) -> dict:
    """period -> list of rows (lists of cells) of the markdown tables, header first."""
    out, period = {}, None
    for line in text.splitlines():
        m = re.match(r"## (\S+)$", line)
        if m:
            period = m.group(1)
            out[period] = []
        elif line.startswith("| ") and period is not None:
            out[period].append([c.strip().strip("*") for c in line.strip("|").split("|")])
    return out


def _num(cell: str) -> Decimal:
    return Decimal(cell.replace(",", ""))


def _reconcile(md: str, expected: dict, payees: set):
    tables = _md_tables(md)
    assert tables
    for period, rows in tables.items():
        head, body, total = rows[0], rows[1:-1], rows[-1]
        comps = [h for h in head if h in {c for (_, _, c) in expected if c != "total"}]  # not the measures
        for row in body:
            pid = row[0].split(" ")[0]
            assert pid in payees
            cells = dict(zip(head, row))
            for c in comps:
                assert _num(cells[c]) == expected.get((pid, period, c), Decimal(0)), (pid, period, c)
            assert _num(cells["total"]) == expected[(pid, period, "total")]
        assert {row[0].split(" ")[0] for row in body} == {p for (p, per, c) in expected if per == period}
        run_total = sum((a for (p, per, c), a in expected.items() if per == period and c == "total"),
                        Decimal(0))
        assert _num(dict(zip(head, total))["total"]) == run_total
        for c in comps:
            assert _num(dict(zip(head, total))[c]) == sum(
                (a for (p, per, cc), a in expected.items() if per == period and cc == c), Decimal(0))


def test_team_totals_reconcile_with_run_and_measures_by_hand():
    r = run_cli("team", AB_PLAN, "--data", AB_DATA, "--period", "2025-Q1", "--format", "md")
    assert r.returncode == 0, r.stderr
    expected = _run_rows(AB_PLAN, AB_DATA, "--period", "2025-Q1")
    _reconcile(r.stdout, expected, {"kam-001", "kam-002", "am-003"})
    assert "31,728.00" in r.stdout  # 18,600 + 6,510 + 6,618
    # nrr attainment by hand: (portfolio + expansion - contraction - churn) / portfolio / 105%,
    # rounded down to the percent
    target = Decimal("1.05")
    cases = {"kam-001": (Decimal(500000), Decimal(100000) - 10000 - 10000),
             "kam-002": (Decimal(1000000), Decimal(30000) - 20000 - 50000),
             "am-003": (Decimal(300000), Decimal(20000))}
    rows = {row[0].split(" ")[0]: row for row in _md_tables(r.stdout)["2025-Q1"][1:-1]}
    head = _md_tables(r.stdout)["2025-Q1"][0]
    col = head.index("nrr_attainment")
    for pid, (portfolio, delta) in cases.items():
        att = ((portfolio + delta) / portfolio / target).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        assert rows[pid][col] == f"{(att * 100).normalize():f}%", pid


def test_team_filter_reconciles_for_its_members():
    r = run_cli("team", TB_PLAN, "--data", TB_DATA, "--team", "south", "--format", "md")
    assert r.returncode == 0, r.stderr
    with open(TB_DATA / "people.csv", encoding="utf-8") as fh:
        south = {row["payee_id"] for row in csv.DictReader(fh) if row["team"] == "south"}
    expected = {k: v for k, v in _run_rows(TB_PLAN, TB_DATA).items() if k[0] in south}
    _reconcile(r.stdout, expected, south)
    assert "kam-1" not in r.stdout and "kam-3" in r.stdout


def test_team_html_self_contained_and_deterministic(tmp_path):
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    for path in (a, b):
        r = run_cli("team", AB_PLAN, "--data", AB_DATA, "-o", path)
        assert r.returncode == 0, r.stderr
    assert a.read_bytes() == b.read_bytes()
    text = a.read_text(encoding="utf-8")
    assert not re.search(r"https?:", text) and "<script" not in text
    assert text.count("<svg") >= 2 and '<meta name="viewport"' in text
    assert '<tr data-payee="kam-001">' in text and "18,600.00" in text


def test_team_errors():
    r = run_cli("team", TB_PLAN, "--data", TB_DATA, "--team", "nort")
    assert r.returncode == 1 and "KR405" in r.stderr and "north" in r.stderr
    assert "Traceback" not in r.stderr
    r = run_cli("team", AB_PLAN, "--data", AB_DATA, "--team", "kam")
    assert r.returncode == 1 and "team" in r.stderr and "Traceback" not in r.stderr


def test_team_names_links_year_to_date_and_no_phantom_period(tmp_path):
    page = tmp_path / "team.html"
    r = run_cli("team", AB_PLAN, "--data", AB_DATA, "--statements", "statements/", "-o", page)
    assert r.returncode == 0, r.stderr
    text = page.read_text(encoding="utf-8")
    # people.csv's names; each payee links to the file `statement --all` writes for them
    assert '<a href="statements/kam-001.html">kam-001 (Camille Martin)</a>' in text
    # `run` prints 2025-Q1 only (nobody has targets in Q2): no 2025-Q2 section
    periods = {row["period"] for row in csv.DictReader(run_cli("run", AB_PLAN, "--data", AB_DATA).stdout.splitlines())}
    assert periods == {"2025-Q1"} and "2025-Q2" not in text
    r = run_cli("team", AB_PLAN, "--data", AB_DATA, "--format", "md")
    rows = {row[0].split(" ")[0]: dict(zip(_md_tables(r.stdout)["2025-Q1"][0], row))
            for row in _md_tables(r.stdout)["2025-Q1"][1:]}
    assert rows["kam-001"]["year to date"] == "18,600.00"  # one quarter paid so far in 2025
    assert rows["total"]["year to date"] == "31,728.00"
