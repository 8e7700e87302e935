"""Baseline 2: the monthly AB Tasty rules as a hand-written polars pipeline (optional extra
`bench`), exact end to end (never float): money is read as Decimal(18, 2) and computed in
Int64 cents, the payout CSV is written by polars from Decimal(38, 2) columns.

Deals and ARR snapshots are joined to the `kam` assignments valid on their date, summed per
payee and month (or quarter start), then the attainment (percent, truncated), the curve (in
per-mille, exact: every slope times a whole percent is a whole per-mille) and the payout
(cents, half up) are integer expressions. The four stages (load, aggregate, curve, output)
are separate functions so that bench/engines.py can time them against DuckDB's; `output`
writes kamrules' payout CSV (bench/payout_csv.py) with `write_csv`, byte for byte what
`kamrules run` prints. `read` is the other yardstick: every input CSV read with its schema,
nothing computed.

`python bench/dataframe.py --data DIR --months N -o OUT [--read-only]` runs it as a
process (for whole-process timings against `kamrules run`).
"""
from __future__ import annotations

import argparse
import os
import sys
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import payout_csv  # noqa: E402

MONEY = {"people": "annual_variable", "arr": "arr", "deals": "amount", "targets": "target"}


def schemas() -> dict:
    """{table: {column: polars dtype}} of the five CSVs bench/abtasty-monthly.kam reads:
    dates as Date, money as Decimal(18, 2) (every amount of the workload has two decimals)."""
    import polars as pl
    S, D, M = pl.Utf8, pl.Date, pl.Decimal(18, 2)
    return {
        "people": {"payee_id": S, "name": S, "annual_variable": M},
        "assignments": {"account_id": S, "payee_id": S, "role": S, "start_date": D, "end_date": D},
        "arr": {"account_id": S, "date": D, "arr": M},
        "deals": {"deal_id": S, "account_id": S, "type": S, "amount": M, "close_date": D,
                  "status": S},
        "targets": {"payee_id": S, "period": S, "metric": S, "target": M},
    }


def read(folder: str) -> dict:
    """The five CSVs as polars frames with their schema, and nothing else (the read-only
    yardstick: what any pipeline on these files pays before computing)."""
    import polars as pl
    return {name: pl.read_csv(os.path.join(folder, f"{name}.csv"), schema=schema)
            for name, schema in schemas().items()}


def load(folder: str) -> dict:
    """`read`, then money as Int64 cents (exact: a Decimal(18, 2) times 100 is whole)."""
    import polars as pl
    frames = read(folder)
    for name, col in MONEY.items():
        frames[name] = frames[name].with_columns((pl.col(col) * 100).cast(pl.Int64))
    return frames


def aggregate(t: dict) -> dict:
    """`moves` (payee, month, the four deal-type sums in cents) and `port` (payee, snapshot
    day, ARR cents)."""
    import polars as pl
    asg = t["assignments"].filter(pl.col("role") == "kam")

    def credited(df, day):
        j = df.join(asg, on="account_id", how="inner")
        return j.filter((pl.col("start_date") <= pl.col(day))
                        & (pl.col("end_date").is_null() | (pl.col(day) <= pl.col("end_date"))))

    won = credited(t["deals"].filter(pl.col("status") == "won"), "close_date")
    moves = (won.with_columns(month=pl.col("close_date").dt.month())
             .group_by("payee_id", "month")
             .agg(*[pl.col("amount").filter(pl.col("type") == k).sum().alias(k)
                    for k in ("expansion", "contraction", "churn", "new_business")]))
    port = (credited(t["arr"], "date").group_by("payee_id", "date")
            .agg(portfolio=pl.col("arr").sum()))
    return {"people": t["people"], "targets": t["targets"], "moves": moves, "port": port}


