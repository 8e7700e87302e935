"""Manual adjustments: amounts a person decides outside the plan (a spiff, a correction of a
booking error), given to `run --ledger` and `close` as a CSV file (`--adjustments FILE`, or
the plan's `input adjustments from "FILE" {...}`, settle.declared_adjustments):

    payee_id,period,component,amount,currency,reason,reference

Every row needs a reason and a reference (a ticket, an approval), unique in the file; the
payee must be one of the data's, the period a payment period of the plan, the amount exact
(at most two decimals). A row is paid in its period as a row whose `adjusts` is
`manual:<reference>`; once a close has recorded it (the record keeps the rows with their
reasons in `adjustments.csv`), it is not paid again. A new row dated in a closed period is
refused (KR810): date it in an open period.
"""
from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation

import attrs

from kamrules.core.calendar import parse_period
from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.diagnostics.source import Span
from kamrules.files.inputs import open_regular

COLUMNS = ("payee_id", "period", "component", "amount", "currency", "reason", "reference")
MANUAL = "manual:"


@attrs.frozen
class Manual:
    payee_id: str
    period: str
    component: str
    amount: Decimal
    currency: str
    reason: str
    reference: str
    line: int


def _bad(path: str, line: int, message: str, hint: str) -> KamError:
    return KamError([Diagnostic("KR809", message, Span(path, line, 1, line, 2), hint)])


def read_adjustments(path: str, plan, payees: set) -> list[Manual]:
    """The rows of the adjustments file, checked (KR809 naming the file, line and column)."""
    try:
        with open_regular(path) as fh:
            text = fh.read().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise KamError([Diagnostic("KR809", f"--adjustments {path} cannot be read "
                                   f"({getattr(err, 'strerror', None) or err})",
                                   hint="give a CSV file: " + ",".join(COLUMNS))]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise _bad(path, 1, f"the header lacks the column `{missing[0]}`", "columns: " + ",".join(COLUMNS))
    kind = plan.payment_kind or plan.period_kind
    out, seen = [], {}
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise _bad(path, line, f"{len(cells)} cells, the header {len(header)}",
                       "quote a cell that holds a comma")
        row = dict(zip(header, cells))
        for col in ("payee_id", "component", "reason", "reference", "currency"):
            if not row[col].strip():
                raise _bad(path, line, f"`{col}` is empty",
                           "every manual adjustment says why (reason) and on whose authority (reference)"
                           if col in ("reason", "reference") else f"give the {col}")
        if row["payee_id"] not in payees:
            raise _bad(path, line, f"payee `{row['payee_id']}` is not in the data's payees",
                       "check the id")
        try:
            period = parse_period(row["period"], plan.fiscal_start)
        except ValueError:
            period = None
        if period is None or period.kind != kind:
            raise _bad(path, line, f"period `{row['period']}` is not a {kind}",
                       "the period the adjustment is paid in, e.g. 2025-06 for a monthly plan")
        try:
            amount = Decimal(row["amount"])
            exact = amount.is_finite() and amount == amount.quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            exact = False
        if not exact:
            raise _bad(path, line, f"amount `{row['amount']}` is not an amount to the cent",
                       "e.g. 250.00 or -80.5")
        ref = row["reference"].strip()
        if ref in seen:
            raise _bad(path, line, f"reference `{ref}` is also on line {seen[ref]}",
                       "one reference per adjustment")
        seen[ref] = line
        out.append(Manual(row["payee_id"], period.label, row["component"].strip(), amount,
                          row["currency"].strip(), row["reason"].strip(), ref, line))
    return out


def adjustments_csv(rows: list[Manual]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for m in rows:
        w.writerow([m.payee_id, m.period, m.component, f"{m.amount:.2f}", m.currency, m.reason, m.reference])
    return buf.getvalue().encode("utf-8")
