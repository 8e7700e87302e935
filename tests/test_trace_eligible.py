"""The trace of `eligible when` (audit 5, finding 11): for random payees' start and end dates,
the tests the traced condition lists are the ones its `or`/`and` reach, in order, each with
its value and the data it reads; the traced value is the one the untraced run computes (a
payout exactly when eligible), and both are the condition computed here by hand in Python."""
from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import examples
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
