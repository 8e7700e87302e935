"""Baseline 2: the monthly AB Tasty rules as a hand-written polars pipeline (optional extra
`bench`), money as integer cents end to end (never float).

Deals and ARR snapshots are joined to the `kam` assignments valid on their date, summed per
payee and month (or quarter start), then the attainment (percent, truncated), the curve (in
per-mille, exact: every slope times a whole percent is a whole per-mille) and the payout
(cents, half up) are integer expressions. Returns the same dict as handwritten.compute.
The four stages (load, aggregate, curve, output) are separate functions so that
bench/engines.py can time them against DuckDB's.
"""
from __future__ import annotations

import os
from decimal import Decimal


def _cents(col: str):
    import polars as pl
    return pl.col(col).str.replace(".", "", literal=True).cast(pl.Int64)


def load(folder: str) -> dict:
    """The five CSVs as polars frames: explicit schema, dates as Date, money as Int64 cents."""
    import polars as pl
    S, D = pl.Utf8, pl.Date
    schemas = {
        "people": {"payee_id": S, "name": S, "annual_variable": S},
        "assignments": {"account_id": S, "payee_id": S, "role": S, "start_date": D, "end_date": D},
        "arr": {"account_id": S, "date": D, "arr": S},
        "deals": {"deal_id": S, "account_id": S, "type": S, "amount": S, "close_date": D,
                  "status": S},
        "targets": {"payee_id": S, "period": S, "metric": S, "target": S},
    }
    money = {"people": "annual_variable", "arr": "arr", "deals": "amount", "targets": "target"}
    frames = {}
    for name, schema in schemas.items():
        df = pl.read_csv(os.path.join(folder, f"{name}.csv"), schema=schema)
        frames[name] = df.with_columns(_cents(money[name])) if name in money else df
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
    """Targets, curve and payout in integer cents per payee and month, as a frame."""
    import polars as pl
    tg = t["targets"].filter(pl.col("period") == "2025")
    nrr_t = tg.filter(pl.col("metric") == "nrr").select("payee_id", t100="target")
    up_t = tg.filter(pl.col("metric") == "net_upsell").select("payee_id", tcents="target")
    grid = (t["people"].select("payee_id", av="annual_variable")
            .join(nrr_t, on="payee_id").join(up_t, on="payee_id")
            .join(pl.DataFrame({"month": list(range(1, months + 1))}, schema={"month": pl.Int8}),
                  how="cross"))
    grid = grid.with_columns(date=pl.date(2025, (pl.col("month") - 1) // 3 * 3 + 1, 1))
    moves = t["moves"].with_columns(pl.col("month").cast(pl.Int8))
    g = (grid.join(moves, on=["payee_id", "month"], how="left")
         .join(t["port"], on=["payee_id", "date"], how="left").fill_null(0))
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


def output(g):
    """The payout dict and the CSV text from the cents frame."""
    out = {}
    for p, m, a, b in g.iter_rows():
        label = f"2025-{m:02d}"
        out[(p, label, "nrr")] = Decimal(a).scaleb(-2)
        out[(p, label, "upsell")] = Decimal(b).scaleb(-2)
    return out, to_csv(out)


def compute(folder, months):
    """The payouts {(payee_id, period, component): Decimal}: the four stages in a row."""
    out, _ = output(curve(aggregate(load(folder)), months))
    return out


def to_csv(out) -> str:
    """The payout CSV (components and totals) from the dict, sorted like kamrules prints."""
    lines = ["payee_id,period,component,amount,currency"]
    keys = sorted({(p, m) for p, m, _ in out})
    for p, m in keys:
        a, b = out[(p, m, "nrr")], out[(p, m, "upsell")]
        lines += [f"{p},{m},nrr,{a:.2f},EUR", f"{p},{m},upsell,{b:.2f},EUR", f"{p},{m},total,{a + b:.2f},EUR"]
    return "\n".join(lines) + "\n"
