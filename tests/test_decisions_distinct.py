"""A pure decision table decided once per distinct arguments (backends/polars/decisions.py
`_on_distinct`: a curve of an attainment rounded to 1% meets few values among many
payee-periods) against the interpreter: the generated plans of test_generated_plans.py run
with the distinct path forced on every pure table (DISTINCT_SHARE = 0), and a hand-computed
case where the path is taken on its own (40 payees x 12 months, 3 distinct attainments)."""
from __future__ import annotations

from unittest import mock

import pytest

pytest.importorskip("polars")

from hypothesis import HealthCheck, given, settings  # noqa: E402

from conftest import run_cli  # noqa: E402
from kamrules.backends.polars import decisions  # noqa: E402
from test_generated_plans import compare, data, plans  # noqa: E402


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(plan=plans(), tables=data())
def test_generated_plans_agree_with_the_distinct_path_forced(tmp_path_factory, plan, tables):
    tmp = tmp_path_factory.mktemp("ex")
    with mock.patch.object(decisions, "DISTINCT_SHARE", 0):
        result = compare(tmp, plan[0], *tables, plan[1])
    if result is None:
        return
    interp, columnar, cerr, ierr = result
    assert columnar == interp, f"\n{plan[0]}\n--- interpreter stderr\n{ierr}--- columnar stderr\n{cerr}"


PLAN = """plan "curve"
version "1"
currency EUR
period month
payees people
round components to cent half_up

input people key payee_id {
  payee_id: Text
  base: Money
}
input deals key deal_id {
  deal_id: Text
  owner_id: Text
  amount: Money
  close_date: Date
}

param target = 1000 EUR

let attainment = round(sum(amount for deals where owner_id == payee.id and close_date in period) / target, 1%, down)

curve rate(a: Rate) -> Rate {
  | < 80%          | 0%                    |
  | 80% to < 100%  | 50% + 2.5 * (a - 80%) |
  | >= 100%        | 100% + 8 * (a - 100%) |
}

component bonus = payee.base * rate(attainment)
"""


def test_a_curve_on_few_attainments(tmp_path):
    people = ["payee_id,base"] + [f"k{i:02d},{1000 + i}.00" for i in range(40)]
    deals = ["deal_id,owner_id,amount,close_date"]
    amounts = {0: "500.00", 1: "900.00", 2: "1055.55"}  # attainments 50%, 90%, 105% (1055.55: 105.555% -> 105%)
    n = 0
    for i in range(40):
        for m in range(1, 13):
            n += 1
            deals.append(f"d{n},k{i:02d},{amounts[(i + m) % 3]},2025-{m:02d}-15")
    data = tmp_path / "data"
    data.mkdir()
    (data / "people.csv").write_text("\n".join(people) + "\n")
    (data / "deals.csv").write_text("\n".join(deals) + "\n")
    (tmp_path / "p.kam").write_text(PLAN)
    calls = []
    real = decisions._on_distinct

    def spy(*a, **k):
        out = real(*a, **k)
        calls.append(out is not None)
        return out
    with mock.patch.object(decisions, "_on_distinct", spy):
        col = run_cli("run", str(tmp_path / "p.kam"), "--data", str(data), "--engine", "columnar")
    assert col.returncode == 0 and calls == [True]  # 3 distinct attainments among 480 payee-periods
    interp = run_cli("run", str(tmp_path / "p.kam"), "--data", str(data), "--engine", "interpreter")
    assert col.stdout == interp.stdout
    # by hand: k00 (base 1000.00) in January: (0 + 1) % 3 = 1 -> 90%: rate 50% + 2.5 x 10% = 75% -> 750.00;
    # k01 (1001.00) in January: (1 + 1) % 3 = 2 -> 105%: 100% + 8 x 5% = 140% -> 1401.40;
    # k02 (1002.00) in January: 0 -> 50%: rate 0% -> 0.00
    assert "k00,2025-01,bonus,750.00,EUR" in col.stdout
    assert "k01,2025-01,bonus,1401.40,EUR" in col.stdout
    assert "k02,2025-01,bonus,0.00,EUR" in col.stdout
