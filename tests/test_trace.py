"""The derivation trace is data: it serialises to JSON, cites plan lines and data rows, and
re-adds: every sum's row contributions add up to its value, every component's node holds the
amount paid."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from kamrules import load_data, load_plan, evaluate, plan_periods
from kamrules.core.numeric import Money

from conftest import EXAMPLES, PLANS, run_cli

RUNS = [
    ("abtasty-kam.kam", "01-abtasty-nrr-upsell"),
    ("media-advance.kam", "02-media-advance"),
    ("pharma-rire.kam", "03-pharma-envelope"),
    ("equipment-colour-grid.kam", "05-colour-grid"),
    ("multi-year-booster.kam", "06-multi-year-booster"),
    ("emotion-ai-challenge.kam", "07-challenge-spif"),
    ("charter-split.kam", "08-charter-split"),
    ("clawback-cash.kam", "09-clawback-cash"),
]


def _payouts(plan, case):
    checked = load_plan(str(PLANS / plan))
    tables = load_data(checked, str(EXAMPLES / case))
    return evaluate(checked, tables, plan_periods(checked, tables), trace=True)


def _amount(v):
    return v.amount if isinstance(v, Money) else v


@pytest.mark.parametrize("plan, case", RUNS)
def test_trace_re_adds_to_every_amount(plan, case):
    payouts = _payouts(plan, case)
    assert payouts
    sums_checked = 0
    for p in payouts:
        assert p.trace is not None and p.trace.kind == "component"
        assert _amount(p.trace.value) == p.amount
        for node in p.trace.walk():
            if node.kind == "aggregate" and node.name.startswith("sum("):
                total = sum((_amount(r.contribution) for r in node.rows), Decimal(0))
                assert total == _amount(node.value), node.name
                sums_checked += 1
            elif node.kind == "aggregate" and node.name.startswith("count("):
                assert Decimal(len(node.rows)) == node.value, node.name
                sums_checked += 1
        json.dumps(p.trace.to_json())  # serialisable as is
    if plan == "pharma-rire.kam":  # a pool, no sums: the shares re-add to the envelope
        assert sum(p.amount for p in payouts) == Decimal("70000")
        assert all(any(n.kind == "share" for n in p.trace.walk()) for p in payouts)
    else:
        assert sums_checked > 0


def test_trace_cites_rule_lines_rows_and_branches():
    payouts = _payouts("abtasty-kam.kam", "01-abtasty-nrr-upsell")
    nrr = next(p for p in payouts if p.payee_id == "kam-001" and p.component == "nrr")
    nodes = list(nrr.trace.walk())
    plan_lines = (PLANS / "abtasty-kam.kam").read_text().splitlines()
    assert plan_lines[nrr.trace.span.line - 1].startswith("component nrr")
    decision = next(n for n in nodes if n.kind == "decision")
    assert decision.branch == "row 4: | >= 110% |"
    expansion = next(n for n in nodes if n.name == "expansion")
    ids = {r.id for c in expansion.children for r in c.rows}
    assert {"dl-0001", "dl-0002"} <= ids
    assert all(r.table == "deals" and r.row > 1 for c in expansion.children for r in c.rows)


def test_ledger_appears_in_the_trace():
    payouts = _payouts("media-advance.kam", "02-media-advance")
    reg = next(p for p in payouts if p.component == "year_regularisation" and p.payee_id == "med-001")
    paid = [n for n in reg.trace.children if n.kind == "paid"]
    assert {n.name for n in paid} == {"paid(advance, 2025)", "paid(quarter_true_up, 2025)"}
    advances = next(n for n in paid if n.name.startswith("paid(advance"))
    assert advances.value.amount == Decimal("750") * 11  # January to November


def test_explain_cli_shows_lines_rows_and_json():
    res = run_cli("explain", PLANS / "abtasty-kam.kam", "--data", EXAMPLES / "01-abtasty-nrr-upsell",
                  "--payee", "kam-001", "--period", "2025-Q1")
    assert res.returncode == 0, res.stderr
    assert "kam-001 2025-Q1: total 18600.00 EUR" in res.stdout
    assert "| component nrr = nrr_weight * quarterly_variable * payout_rate(nrr_attainment)" in res.stdout
    assert "row 2 of deals (dl-0001) -> 60000.00 EUR" in res.stdout
    res = run_cli("explain", PLANS / "abtasty-kam.kam", "--data", EXAMPLES / "01-abtasty-nrr-upsell",
                  "--payee", "kam-001", "--period", "2025-Q1", "--format", "json")
    data = json.loads(res.stdout)
    assert {d["component"] for d in data} == {"nrr", "upsell"}
    assert data[0]["trace"]["value"] == {"amount": "12600.00", "currency": "EUR"}


def test_trace_says_why_each_row_is_credited():
    payouts = _payouts("charter-split.kam", "08-charter-split")
    fee = next(p for p in payouts if p.payee_id == "kam-001" and p.component == "charter_fee")
    rows = [r for n in fee.trace.walk() if n.kind == "aggregate" for r in n.rows]
    assert [r.id for r in rows] == ["ch-001", "ch-002", "ch-005"]
    assert rows[0].why == ("kam of grp-1 on 2025-02-03: assignments row 2 (kam-001 from 2024-01-01)",)
    grid = _payouts("equipment-colour-grid.kam", "05-colour-grid")
    bonus = next(p for p in grid if p.payee_id == "eq-001" and str(p.period) == "2025-03")
    why = {r.id: r.why for n in bonus.trace.walk() if n.kind == "aggregate" for r in n.rows}
    assert why["eq-dl-002"] == ("colour_rate row 2",)  # 7% discount: yellow
