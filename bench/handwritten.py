"""Baseline 1: the monthly AB Tasty rules hand-written in plain Python with Decimal.

What a careful engineer would write without kamrules: csv + Decimal, one pass to credit
each won deal and each ARR snapshot to the KAM assigned on that day, then the formulas per
payee and month in the same decimal context and the same order of operations as the plan.
Returns {(payee_id, "YYYY-MM", component): Decimal amount}.
"""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import os
from collections import defaultdict
from decimal import Decimal

CTX = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN, Emin=-999999, Emax=999999,
                      traps=[decimal.FloatOperation, decimal.InvalidOperation, decimal.Overflow,
                             decimal.DivisionByZero])
PCT = Decimal("0.01")
CENT = Decimal("0.01")


def _read(folder, name):
    with open(os.path.join(folder, name), newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def load(folder):
    return {n: _read(folder, n + ".csv") for n in ("people", "arr", "assignments", "deals", "targets")}


def _rate(a):
    if a < Decimal("0.80"):
        return Decimal(0)
    if a < Decimal("1.00"):
        return Decimal("0.50") + Decimal("2.5") * (a - Decimal("0.80"))
    if a < Decimal("1.10"):
        return Decimal("1.00") + 8 * (a - Decimal("1.00"))
    return Decimal("1.80") + Decimal("0.4") * (a - Decimal("1.10"))


def _down_pct(x):
    return (x / PCT).quantize(Decimal(1), rounding=decimal.ROUND_DOWN) * PCT


def compute(raw, months, payees=None):
    """Payouts for months 1..months of 2025 (labels YYYY-MM); only `payees` if given."""
    with decimal.localcontext(CTX):
        kam = defaultdict(list)
        for r in raw["assignments"]:
            if r["role"] == "kam":
                kam[r["account_id"]].append((dt.date.fromisoformat(r["start_date"]),
                                             dt.date.fromisoformat(r["end_date"]) if r["end_date"] else None,
                                             r["payee_id"]))

        def owner(account, day):
            for start, end, who in kam.get(account, ()):
                if start <= day and (end is None or day <= end):
                    return who
            return None

        portfolio = defaultdict(Decimal)  # (payee, snapshot date) -> ARR
        for r in raw["arr"]:
            day = dt.date.fromisoformat(r["date"])
            who = owner(r["account_id"], day)
            if who is not None:
                portfolio[(who, day)] += Decimal(r["arr"])
        moves = defaultdict(Decimal)  # (payee, month, type) -> amount
        for r in raw["deals"]:
            if r["status"] != "won":
                continue
            day = dt.date.fromisoformat(r["close_date"])
            who = owner(r["account_id"], day)
            if who is not None:
                moves[(who, day.month, r["type"])] += Decimal(r["amount"])
        targets = {(r["payee_id"], r["metric"]): Decimal(r["target"])
                   for r in raw["targets"] if r["period"] == "2025"}
        out = {}
        for person in sorted(raw["people"], key=lambda r: r["payee_id"]):
            p = person["payee_id"]
            if (p, "nrr") not in targets or payees is not None and p not in payees:
                continue
            annual = Decimal(person["annual_variable"])
            for m in range(1, months + 1):
                q_start = dt.date(2025, 3 * ((m - 1) // 3) + 1, 1)
                port = portfolio[(p, q_start)]
                e, c, ch, nb = (moves[(p, m, t)] for t in ("expansion", "contraction", "churn",
                                                            "new_business"))
                nrr = (port + e - c - ch) / port
                upsell = e + nb - c - ch
                nrr_att = _down_pct(nrr / targets[(p, "nrr")])
                up_att = _down_pct(upsell * 12 / targets[(p, "net_upsell")])
                label = f"2025-{m:02d}"
                for name, weight, att in (("nrr", Decimal("0.7"), nrr_att),
                                          ("upsell", Decimal("0.3"), up_att)):
                    amount = weight * annual * _rate(att) / 12
                    out[(p, label, name)] = amount.quantize(CENT, rounding=decimal.ROUND_HALF_UP)
        return out