def curve(t: dict, months: int):
    """Targets, curve and payout in integer cents per payee and month, as a frame in payee
    and month order (the payees sorted once, 100k rows; every join keeps the grid's order,
    so the 1.2M-row result is never sorted)."""
    import polars as pl
    tg = t["targets"].filter(pl.col("period") == "2025")
    nrr_t = tg.filter(pl.col("metric") == "nrr").select("payee_id", t100="target")
    up_t = tg.filter(pl.col("metric") == "net_upsell").select("payee_id", tcents="target")
    grid = (t["people"].select("payee_id", av="annual_variable").sort("payee_id")
            .join(nrr_t, on="payee_id", maintain_order="left").join(up_t, on="payee_id", maintain_order="left")
            .join(pl.DataFrame({"month": list(range(1, months + 1))}, schema={"month": pl.Int8}),
                  how="cross", maintain_order="left_right"))
    grid = grid.with_columns(date=pl.date(2025, (pl.col("month") - 1) // 3 * 3 + 1, 1))
    moves = t["moves"].with_columns(pl.col("month").cast(pl.Int8))
    g = (grid.join(moves, on=["payee_id", "month"], how="left", maintain_order="left")
         .join(t["port"], on=["payee_id", "date"], how="left", maintain_order="left").fill_null(0))
    n = pl.col("portfolio") + pl.col("expansion") - pl.col("contraction") - pl.col("churn")
    up = pl.col("expansion") + pl.col("new_business") - pl.col("contraction") - pl.col("churn")

    def trunc_div(a, b):  # toward zero, like `round(x, 1%, down)`
        q = a.abs() // b.abs()
        return pl.when((a < 0) ^ (b < 0)).then(-q).otherwise(q)

    def per_mille(a):
        return (pl.when(a < 80).then(0).when(a < 100).then(500 + 25 * (a - 80))
                .when(a < 110).then(1000 + 80 * (a - 100)).otherwise(1800 + 4 * (a - 110)))

    def payout(weight, rate):  # cents = av * weight% / 12 * rate per mille, half up
        return (2 * pl.col("av") * weight * rate + 1_200_000) // 2_400_000

    g = g.with_columns(nrr_att=trunc_div(10_000 * n, pl.col("portfolio") * pl.col("t100")),
                       up_att=trunc_div(1_200 * up, pl.col("tcents")))
    g = g.with_columns(nrr=payout(70, per_mille(pl.col("nrr_att"))),
                       upsell=payout(30, per_mille(pl.col("up_att"))))
    return g.select("payee_id", "month", "nrr", "upsell")


def payout_frame(g):
    """kamrules' payout rows from the cents frame (in payee and month order): per payee and
    month the components then the total, amounts as Decimal(38, 2) (cents times 0.01,
    exact). Laid out by index arithmetic: output row j is g's row j // 3 and column j % 3
    (nrr, upsell, total), each output column one gather (a concat_list and explode of
    1.2M rows, and formatting each period label, took three times as long)."""
    import polars as pl
    k, h = len(payout_csv.COMPONENTS) + 1, g.height
    j = pl.int_range(0, h * k, dtype=pl.UInt32, eager=True)
    row, comp = j // k, j % k
    cents = pl.concat([g["nrr"], g["upsell"], g["nrr"] + g["upsell"]]).gather(comp * h + row)
    months = pl.Series([f"2025-{m:02d}" for m in range(1, 13)])
    return pl.DataFrame([
        g["payee_id"].gather(row),
        months.gather(g["month"].cast(pl.UInt32).gather(row) - 1).alias("period"),
        pl.Series(list(payout_csv.COMPONENTS) + ["total"]).gather(comp).alias("component"),
        (cents.cast(pl.Decimal(38, 0)) * Decimal("0.01")).cast(pl.Decimal(38, 2)).alias("amount"),
        pl.repeat("EUR", h * k, eager=True).alias("currency")])


def output(g, path: str | None = None):
    """Write the payout CSV to `path` with polars (None: return its text)."""
    return payout_frame(g).write_csv(path, line_terminator="\n")


def run(folder: str, months: int, path: str | None = None):
    """The whole pipeline, CSVs in, payout CSV out (None: the text)."""
    return output(curve(aggregate(load(folder)), months), path)


def compute(folder: str, months: int) -> dict:
    """The payouts {(payee_id, "YYYY-MM", component): Decimal}, read back from the CSV."""
    return payout_csv.rows(run(folder, months))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="the polars baseline as a process")
    ap.add_argument("--data", required=True, help="the workload's CSV folder")
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("-o", "--output", help="the payout CSV (required unless --read-only)")
    ap.add_argument("--read-only", action="store_true",
                    help="only read every input CSV with its schema")
    args = ap.parse_args(argv)
    if args.read_only:
        frames = read(args.data)
        print(sum(f.height for f in frames.values()), "rows read")
        return 0
    if not args.output:
        ap.error("-o is required")
    run(args.data, args.months, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
