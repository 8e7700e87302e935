"""A payee-period the columnar engine cannot decide on its columns: a quotient within the
engine's 1e-8 margin of a rounding step is decided again, exactly, on those rows (its
operands replayed with numeric.compute); what still cannot be decided goes to the
interpreter for those payees only, spliced into the columnar result. Either way the output
is the interpreter's, byte for byte, and the run stays columnar for every other payee."""
from __future__ import annotations

from decimal import Decimal

import pytest

pytest.importorskip("polars")

from conftest import run_cli  # noqa: E402
from kamrules.run.session import Session  # noqa: E402

HEAD = """plan "doubt"
version "1"
currency EUR
period month
payees people
round components to cent half_up

input people key payee_id {
  payee_id: Text
  target: Number
}
input deals key deal_id {
  deal_id: Text
  payee_id: Text
  amount: Number
  close_date: Date
}

let total = sum(amount for deals where payee_id == payee.id and close_date in period)
"""

# total * 12 / 36: p1 5.0999999911 -> 1.69999999703 (3e-9 under the step 1.70: down gives
# 1.69), p2 5.1000000011 -> 1.70000000036... (4e-10 over it: 1.70), p3 5 -> 1.666... (1.66,
# far from a step), p4 3 * 12 / 7 = 5.142857... (5.14); p1 in February: 1 * 12 / 36 (0.33).
PEOPLE = "payee_id,target\np1,36\np2,36\np3,36\np4,7\n"
DEALS = ("deal_id,payee_id,amount,close_date\nd1,p1,5.0999999911,2025-01-10\n"
         "d2,p2,5.1000000011,2025-01-11\nd3,p3,5,2025-01-12\nd4,p4,3,2025-02-01\n"
         "d5,p1,1,2025-02-03\n")


def _case(tmp_path, body: str, people: str = PEOPLE):
    plan = tmp_path / "p.kam"
    plan.write_text(HEAD + body)
    data = tmp_path / "data"
    data.mkdir()
    (data / "people.csv").write_text(people)
    (data / "deals.csv").write_text(DEALS)
    return plan, data


def _both(plan, data):
    want = run_cli("run", plan, "--data", data, "--engine", "interpreter")
    got = run_cli("run", plan, "--data", data, "--engine", "columnar")
    return want, got


def _same_amounts(plan, data) -> dict:
    """The payouts of both engines, asserted byte-identical: (payee, period, component) -> amount."""
    want, got = _both(plan, data)
    assert want.returncode == 0 and got.stdout == want.stdout
    rows = [line.split(",") for line in got.stdout.splitlines()[1:]]
    return {(r[0], r[1], r[2]): Decimal(r[3]) for r in rows}


def _columnar_run(plan, data) -> Session:
    session = Session(str(plan), str(data))
    assert session.execute().engine == "columnar"
    return session


def test_a_quotient_near_a_step_is_decided_on_the_columns(tmp_path):
    plan, data = _case(tmp_path, "let att = round(total * 12 / payee.target, 1%, down)\n"
                                 "component bonus = 1000 EUR * att\n")
    amounts = _same_amounts(plan, data)
    assert amounts[("p1", "2025-01", "bonus")] == Decimal("1690.00")  # 1.69, not 1.70
    assert amounts[("p2", "2025-01", "bonus")] == Decimal("1700.00")  # 1.70, not 1.69
    assert amounts[("p3", "2025-01", "bonus")] == Decimal("1660.00")
    assert amounts[("p4", "2025-02", "bonus")] == Decimal("5140.00")
    session = _columnar_run(plan, data)
    assert session.handed_over is None and session.interpreted_payees == []


def test_a_component_near_a_cent_is_decided_on_the_columns(tmp_path):
    # the component itself, rounded to the cent half up: 5.0849999991 * 12 / 36 =
    # 1.69499999970 EUR (3e-10 under the half cent: 1.69), 5.0850000001 * 12 / 36 =
    # 1.69500000003 EUR (3e-11 over it: 1.70)
    plan, data = _case(tmp_path, "component bonus = 1 EUR * total * 12 / payee.target\n")
    (data / "deals.csv").write_text(DEALS.replace("5.0999999911", "5.0849999991")
                                    .replace("5.1000000011", "5.0850000001"))
    amounts = _same_amounts(plan, data)
    assert amounts[("p1", "2025-01", "bonus")] == Decimal("1.69")
    assert amounts[("p2", "2025-01", "bonus")] == Decimal("1.70")
    assert amounts[("p3", "2025-01", "bonus")] == Decimal("1.67")  # 5 / 3 = 1.666...
    assert _columnar_run(plan, data).interpreted_payees == []


NEGATED = [
    # -1.69999999703 is 3e-9 from the step -1.70: far beyond its error bound (~1e-24), so the
    # columns decide it (down, toward zero: -1.69); 0 / 36 in the empty months is exact
    ("round(-(total * 12 / payee.target), 1%, down)",
     {("p1", "2025-01"): "-1690.00", ("p2", "2025-01"): "-1700.00", ("p4", "2025-02"): "-5140.00"}, []),
    # total / 3 * 3 is 4.999...9 (24 places) on the columns for p3 (5) and 0.999...9 for p1 in
    # February (1): within their error bounds of the unit step, and a negation is not
    # replayed, so p1 and p3 are the interpreter's (-5 and -1, down toward zero); p1 in
    # January: 5.0999999911 / 3 * 3 is far from a unit (-5); p4: 3 / 3 terminates (exact, -3)
    ("round(-(total / 3 * 3), unit, down)",
     {("p1", "2025-01"): "-5000.00", ("p1", "2025-02"): "-1000.00", ("p3", "2025-01"): "-5000.00",
      ("p4", "2025-02"): "-3000.00"}, ["p1", "p3"]),
]


@pytest.mark.parametrize("att, want, handed", NEGATED, ids=["decided-near-a-step", "handed-over"])
def test_what_the_columns_cannot_decide_goes_to_the_interpreter_for_those_payees_only(tmp_path, att, want, handed):
    plan, data = _case(tmp_path, f"let att = {att}\ncomponent bonus = 1000 EUR * att\n")
    amounts = _same_amounts(plan, data)
    assert {k: amounts[k + ("bonus",)] for k in want} == {k: Decimal(v) for k, v in want.items()}
    assert _columnar_run(plan, data).interpreted_payees == handed


def test_a_payee_that_stops_the_plan_gives_the_interpreters_diagnostic(tmp_path):
    people = PEOPLE.replace("p2,36", "p2,0")  # p2: a division by zero
    plan, data = _case(tmp_path, "let att = round(total * 12 / payee.target, 1%, down)\n"
                                 "component bonus = 1000 EUR * att\n", people)
    want, got = _both(plan, data)
    assert want.returncode != 0 and want.stdout == ""
    assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr)
    assert "p2" in want.stderr
