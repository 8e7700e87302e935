"""A plan of many definitions on the columnar engine: what a run lets go of is worked out
at most engine.RELEASES times (every len(definitions) // RELEASES definitions), so a long
chain costs linear, not quadratic, time; the amounts stay the interpreter's."""
from __future__ import annotations

from unittest import mock

import pytest

pytest.importorskip("polars")

from conftest import run_cli  # noqa: E402
from kamrules.backends.polars import engine, lean  # noqa: E402

HEAD = """plan "chain"
version "1"
currency EUR
period quarter
payees people
round components to cent half_up

input people key payee_id {
  payee_id: Text
  base: Money
}
input deals {
  owner_id: Text
  amount: Money
  close_date: Date
}
"""


def test_a_chain_of_450_definitions(tmp_path):
    # a0 = the quarter's deals of the payee; a(i) = a(i-1) + 1 EUR: a449 = won + 449 EUR
    lets = "let a0 = sum(amount for deals where owner_id == payee.id and close_date in period)\n"
    lets += "".join(f"let a{i} = a{i - 1} + 1 EUR\n" for i in range(1, 450))
    (tmp_path / "p.kam").write_text(HEAD + lets + "component c = a449 + payee.base * 0%\n")
    data = tmp_path / "d"
    data.mkdir()
    (data / "people.csv").write_text("payee_id,base\nk1,100.00\nk2,200.00\n")
    (data / "deals.csv").write_text("owner_id,amount,close_date\nk1,10.50,2025-02-01\nk2,3.25,2025-05-05\n")
    passes = []
    real = lean.release

    def counted(*a, **k):
        passes.append(1)
        return real(*a, **k)
    with mock.patch.object(engine, "release", counted):
        col = run_cli("run", tmp_path / "p.kam", "--data", data, "--engine", "columnar")
    interp = run_cli("run", tmp_path / "p.kam", "--data", data, "--engine", "interpreter")
    assert col.returncode == interp.returncode == 0 and col.stdout == interp.stdout
    # by hand: k1 Q1 10.50 + 449 = 459.50, Q2 0 + 449 = 449.00; k2 Q1 449.00, Q2 452.25
    for line in ("k1,2025-Q1,c,459.50,EUR", "k1,2025-Q2,c,449.00,EUR", "k2,2025-Q2,c,452.25,EUR"):
        assert line in col.stdout
    # 451 definitions (450 lets and c), a pass every 451 // 100 = 4: about 114, not 452
    assert 0 < len(passes) <= 451 // 4 + 2
