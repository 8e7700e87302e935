"""Follow-ups of the trace of `eligible when` (audit 5, finding 11): `explain` quotes the whole
condition when it is written over several lines, and `run --format json --trace --payee X`
says, for each period in which X is not eligible, what `explain` says (`not_eligible`: the
payee, the period and the condition's trace). Eligibility is worked out by hand in each test."""
from __future__ import annotations

import json

import pytest

from conftest import run_cli
from kamrules.report.payouts import not_eligible_of, to_json
from kamrules.run.session import Session

PLAN = """plan "Starters"
currency EUR
period quarter
payees people

# a payee is paid from the quarter they start in, while they have a quota
eligible when
  payee.start_date <= period.end
  and (payee.quota > 0 EUR
       or payee.override)

input people key payee_id {
  payee_id: Text
  start_date: Date
  quota: Money
  override: Bool
}

component base = 100 EUR
"""

# by hand: s1 starts 2025-05-10, so 2025-Q1 (ends 03-31) is false at the first test, Q2..Q4
# true (quota 500 > 0). s2 has a quota of 0 and no override: false in every quarter, at the
# second test (its start 2024-01-01 <= every quarter's end). s3 starts 2024: always paid.
PEOPLE = ("payee_id,start_date,quota,override\n"
          "s1,2025-05-10,500,false\n"
          "s2,2024-01-01,0,false\n"
          "s3,2024-01-01,1000,false\n")


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "plan.kam").write_text(PLAN, encoding="utf-8")
    (tmp_path / "people.csv").write_text(PEOPLE, encoding="utf-8")
    return tmp_path


def test_explain_quotes_every_line_of_a_condition_written_over_several(folder):
    """The condition is plan lines 8-10 (`eligible when` on line 7); they are quoted under
    `eligible = false`, their common indent (2) removed, the inner indent of line 10 kept."""
    res = run_cli("explain", folder / "plan.kam", "--data", folder, "--payee", "s2", "--period", "2025-Q1")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[:6] == [
        "s2 2025-Q1: no payout: not eligible (the plan's `eligible when` is false)",
        "  eligible = false  [line 8]",
        "    | payee.start_date <= period.end",
        "    | and (payee.quota > 0 EUR",
        "    |      or payee.override)",
        "    payee.start_date <= period.end = true  [line 8]"]


def test_a_condition_on_one_line_is_quoted_once(folder):
    one = PLAN.replace("  payee.start_date <= period.end\n  and (payee.quota > 0 EUR\n       or payee.override)",
                       "  payee.start_date <= period.end and (payee.quota > 0 EUR or payee.override)")
    (folder / "plan.kam").write_text(one, encoding="utf-8")
    out = run_cli("explain", folder / "plan.kam", "--data", folder, "--payee", "s1", "--period", "2025-Q1").stdout
    assert out.splitlines()[1:4] == [
        "  eligible = false  [line 8]",
        "    | payee.start_date <= period.end and (payee.quota > 0 EUR or payee.override)",
        "    payee.start_date <= period.end = false  [line 8]"]


def _explained(folder, payee: str) -> dict:
    """{period: trace} of `explain --format json` of a payee with no payout in 2025."""
    res = run_cli("explain", folder / "plan.kam", "--data", folder, "--payee", payee, "--period", "2025",
                  "--format", "json")
    assert res.returncode == 0, res.stderr
    return {x["period"]: x["trace"] for x in json.loads(res.stdout)}


def test_run_json_lists_the_periods_a_payee_asked_is_not_eligible_in(folder):
    """What `run --format json --trace --payee s1 --payee s2 --period 2025` writes (through
    report.payouts, with Session.eligibility as cli/run.py would pass it): s1 paid 100.00 in
    Q2..Q4 and not eligible in Q1; s2 not eligible in any quarter; each trace is explain's."""
    session = Session(str(folder / "plan.kam"), str(folder), ["2025"], "interpreter")
    ids = session.payees(["s1", "s2"])
    payouts = session.execute(ids, trace=True).payouts
    doc = json.loads(to_json(payouts, True, None, not_eligible_of(ids, session.eligibility)))
    assert [(p["payee_id"], p["period"], p["amount"]) for p in doc["payouts"] if p["component"] == "total"] == \
        [("s1", "2025-Q2", "100.00"), ("s1", "2025-Q3", "100.00"), ("s1", "2025-Q4", "100.00")]
    assert [(x["payee_id"], x["period"]) for x in doc["not_eligible"]] == \
        [("s1", "2025-Q1"), ("s2", "2025-Q1"), ("s2", "2025-Q2"), ("s2", "2025-Q3"), ("s2", "2025-Q4")]
    assert all(set(x) == {"payee_id", "period", "trace"} and x["trace"]["value"] is False for x in doc["not_eligible"])
    s1_q1 = doc["not_eligible"][0]["trace"]["children"]
    assert [(t["name"], t["value"]) for t in s1_q1] == [("payee.start_date <= period.end", False)]
    assert [(c["name"], c["value"]) for c in s1_q1[0]["children"]] == [("payee.start_date", "2025-05-10"),
                                                                       ("period.end", "2025-03-31")]
    explained = _explained(folder, "s2")
    assert {x["period"]: x["trace"] for x in doc["not_eligible"] if x["payee_id"] == "s2"} == explained


def test_the_json_without_payees_asked_or_without_trace_is_unchanged(folder):
    """`not_eligible` appears only when it is given (run --trace --payee), and only with traces."""
    session = Session(str(folder / "plan.kam"), str(folder), ["2025-Q1"], "interpreter")
    payouts = session.execute(None, trace=True).payouts
    assert list(json.loads(to_json(payouts, True))) == ["payouts", "traces"]
    assert list(json.loads(to_json(payouts, False, None, []))) == ["payouts"]
    assert json.loads(to_json([], True, None, []))["not_eligible"] == []
    assert not_eligible_of(None, session.eligibility) == []


def test_run_json_trace_of_a_payee_not_eligible_says_why(folder):
    res = run_cli("run", folder / "plan.kam", "--data", folder, "--payee", "s2", "--period", "2025-Q1",
                  "--format", "json", "--trace")
    doc = json.loads(res.stdout)
    assert doc["payouts"] == [] and doc["traces"] == []
    assert [(x["payee_id"], x["period"]) for x in doc["not_eligible"]] == [("s2", "2025-Q1")]
    assert doc["not_eligible"][0]["trace"] == _explained(folder, "s2")["2025-Q1"]
