"""The nine acceptance cases, end to end through the command line, to the cent."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from conftest import EXAMPLES, PLANS, run_cli

CASES = {
    "01-abtasty-nrr-upsell": ["abtasty-kam.kam"],
    "02-media-advance": ["media-advance.kam"],
    "03-pharma-envelope": ["pharma-rire.kam"],
    "05-colour-grid": ["equipment-colour-grid.kam"],
    "06-multi-year-booster": ["multi-year-booster.kam"],
    "07-challenge-spif": ["emotion-ai-challenge.kam"],
    "08-charter-split": ["charter-split.kam"],
    "09-clawback-cash": ["clawback-cash.kam"],
}


def _rows(text):
    return {(r["payee_id"], r["period"], r["component"]): Decimal(r["amount"])
            for r in csv.DictReader(io.StringIO(text))}


def compare(actual: dict, expected: dict):
    """The contract: listed rows must match; unlisted computed rows must be 0.00."""
    with_totals = any(k[2] == "total" for k in expected)
    problems = []
    for key, amount in expected.items():
        got = actual.get(key, Decimal("0.00"))
        if got != amount:
            problems.append(f"{key}: expected {amount}, got {got}")
    for key, amount in actual.items():
        if key not in expected and amount != 0 and (key[2] != "total" or with_totals):
            problems.append(f"{key}: unexpected {amount}")
    return problems


def run_plan(plan, folder, *extra):
    res = run_cli("run", PLANS / plan, "--data", folder, "--format", "csv", *extra)
    assert res.returncode == 0, res.stderr
    return res.stdout


@pytest.mark.parametrize("case", sorted(CASES))
def test_case(case):
    folder = EXAMPLES / case
    expected = _rows((folder / "expected.csv").read_text())
    actual = _rows(run_plan(CASES[case][0], folder))
    assert compare(actual, expected) == []


@pytest.mark.parametrize("scenario", ["scenario-a", "scenario-b"])
def test_case_04_uncapped_scenarios(scenario):
    folder = EXAMPLES / "04-uncapped-scenarios" / scenario
    expected = _rows((folder / "expected.csv").read_text())
    actual = {}
    for tag in ("uncapped", "capped"):
        for (payee, period, comp), amount in _rows(run_plan(f"kam-{tag}.kam", folder)).items():
            if comp != "total":
                actual[(payee, period, f"{comp}@{tag}")] = amount
    assert compare(actual, expected) == []


def test_csv_amount_format_is_plain_two_decimals():
    out = run_plan("abtasty-kam.kam", EXAMPLES / "01-abtasty-nrr-upsell")
    header, *lines = out.strip().splitlines()
    assert header == "payee_id,period,component,amount,currency"
    for line in lines:
        amount = line.split(",")[3]
        assert amount.replace("-", "", 1).replace(".", "", 1).isdigit()
        assert len(amount.split(".")[1]) == 2
