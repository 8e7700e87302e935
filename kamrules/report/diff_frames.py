"""`diff` on the payout frames of two columnar runs: the totals per payee and period, the
diff rows, the summary, and the table and CSV views, computed with polars, byte for byte
what report.compare gives on the same payouts (tests/test_diff.py compares both), without
building a Payout object per payout (3.5 million at 100k payees x 12 months).

A run's table is its payout frame (run/session.py ColumnarRun.table: payee_id, period key,
`__c`, amount). Amounts are taken at the plan's rounding step as Payout objects have them
(backends.polars.engine.payouts_list), added up exactly as Decimal columns, and printed to
the cent half up (core.numeric.format_amount); no float touches them.
"""
from __future__ import annotations

import polars as pl

from kamrules.backends.polars.values import period_key
from kamrules.diagnostics.textsafe import for_terminal
from kamrules.report import compare
from kamrules.report.payouts import safe_cell

HEAD = ("payee", "period", "before", "after", "change", "currency")
CSV_HEAD = ("payee_id", "period", "before", "after", "change", "currency")


def run_kinds(run) -> set:
    """The period kinds of the payouts of a columnar run (compare.coarser_kind's input)."""
    by_key = {period_key(p): p for p in run.periods}
    return {by_key[k].kind for k in run.table["period"].unique().to_list()}


def frame_totals(plan, run, kind: str | None) -> pl.DataFrame:
    """compare.totals(run.payouts, kind) as a frame: payee_id, period (label), amount."""
    by_key = {period_key(p): p for p in run.periods}
    labels = {k: str(p.containing(kind) if kind and p.kind != kind else p) for k, p in by_key.items()}
    table = run.table.lazy()
    if "currency" not in run.table.columns:  # one currency for the plan (else each payee's own)
        table = table.with_columns(pl.lit(plan.currency).alias("currency"))
    return (table.select("payee_id", pl.col("period").replace_strict(labels, return_dtype=pl.String),
                         _paid(plan), "currency")
            .group_by("payee_id", "period", "currency").agg(pl.col("amount").sum()).collect())


def _paid(plan) -> pl.Expr:
    """The amount as a Payout has it: at the plan's rounding step (Decimal.quantize, half
    even: a no-op on amounts the plan rounded), at least two places."""
    exp = plan.round_step.as_tuple().exponent
    places = max(0, -exp) if isinstance(exp, int) else 2
    return pl.col("amount").round(places, mode="half_to_even").cast(pl.Decimal(38, max(places, 2)))


def payee_totals(plan, run) -> dict:
    """payee id -> the sum of its payouts (compare.SimResult.per_payee) of a columnar run."""
    sums = run.table.lazy().select("payee_id", _paid(plan)).group_by("payee_id").agg(pl.col("amount").sum())
    return dict(sums.collect().iter_rows())


def diff_frame(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """compare.diff_rows as a frame: payee_id, period, before, after, change, currency;
    biggest gain first, then by payee and period."""
    scale = max(before["amount"].dtype.scale, after["amount"].dtype.scale)
    dec = pl.Decimal(38, scale)
    b = before.select("payee_id", "period", "currency", pl.col("amount").cast(dec).alias("before"))
    a = after.select("payee_id", "period", "currency", pl.col("amount").cast(dec).alias("after"))
    zero = pl.lit(0, dtype=dec)
    # joined on the currency too: an amount paid in another currency is never compared as equal
    rows = b.join(a, on=["payee_id", "period", "currency"], how="full", coalesce=True).select(
        "payee_id", "period", pl.col("before").fill_null(zero), pl.col("after").fill_null(zero), "currency")
    rows = rows.with_columns((pl.col("after") - pl.col("before")).alias("change"))
    return rows.select(*CSV_HEAD).sort(["change", "payee_id", "period", "currency"],
                                       descending=[True, False, False, False])


def summary(rows: pl.DataFrame) -> dict:
    """compare.diff_summary of the same rows."""
    cost = {}
    for cur, b, a in (rows.group_by("currency").agg(pl.col("before").sum(), pl.col("after").sum())
                      .sort("currency").iter_rows()):
        cost[cur] = {"before": b, "after": a, "change": a - b}
    per: dict = {}
    for payee, cur, change in rows.group_by("payee_id", "currency").agg(pl.col("change").sum()).iter_rows():
        per.setdefault(payee, {})[cur] = change
    return {"cost": cost, **compare.counts(list(per.values()))}


def diff_rows(rows: pl.DataFrame) -> list:
    """The frame as compare.DiffRow objects (for the JSON and Markdown views)."""
    return [compare.DiffRow(p, per, b, a, cur) for p, per, b, a, cur, _ in
            rows.select("payee_id", "period", "before", "after", "currency", "change").iter_rows()]


def _cents(col: str) -> pl.Expr:
    """core.numeric.format_amount: to the cent, half up, `0.00` for zero."""
    return pl.col(col).round(2, mode="half_away_from_zero").cast(pl.Decimal(38, 2)).cast(pl.String)


def _mapped(rows: pl.DataFrame, col: str, fn) -> pl.Expr:
    """The column with fn applied to each distinct value it changes (escapes are rare)."""
    changed = {v: fn(v) for v in rows[col].unique().to_list() if fn(v) != v}
    return pl.col(col).replace(changed) if changed else pl.col(col)


def diff_table(rows: pl.DataFrame, summ: dict) -> str:
    """compare.diff_table (without a ledger) of the same rows."""
    cells = rows.select(_mapped(rows, "payee_id", for_terminal), _mapped(rows, "period", for_terminal),
                        _cents("before"), _cents("after"),
                        pl.concat_str(pl.when(pl.col("change") > 0).then(pl.lit("+")).otherwise(pl.lit("")),
                                      _cents("change")).alias("change"),
                        _mapped(rows, "currency", for_terminal))
    widths = [max(len(h), cells[c].str.len_chars().max() or 0) for h, c in zip(HEAD, cells.columns)]
    numeric = {2, 3, 4}
    head = "  ".join(h.rjust(w) if i in numeric else h.ljust(w) for i, (h, w) in enumerate(zip(HEAD, widths))).rstrip()
    padded = [pl.col(c).str.pad_start(w) if i in numeric else pl.col(c).str.pad_end(w)
              for i, (c, w) in enumerate(zip(cells.columns, widths))]
    lines = cells.select(pl.concat_str(padded, separator="  ").str.strip_chars_end(" "))
    return "\n".join([head, *lines.to_series().to_list()]) + "\n\n" + compare.summary_line(summ) + "\n"


def diff_csv(rows: pl.DataFrame) -> str | None:
    """compare.diff_csv (without a ledger) of the same rows; None when a cell holds a CR
    (the report's writer quotes it, polars does not)."""
    if any("\r" in v for c in ("payee_id", "period", "currency") for v in rows[c].unique().to_list()):
        return None
    out = rows.select(_mapped(rows, "payee_id", safe_cell), "period", _cents("before"), _cents("after"),
                      _cents("change"), "currency")
    text = out.write_csv(include_header=False, quote_style="necessary", line_terminator="\n")
    return ",".join(CSV_HEAD) + "\n" + text
