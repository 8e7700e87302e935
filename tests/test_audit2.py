"""The second outside audit (tests/data/audit2/): plans and data a RevOps analyst would write,
with shapes the first audit (tests/test_audit.py) did not cover, judged through the command line
(in-process), and each finding kept fixed: fmt breaks a long call or component head, a file
that is not UTF-8 is reported at its first bad byte, `explain --payee` says when `run` stops."""
from __future__ import annotations

from pathlib import Path

from conftest import run_cli

AUDIT2 = Path(__file__).resolve().parent / "data" / "audit2"

_PREAMBLE = """plan "t"
currency EUR
period quarter
input people key payee_id { payee_id: Text  annual_variable: Money  start_date: Date  end_date: optional Date }
input deals { deal_id: Text  owner_id: Text  amount: Money  close_date: Date }
"""


# ---------------------------------------------------------------- fmt: no line over 100 characters
def test_fmt_breaks_a_long_call_and_a_long_component_head_idempotently(tmp_path):
    """A call with no `and`/`or`/`for`/`+` to break at (was one 108-character line) breaks after
    its `(` and `,`; a long `when` head moves to its own line; comments stay; fmt of the output
    is the output."""
    plan = tmp_path / "p.kam"
    plan.write_text(_PREAMBLE + (
        "# lead comment\n"
        "component prorated_variable_component = prorate(payee.start_date, payee.end_date) * "
        "payee.annual_variable / 4  # trail\n"
        "let x = max(booked_amount_in_the_period_total, max(booked_amount_in_the_period_total, booked_amount_in_the_period_total))\n"
        "let booked_amount_in_the_period_total = sum(amount for deals where owner_id == payee.id)\n"
        "component spring from 2025-04-01 to 2025-06-30 when payee.annual_variable > 1000 EUR and "
        "payee.start_date < 2025-04-01 = 100 EUR\n"), encoding="utf-8")
    assert max(len(line) for line in plan.read_text().splitlines()) > 100
    assert run_cli("fmt", plan).returncode == 0
    out = plan.read_text(encoding="utf-8")
    assert max(len(line) for line in out.splitlines()) <= 100, out
    assert "# lead comment\ncomponent prorated_variable_component =\n" in out
    assert "  prorate(payee.start_date, payee.end_date) * payee.annual_variable / 4  # trail\n" in out
    assert "let x =\n  max(booked_amount_in_the_period_total, max(booked_amount_in_the_period_total,\n" in out
    assert ("component spring from 2025-04-01 to 2025-06-30\n"
            "  when payee.annual_variable > 1000 EUR and payee.start_date < 2025-04-01 = 100 EUR\n") in out
    assert run_cli("fmt", "--check", plan).returncode == 0   # idempotent
    assert run_cli("check", plan).returncode == 0            # still the same valid plan
