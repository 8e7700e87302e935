"""Seeded workload generator for the benchmark: the CSV exports the monthly AB Tasty plan
(bench/abtasty-monthly.kam) reads, at a named size, plus a generated ~2,000-line plan (and
its Python twin) for the parsing benchmark.

Nothing is committed: files go to bench/.data/<size>-<seed>/ (git-ignored) or a folder you
give. Amounts always have two decimals (the dataframe baseline reads them as integer cents).
Guarantees that keep every engine on the happy path: each payee keeps its first account
for the whole year (so its portfolio is never zero), reassignments never overlap, every
eligible payee has exactly one `nrr` and one `net_upsell` target for the year; about 2% of
payees have no target (not eligible).
"""
from __future__ import annotations

import csv
import datetime as dt
import os
import random

SIZES = {  # payees, months, deals
    "XS": (200, 2, 2_000),
    "S": (10_000, 1, 100_000),
    "M": (100_000, 12, 1_000_000),
    "L": (100_000, 12, 10_000_000),
}
YEAR = 2025
TYPES = ("renewal", "expansion", "contraction", "churn", "new_business")
TYPE_WEIGHTS = (30, 30, 10, 8, 22)
STATUS = ("won", "lost", "open")
STATUS_WEIGHTS = (80, 12, 8)
ACCOUNTS_PER_PAYEE = 2
REASSIGNED = 0.05  # share of (non-first) accounts that change KAM during the year


def _cents(rng: random.Random, lo: int, hi: int) -> str:
    c = rng.randint(lo * 100, hi * 100)
    return f"{c // 100}.{c % 100:02d}"


def _day(rng: random.Random, months: int) -> dt.date:
    start = dt.date(YEAR, 1, 1)
    end = dt.date(YEAR, months, 28) if months < 12 else dt.date(YEAR, 12, 31)
    if months < 12:
        end = (dt.date(YEAR, months + 1, 1) - dt.timedelta(days=1))
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def generate(folder: str, payees: int, months: int, deals: int, seed: int = 7) -> str:
    """Write people, arr, assignments, deals and targets CSVs into `folder`; return it."""
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(seed)
    pid = [f"kam-{i:06d}" for i in range(payees)]
    n_acc = payees * ACCOUNTS_PER_PAYEE
    aid = [f"acc-{i:07d}" for i in range(n_acc)]
    with open(os.path.join(folder, "people.csv"), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["payee_id", "name", "annual_variable"])
        for p in pid:
            w.writerow([p, f"Payee {p}", _cents(rng, 20_000, 60_000)])
    with open(os.path.join(folder, "assignments.csv"), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["account_id", "payee_id", "role", "start_date", "end_date"])
        for i, a in enumerate(aid):
            owner = pid[i // ACCOUNTS_PER_PAYEE]
            if i % ACCOUNTS_PER_PAYEE and rng.random() < REASSIGNED:
                cut = _day(rng, months)
                w.writerow([a, owner, "kam", "2024-01-01", cut.isoformat()])
                w.writerow([a, pid[rng.randrange(payees)], "kam",
                            (cut + dt.timedelta(days=1)).isoformat(), ""])
            else:
                w.writerow([a, owner, "kam", "2024-01-01", ""])
            if rng.random() < 0.2:  # a CSM on the account: another role, never credited
                w.writerow([a, pid[rng.randrange(payees)], "csm", "2024-01-01", ""])
    snapshots = [dt.date(YEAR, m, 1) for m in (1, 4, 7, 10) if m <= months]
    with open(os.path.join(folder, "arr.csv"), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["account_id", "date", "arr"])
        for a in aid:
            for d in snapshots:
                w.writerow([a, d.isoformat(), _cents(rng, 10_000, 500_000)])
    with open(os.path.join(folder, "deals.csv"), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["deal_id", "account_id", "type", "amount", "close_date", "status"])
        types = rng.choices(TYPES, TYPE_WEIGHTS, k=deals)
        status = rng.choices(STATUS, STATUS_WEIGHTS, k=deals)
        for k in range(deals):
            w.writerow([f"dl-{k:08d}", aid[rng.randrange(n_acc)], types[k],
                        _cents(rng, 500, 60_000), _day(rng, months).isoformat(), status[k]])
    with open(os.path.join(folder, "targets.csv"), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["payee_id", "period", "metric", "target"])
        for p in pid:
            if rng.random() < 0.02:
                continue
            w.writerow([p, str(YEAR), "nrr", f"1.{rng.randint(0, 15):02d}"])
            w.writerow([p, str(YEAR), "net_upsell", _cents(rng, 20_000, 400_000)])
    return folder


def data_folder(size: str, seed: int = 7, root: str | None = None) -> str:
    """The folder of a size's data, generated on first use (bench/.data is git-ignored)."""
    root = root or os.path.join(os.path.dirname(os.path.abspath(__file__)), ".data")
    folder = os.path.join(root, f"{size}-{seed}")
    if not os.path.exists(os.path.join(folder, "targets.csv")):  # targets are written last
        payees, months, deals = SIZES[size]
        generate(folder, payees, months, deals, seed)
    return folder


def big_plan(lines: int = 2000, seed: int = 7) -> tuple[str, str]:
    """A generated plan of about `lines` lines and the same definitions as Python source."""
    rng = random.Random(seed)
    kam = ['plan "Generated"', 'currency EUR', 'period quarter', 'payees people',
           'round components to cent half_up', '',
           'input people key payee_id {', '  payee_id: Text', '  annual_variable: Money', '}',
           'input deals key deal_id {', '  deal_id: Text', '  owner_id: Text', '  amount: Money',
           '  close_date: Date', '  status: Text', '}', '']
    py = ["from decimal import Decimal", ""]
    n = 0
    while len(kam) < lines - 8:
        if n % 10 == 0:
            kam.append(f'let won_{n} = sum(amount for deals where owner_id == payee.id '
                       f'and status == "won" and close_date in period)')
            py.append(f"won_{n} = sum(d.amount for d in deals if d.owner_id == payee.id "
                      f"and d.status == 'won' and d.close_date in period)")
        else:
            prev = f"won_{n - n % 10}"
            k = rng.randint(1, 9)
            kam.append(f"let v_{n} = if {prev} > {k}000 EUR then {prev} * {k}% "
                       f"else payee.annual_variable / {k + 1}")
            py.append(f"v_{n} = {prev} * Decimal('0.0{k}') if {prev} > Decimal({k}000) "
                      f"else payee.annual_variable / {k + 1}")
        n += 1
    kam.append("")
    kam.append("curve rate(a: Rate) -> Rate {")
    kam.append("  | < 100% | a |")
    kam.append("  | >= 100% | 100% + 2 * (a - 100%) |")
    kam.append("}")
    kam.append(f"component bonus = v_{n - 1} * rate(50%)")
    py.append(f"bonus = v_{n - 1} * rate(Decimal('0.5'))")
    return "\n".join(kam) + "\n", "\n".join(py) + "\n"
