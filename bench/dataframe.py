"""Baseline 2: the monthly AB Tasty rules as a hand-written polars pipeline (optional extra
`bench`), money as integer cents end to end (never float).

Deals and ARR snapshots are joined to the `kam` assignments valid on their date, summed per
payee and month (or quarter start), then the attainment (percent, truncated), the curve (in
per-mille, exact: every slope times a whole percent is a whole per-mille) and the payout
(cents, half up) are integer expressions. Returns the same dict as handwritten.compute.
"""
from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal


def _cents(col):
    import polars as pl
    return pl.col(col).str.replace(".", "", literal=True).cast(pl.Int64)


def compute(folder, months):
    import polars as pl
    S = pl.Utf8
    people = pl.read_csv(os.path.join(folder, "people.csv"), schema_overrides={"annual_variable": S})
    asg = pl.read_csv(os.path.join(folder, "assignments.csv"), try_parse_dates=True,
                      schema_overrides={"end_date": pl.Date}).filter(pl.col("role") == "kam")
    arr = pl.read_csv(os.path.join(folder, "arr.csv"), try_parse_dates=True, schema_overrides={"arr": S})
    deals = pl.read_csv(os.path.join(folder, "deals.csv"), try_parse_dates=True,
                        schema_overrides={"amount": S})
    targets = pl.read_csv(os.path.join(folder, "targets.csv"), schema_overrides={"target": S, "period": S})

    def credited(df, day):
        j = df.join(asg, on="account_id", how="inner")
        return j.filter((pl.col("start_date") <= pl.col(day))
                        & (pl.col("end_date").is_null() | (pl.col(day) <= pl.col("end_date"))))

    won = credited(deals.filter(pl.col("status") == "won").with_columns(cents=_cents("amount")),
                   "close_date")
    moves = (won.with_columns(month=pl.col("close_date").dt.month())
             .group_by("payee_id", "month")
             .agg(*[pl.col("cents").filter(pl.col("type") == t).sum().alias(t)
                    for t in ("expansion", "contraction", "churn", "new_business")]))
    port = (credited(arr.with_columns(cents=_cents("arr")), "date")
            .group_by("payee_id", "date").agg(portfolio=pl.col("cents").sum()))
    tg = targets.filter(pl.col("period") == "2025")
    nrr_t = tg.filter(pl.col("metric") == "nrr").select(
        "payee_id", t100=_cents("target"))  # 1.05 -> 105 (targets have two decimals)
    up_t = tg.filter(pl.col("metric") == "net_upsell").select("payee_id", tcents=_cents("target"))
    grid = (people.select("payee_id", av=_cents("annual_variable"))
            .join(nrr_t, on="payee_id").join(up_t, on="payee_id")
            .join(pl.DataFrame({"month": list(range(1, months + 1))}, schema={"month": pl.Int8}),
                  how="cross"))
    grid = grid.with_columns(date=pl.date(2025, (pl.col("month") - 1) // 3 * 3 + 1, 1))
    moves = moves.with_columns(pl.col("month").cast(pl.Int8))
    g = (grid.join(moves, on=["payee_id", "month"], how="left")
         .join(port, on=["payee_id", "date"], how="left").fill_null(0))
    n = pl.col("portfolio") + pl.col("expansion") - pl.col("contraction") - pl.col("churn")
    up = pl.col("expansion") + pl.col("new_business") - pl.col("contraction") - pl.col("churn")

    def trunc_div(a, b):  # toward zero, like `round(x, 1%, down)`
        q = a.abs() // b.abs()
        return pl.when((a < 0) ^ (b < 0)).then(-q).otherwise(q)

    def per_mille(a):
        return (pl.when(a < 80).then(0).when(a < 100).then(500 + 25 * (a - 80))
                .when(a < 110).then(1000 + 80 * (a - 100)).otherwise(1800 + 4 * (a - 110)))

    def payout(weight, rate):  # cents = av * weight% / 12 * rate per mille, half up
        num = pl.col("av") * weight * rate
        return (2 * num + 1_200_000) // 2_400_000

    g = g.with_columns(nrr_att=trunc_div(10_000 * n, pl.col("portfolio") * pl.col("t100")),
                       up_att=trunc_div(1_200 * up, pl.col("tcents")))
    g = g.with_columns(nrr=payout(70, per_mille(pl.col("nrr_att"))),
                       upsell=payout(30, per_mille(pl.col("up_att"))))
    out = {}
    for p, m, a, b in g.select("payee_id", "month", "nrr", "upsell").iter_rows():
        label = f"2025-{m:02d}"
        out[(p, label, "nrr")] = Decimal(a).scaleb(-2)
        out[(p, label, "upsell")] = Decimal(b).scaleb(-2)
    return out


def to_csv(out) -> str:
    """The payout CSV (components and totals) from the dict, sorted like kamrules prints."""
    lines = ["payee_id,period,component,amount,currency"]
    keys = sorted({(p, m) for p, m, _ in out})
    for p, m in keys:
        a, b = out[(p, m, "nrr")], out[(p, m, "upsell")]
        lines += [f"{p},{m},nrr,{a:.2f},EUR", f"{p},{m},upsell,{b:.2f},EUR", f"{p},{m},total,{a + b:.2f},EUR"]
    return "\n".join(lines) + "\n"
