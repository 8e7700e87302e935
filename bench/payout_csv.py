"""The payout CSV of the benchmark's engines: kamrules' contract (shared/cases/README.md),
`payee_id,period,component,amount,currency`, one row per payee, month and component then a
`total` row, amounts with two decimals and a plain `-` for negatives, rows in payee and
period order.

The baselines write it with their own engine (polars `write_csv`, DuckDB `COPY ... TO`);
this module only reads it back into a dict for the comparisons (`rows`), and prints the
hand-written Python's dict the slow way (`from_dict`, never timed against anything).
"""
from __future__ import annotations

from decimal import Decimal

HEADER = "payee_id,period,component,amount,currency"
COMPONENTS = ("nrr", "upsell")  # bench/abtasty-monthly.kam's components, in plan order


def rows(text: str) -> dict:
    """{(payee_id, period, component): Decimal} of a payout CSV text, total rows left out
    (each is checked to be the sum of its payee-period's components)."""
    lines = text.split("\n")
    if lines[0] != HEADER or lines[-1] != "":
        raise ValueError(f"not a payout CSV: header {lines[0]!r}, last line {lines[-1]!r}")
    out, sums = {}, {}
    for line in lines[1:-1]:
        payee, period, component, amount, _ = line.split(",")
        value = Decimal(amount)
        if component == "total":
            if sums.pop((payee, period), None) != value:
                raise ValueError(f"{payee} {period}: the total row {amount} is not the sum")
            continue
        out[(payee, period, component)] = value
        sums[(payee, period)] = sums.get((payee, period), Decimal(0)) + value
    return out


def from_dict(out: dict) -> str:
    """The payout CSV text of a {(payee_id, period, component): Decimal} dict, in Python."""
    lines = [HEADER]
    for p, m in sorted({(p, m) for p, m, _ in out}):
        amounts = [out[(p, m, c)] for c in COMPONENTS]
        lines += [f"{p},{m},{c},{a:.2f},EUR" for c, a in zip(COMPONENTS, amounts)]
        lines.append(f"{p},{m},total,{sum(amounts):.2f},EUR")
    return "\n".join(lines) + "\n"
