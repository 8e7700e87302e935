"""The payroll export: what a closed period pays, per payee and earning code, as CSV a payroll
system imports (`close` writes it in the record, `kamrules payroll` prints it).

Earning codes come from the project's `[tool.kamrules.payroll]` table (kamrules/cli/config.py),
component name -> code; with no table, the code is the component's name. An adjustment is
paid under its component's code. Amounts of the same payee, code and currency are summed; a
sum of zero is left out (nothing to pay).
"""
from __future__ import annotations

import io
from decimal import Decimal

from kamrules.core.numeric import format_amount
from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.report.payouts import CsvWriter, safe_cell

PAYROLL_COLUMNS = ("payee_id", "period", "earning_code", "amount", "currency")


def payroll_rows(rows: list, period: str, codes: dict) -> list[tuple]:
    """(payee_id, period, earning_code, amount, currency), in the order of the rows."""
    missing = sorted({r.component for r in rows if codes and r.component not in codes})
    if missing:
        raise KamError([Diagnostic(
            "KR808", f"no earning code for component `{missing[0]}` in [tool.kamrules.payroll]"
            + (f" (nor for {', '.join(missing[1:])})" if len(missing) > 1 else ""),
            hint=f'map every paid component to its payroll earning code: {missing[0]} = "CODE"')])
    sums: dict = {}
    for r in rows:
        key = (r.payee_id, codes.get(r.component, r.component), r.currency)
        sums[key] = sums.get(key, Decimal(0)) + r.amount
    return [(p, period, code, amount, cur) for (p, code, cur), amount in sums.items() if amount != 0]


def payroll_csv(rows: list[tuple]) -> bytes:
    buf = io.StringIO()
    w = CsvWriter(buf)
    w.writerow(PAYROLL_COLUMNS)
    for payee, period, code, amount, cur in rows:
        w.writerow([safe_cell(payee), period, safe_cell(code), format_amount(amount), cur])
    return buf.getvalue().encode("utf-8")
