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
    "ML": (100_000, 12, 5_000_000),  # issue 19's out-of-core case: --engine duckdb --memory-limit 1GB
    "L": (100_000, 12, 10_000_000),
    "XL": (100_000, 12, 100_000_000),  # ~6 GB of deals CSV: generated once, DuckDB only
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


# Sizes whose deals DuckDB writes (Python's csv module would take an hour and a half for
# XL on the shared machine): the other files as `generate` writes them, then deals.csv
# replaced by `fast_deals`.
FAST_DEALS = {"XL"}


BLOCK = 1_000_000  # fast_deals: rows DuckDB draws; the rest are copies with accounts rotated


def fast_deals(folder: str, payees: int, months: int, deals: int, seed: int = 7) -> None:
    """deals.csv with the columns and the distributions of `generate` (types and statuses
    by the same weights, amounts 500.00 to 60,000.00, any day of the months, any account):
    a block of up to BLOCK rows drawn by DuckDB from hashes of the row number and the seed,
    then copies of it by polars (deal ids going on, each copy's accounts shifted by
    7,919 x its number), written in row order."""
    import duckdb
    import polars as pl
    n_acc = payees * ACCOUNTS_PER_PAYEE
    end = dt.date(YEAR, months + 1, 1) if months < 12 else dt.date(YEAR + 1, 1, 1)
    days = (end - dt.date(YEAR, 1, 1)).days
    path = os.path.join(folder, "deals.csv")

    def pick(values, weights, h):
        cases, upto = [], 0
        for v, w in zip(values, weights):
            upto += w
            cases.append(f"WHEN {h} % {sum(weights)} < {upto} THEN '{v}'")
        return "CASE " + " ".join(cases) + " END"
    h = [f"hash(i, {seed}, {k})" for k in range(5)]
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"""COPY (SELECT printf('dl-%08d', i) AS deal_id,
            printf('acc-%07d', {h[0]} % {n_acc}) AS account_id,
            {pick(TYPES, TYPE_WEIGHTS, h[1])} AS type,
            printf('%d.%02d', (50000 + {h[2]} % 5950001) // 100, (50000 + {h[2]} % 5950001) % 100) AS amount,
            DATE '{YEAR}-01-01' + CAST({h[3]} % {days} AS INTEGER) AS close_date,
            {pick(STATUS, STATUS_WEIGHTS, h[4])} AS status
            FROM range({min(deals, BLOCK)}) t(i))
            TO '{path}' (HEADER, DELIMITER ',', QUOTE '')""")
    finally:
        con.close()
    if deals <= BLOCK:
        return
    block = pl.read_csv(path, infer_schema=False)
    account = block["account_id"].str.slice(4).cast(pl.Int64)
    with open(path, "ab") as fh:
        for b in range(1, -(-deals // BLOCK)):
            n = min(BLOCK, deals - b * BLOCK)
            part = block.head(n).with_columns(
                ("dl-" + (pl.int_range(b * BLOCK, b * BLOCK + n, dtype=pl.Int64).cast(pl.String)
                          .str.zfill(8))).alias("deal_id"),
                ("acc-" + ((account.head(n) + 7919 * b) % n_acc).cast(pl.String).str.zfill(7)).alias("account_id"))
            part.write_csv(fh, include_header=False, quote_style="never")


def data_folder(size: str, seed: int = 7, root: str | None = None) -> str:
    """The folder of a size's data, generated on first use (bench/.data is git-ignored)."""
    root = root or os.path.join(os.path.dirname(os.path.abspath(__file__)), ".data")
    folder = os.path.join(root, f"{size}-{seed}")
    if not os.path.exists(os.path.join(folder, "targets.csv")):  # targets are written last
        payees, months, deals = SIZES[size]
        if size in FAST_DEALS:
            generate(folder, payees, months, 0, seed)
            targets = os.path.join(folder, "targets.csv")
            os.replace(targets, targets + ".part")
            fast_deals(folder, payees, months, deals, seed)
            os.replace(targets + ".part", targets)
        else:
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
