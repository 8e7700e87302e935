"""`kamrules simulate`: plans x data scenarios side by side; case 04's cost ratios and its
expected.csv reproduced; figures recomputed here from the scenario CSV files."""
from __future__ import annotations

import csv
import io
import json
import os
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from conftest import EXAMPLES, PLANS, examples, run_cli
from kamrules.report.compare import plan_tags

CASE = EXAMPLES / "04-uncapped-scenarios"
PLANS_04 = [PLANS / "kam-uncapped.kam", PLANS / "kam-capped.kam"]


def _csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _by_hand(scenario):
    """fixed, revenue and the variable under each plan, from the scenario's CSV files."""
    people = _csv(CASE / scenario / "people.csv")
    arr = {r["account_id"]: Decimal(r["arr"]) for r in _csv(CASE / scenario / "arr.csv")}
    deals = [r for r in _csv(CASE / scenario / "deals.csv") if r["type"] == "expansion" and r["status"] == "won"]
    fixed = sum(Decimal(p["annual_fixed"]) for p in people)
    revenue = sum(Decimal(d["amount"]) for d in deals)
    variable = {"uncapped": Decimal(0), "capped": Decimal(0)}
    for p in people:
        mine = [d for d in deals if d["owner_id"] == p["payee_id"]]
        opening = sum(arr[d["account_id"]] for d in mine)
        nrr = (opening + sum(Decimal(d["amount"]) for d in mine)) / opening
        rate = max(Decimal(0), 1 + 20 * (nrr - Decimal("1.10")))
        variable["uncapped"] += Decimal(p["annual_variable"]) * rate
        variable["capped"] += Decimal(p["annual_variable"]) * min(rate, Decimal(1))
    return fixed, revenue, variable


def test_the_seed_ratios_scenario_a_capped_1_00_and_scenario_b_uncapped_1_16():
    res = run_cli("simulate", *PLANS_04, "--data", CASE / "scenario-a", CASE / "scenario-b",
                  "--revenue", "expansion", "--format", "json")
    assert res.returncode == 0, res.stderr
    out = {(r["scenario"], r["tag"]): r for r in json.loads(res.stdout)}
    assert set(out) == {(s, t) for s in ("scenario-a", "scenario-b") for t in ("uncapped", "capped")}
    assert out[("scenario-a", "capped")]["ratio"] == "1.00"      # 1,000,000 / 1,000,000
    assert out[("scenario-b", "uncapped")]["ratio"] == "1.16"    # 1,300,000 / 1,120,000
    assert out[("scenario-b", "capped")]["ratio"] == "1.30"      # 1,300,000 / 1,000,000
    for (scenario, tag), r in out.items():
        fixed, revenue, variable = _by_hand(scenario)
        assert Decimal(r["fixed"]) == fixed == Decimal(800000)
        assert Decimal(r["revenue"]) == revenue
        assert Decimal(r["variable"]) == variable[tag]
        assert Decimal(r["cost"]) == fixed + variable[tag]
        assert sum(Decimal(v) for v in r["per_payee"].values()) == variable[tag]
    assert out[("scenario-b", "uncapped")]["per_payee"]["kam-01"] == "60000.00"


def test_the_table_shows_the_ratio_line_per_plan_and_scenario():
    res = run_cli("simulate", *PLANS_04, "--data", CASE / "scenario-a", CASE / "scenario-b",
                  "--revenue", "expansion")
    assert res.returncode == 0, res.stderr
    rows = [l.split() for l in res.stdout.splitlines()[1:5]]
    assert rows[2] == ["scenario-b", "uncapped", "800000.00", "320000.00", "1120000.00", "1300000.00",
                       "1.16", "EUR"]
    assert "variable per payee:" in res.stdout


def test_csv_reproduces_case_04_expected_rows_for_each_scenario():
    for scenario in ("scenario-a", "scenario-b"):
        res = run_cli("simulate", *PLANS_04, "--data", CASE / scenario, "--format", "csv")
        assert res.returncode == 0, res.stderr
        assert res.stdout == (CASE / scenario / "expected.csv").read_text()


def test_csv_of_several_scenarios_adds_a_scenario_column():
    res = run_cli("simulate", *PLANS_04, "--data", CASE / "scenario-a", CASE / "scenario-b", "--format", "csv")
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    for scenario in ("scenario-a", "scenario-b"):
        mine = [{k: v for k, v in r.items() if k != "scenario"} for r in rows if r["scenario"] == scenario]
        assert mine == _csv(CASE / scenario / "expected.csv")


def test_without_annual_fixed_or_revenue_the_ratio_is_not_made_up():
    res = run_cli("simulate", PLANS / "abtasty-kam.kam", "--data", EXAMPLES / "01-abtasty-nrr-upsell",
                  "--format", "json")
    assert res.returncode == 0, res.stderr
    [r] = json.loads(res.stdout)
    assert (r["fixed"], r["revenue"], r["ratio"]) == (None, None, None)
    assert r["tag"] == "abtasty-kam"
    assert r["variable"] == "31728.00"  # 18,600 + 6,510 + 6,618 (case 01 expected.csv totals)


def test_an_unknown_revenue_let_is_a_diagnostic():
    res = run_cli("simulate", *PLANS_04, "--data", CASE / "scenario-a", "--revenue", "expansions")
    assert res.returncode == 1
    assert "KR101" in res.stderr and "did you mean `expansion`?" in res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""


def test_plan_tags():
    assert plan_tags(["plans/kam-uncapped.kam", "plans/kam-capped.kam"]) == ["uncapped", "capped"]
    assert plan_tags(["a/plan-v1.kam", "b/plan-v2.kam"]) == ["v1", "v2"]  # cut back to the `-`
    assert plan_tags(["plans/abtasty-kam.kam"]) == ["abtasty-kam"]
    assert plan_tags(["a/x.kam", "b/x.kam"]) == ["x1", "x2"]


STEMS = st.lists(st.text(alphabet="ab-_c", min_size=1, max_size=6), min_size=1, max_size=4)


@settings(max_examples=examples(150), deadline=None)
@given(STEMS)
def test_plan_tags_are_distinct_nonempty_and_end_their_stem(stems):
    tags = plan_tags([os.path.join("p", f"{s}.kam") for s in stems])
    assert len(set(tags)) == len(tags) and all(tags)
    if len(set(stems)) == len(stems):
        assert all(s.endswith(t) for s, t in zip(stems, tags))


def test_data_may_be_repeated_and_plans_keep_their_order():
    res = run_cli("simulate", PLANS_04[1], PLANS_04[0], "--data", CASE / "scenario-b", "--data", CASE / "scenario-a",
                  "--revenue", "expansion", "--format", "json")
    assert res.returncode == 0, res.stderr
    assert [(r["scenario"], r["tag"]) for r in json.loads(res.stdout)] == [
        ("scenario-b", "capped"), ("scenario-b", "uncapped"), ("scenario-a", "capped"), ("scenario-a", "uncapped")]
