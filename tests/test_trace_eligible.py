"""The trace of `eligible when` (audit 5, finding 11): for random payees' start and end dates,
the tests the traced condition lists are the ones its `or`/`and` reach, in order, each with
its value and the data it reads; the traced value is the one the untraced run computes (a
payout exactly when eligible), and both are the condition computed here by hand in Python."""
from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import examples, run_cli
from kamrules.backends.interp.run import evaluate
from kamrules.run.session import Session

PLAN = """plan "Eligible trace"
currency EUR
period quarter
payees people

eligible when
  payee.override or payee.start_date <= period.end
  and (not present(payee.end_date) or payee.end_date >= period.start)

input people key payee_id {
  payee_id: Text
  override: Bool
  start_date: Date
  end_date: optional Date
}

component base = 100 EUR
"""

QUARTERS = [(dt.date(2025, m, 1), dt.date(2025, m + 2, 30 if m in (4, 7) else 31)) for m in (1, 4, 7, 10)]
DAYS = st.dates(dt.date(2024, 10, 1), dt.date(2026, 2, 28))
PAYEE = st.tuples(st.booleans(), DAYS, st.none() | DAYS)


def _expected(override, start, end, q_start, q_end) -> tuple[bool, list]:
    """(eligible, [(test, value, [(operand, value)])]) as the condition reads, by hand."""
    tests = [("payee.override", override, [])]
    if override:
        return True, tests
    tests.append(("payee.start_date <= period.end", start <= q_end,
                  [("payee.start_date", str(start)), ("period.end", str(q_end))]))
    if start > q_end:
        return False, tests
    tests.append(("not present(payee.end_date)", end is None, [("payee.end_date", end and str(end))]))
    if end is None:
        return True, tests
    tests.append(("payee.end_date >= period.start", end >= q_start,
                  [("payee.end_date", str(end)), ("period.start", str(q_start))]))
    return end >= q_start, tests


@settings(max_examples=examples(15), deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(PAYEE, min_size=1, max_size=6))
def test_the_traced_condition_lists_the_tests_it_reaches(tmp_path_factory, payees):
    folder = tmp_path_factory.mktemp("eligible")
    (folder / "plan.kam").write_text(PLAN, encoding="utf-8")
    rows = "".join(f"p{k},{str(o).lower()},{s},{e or ''}\n" for k, (o, s, e) in enumerate(payees))
    (folder / "people.csv").write_text("payee_id,override,start_date,end_date\n" + rows, encoding="utf-8")
    session = Session(str(folder / "plan.kam"), str(folder), ["2025"], "interpreter")
    paid = {(p.payee_id, str(p.period)) for p in evaluate(session.check(), session.load(), session.periods(),
                                                          trace=False)}
    for k, (override, start, end) in enumerate(payees):
        traced = session.eligibility(f"p{k}")
        assert [str(p) for p, _, _ in traced] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
        for (period, eligible, node), (q_start, q_end) in zip(traced, QUARTERS):
            want, tests = _expected(override, start, end, q_start, q_end)
            assert eligible is want and node.value is want
            assert ((f"p{k}", str(period)) in paid) is want  # the untraced run
            assert [(t.name, t.kind, t.value, [(c.name, c.value if c.value is None else str(c.value))
                                              for c in t.children]) for t in node.children] == \
                [(name, "condition", value, reads) for name, value, reads in tests]


RICH = """plan "Rich"
currency EUR
period quarter
payees people

param min_quota = 1000 EUR
let tenure = days(payee.start_date, period.end)

eligible when
  payee.start_date in period.year_to_date or tenure >= 90
  and extra[payee.payee_id].active and payee.quota >= min_quota
  and count(deals where owner_id == payee.id) > 0

input people key payee_id {
  payee_id: Text
  start_date: Date
  quota: Money
}
input extra key payee_id {
  payee_id: Text
  active: Bool
}
input deals key deal_id {
  deal_id: Text
  owner_id: Text references people
  amount: Money
  close_date: Date
}
component c = sum(amount for deals where owner_id == payee.id and close_date in period) * 10%
"""


def test_a_test_lists_its_lets_params_lookups_and_aggregations_as_written(tmp_path):
    """p3 started 2024-01-01 (not in 2025's year to date; tenure at 2025-03-31: 366 days of 2024 + 89 = 455
    days >= 90), is active in extra.csv, has a quota of 5000 >= 1000 but no deal: the last test
    is false, with the count (0) under it. The let, the param and the operands are listed in the
    order the test writes them (payee.quota before min_quota); a looked-up column that is the
    whole test is that test's value."""
    (tmp_path / "plan.kam").write_text(RICH, encoding="utf-8")
    (tmp_path / "people.csv").write_text("payee_id,start_date,quota\np1,2024-01-01,500\np3,2024-01-01,5000\n",
                                         encoding="utf-8")
    (tmp_path / "extra.csv").write_text("payee_id,active\np1,true\np3,true\n", encoding="utf-8")
    (tmp_path / "deals.csv").write_text("deal_id,owner_id,amount,close_date\nd1,p1,100,2025-02-01\n", encoding="utf-8")
    res = run_cli("explain", tmp_path / "plan.kam", "--data", tmp_path, "--payee", "p3", "--period", "2025-Q1")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[5:] == [
        "    payee.start_date in period.year_to_date = false  [line 10]",
        "      payee.start_date = 2024-01-01",
        "      period.year_to_date = 2025-Q1..2025-Q1",
        "    tenure >= 90 = true  [line 10]",
        "      tenure = 455  [line 7]",
        "        | let tenure = days(payee.start_date, period.end)",
        "    extra[payee.payee_id].active = true  [line 11]",
        "    payee.quota >= min_quota = true  [line 11]",
        "      payee.quota = 5000.00 EUR",
        "      min_quota = 1000.00 EUR  [line 6]",
        "        | param min_quota = 1000 EUR",
        "    count(deals where owner_id == payee.id) > 0 = false  [line 12]",
        "      count(... deals ...) line 12 = 0  [line 12]"]
