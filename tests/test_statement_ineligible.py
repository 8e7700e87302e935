"""A statement says why a payee is not eligible in a period: each test of `eligible when`
the evaluation reached, its value and the data it read (report/statement.py _ineligible,
statement_text.ineligible_text), as `explain` shows them; in text, Markdown and HTML, in
English and French. Worked out by hand on a small plan."""
from __future__ import annotations

import pytest

from conftest import run_cli

PLAN = """plan "Eligibility"
version "1"
currency EUR
period quarter
payees people
round components to cent half_up

input people key payee_id {
  payee_id: Text
  start_date: Date
  active: Bool
}
input deals {
  owner_id: Text
  amount: Money
  close_date: Date
}

eligible when {condition}

component commission = 10% * sum(amount for deals where owner_id == payee.id and close_date in period)
"""


def _case(tmp_path, condition):
    (tmp_path / "plan.kam").write_text(PLAN.replace("{condition}", condition), encoding="utf-8")
    (tmp_path / "people.csv").write_text("payee_id,start_date,active\np1,2025-01-01,true\n"
                                         "p2,2025-04-01,true\np3,2024-06-01,false\n", encoding="utf-8")
    (tmp_path / "deals.csv").write_text("owner_id,amount,close_date\np1,1000.00,2025-02-01\n"
                                        "p2,500.00,2025-02-01\np3,700.00,2025-02-01\n", encoding="utf-8")
    return tmp_path / "plan.kam"


def _statement(plan, payee, *args):
    res = run_cli("statement", plan, "--data", plan.parent, "--payee", payee, "--period", "2025-Q1", *args)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_one_test_says_its_value_and_the_data_it_read(tmp_path):
    plan = _case(tmp_path, "payee.start_date <= period.end")
    # p2 starts 2025-04-01, after 2025-Q1 ends (2025-03-31): not eligible, commission not paid
    text = _statement(plan, "p2", "--format", "text", "--locale", "en")
    assert ("Not eligible this period: `payee.start_date <= period.end` is false "
            "(payee.start_date = 2025-04-01, period.end = 2025-03-31)") in text
    fr = _statement(plan, "p2", "--format", "text", "--locale", "fr")
    assert ("Non éligible sur cette période : `payee.start_date <= period.end` est faux "
            "(payee.start_date = 1 avril 2025, period.end = 31 mars 2025)") in fr
    # p1 started 2025-01-01: eligible, paid 10% of 1,000.00; no such line
    assert "Not eligible" not in _statement(plan, "p1", "--format", "text", "--locale", "en")


def test_the_tests_reached_are_said_in_order_and_the_rest_is_not(tmp_path):
    plan = _case(tmp_path, "payee.start_date <= period.end and payee.active")
    # p3: the start test is true (2024-06-01 <= 2025-03-31), then `payee.active` false
    text = _statement(plan, "p3", "--format", "text", "--locale", "en")
    assert ("Not eligible this period: `payee.start_date <= period.end` is true (payee.start_date = "
            "2024-06-01, period.end = 2025-03-31); `payee.active` is false") in text
    # p2: the start test is false, `and` is decided there: payee.active is not evaluated, not said
    text = _statement(plan, "p2", "--format", "text", "--locale", "en")
    assert "`payee.start_date <= period.end` is false" in text and "`payee.active` is" not in text


@pytest.mark.parametrize("fmt, escaped", [("md", "`payee.start_date <= period.end` is false"),  # a code span
                                          ("html", "`payee.start_date &lt;= period.end` is false")])
def test_markdown_and_html_say_it_escaped(tmp_path, fmt, escaped):
    plan = _case(tmp_path, "payee.start_date <= period.end")
    assert escaped in _statement(plan, "p2", "--format", fmt, "--locale", "en")
