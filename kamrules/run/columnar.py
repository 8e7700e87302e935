"""The columnar path of `kamrules run`: load the data as frames, find the periods, evaluate,
write the payout CSV straight from the frame.

`columnar_payouts` raises `Unsupported` (the plan) or `Fallback` (the data) when the
interpreter must run instead; the command then runs it, so the output never depends on
which engine ran.
"""
from __future__ import annotations

import datetime as dt
import io
from types import SimpleNamespace

import polars as pl

from kamrules.core.calendar import Period
from kamrules.backends.interp.run import plan_periods, select_payees
from kamrules.check.plan import CheckedPlan
from kamrules.report import payouts as payout_report
from kamrules.report.payouts import COLUMNS, safe_cell
from kamrules.files.inputs import resolve


def payouts_list(plan, table, periods) -> list:
    """backends.polars.engine.payouts_list (imported on use: `explain` loads frames here and
    never evaluates them)."""
    from kamrules.backends.polars.engine import payouts_list as payouts
    return payouts(plan, table, periods)


def load(plan: CheckedPlan, folder: str, cells: dict | None = None) -> dict:
    """The plan's inputs as frames, validated like the strict loader (data.fast.load_frames;
    cells: filled with the raw cells, for data.fast.kept_tables)."""
    from kamrules.data.fast import load_frames
    return load_frames(plan, folder, cells=cells)


def frame_periods(plan: CheckedPlan, frames: dict, period) -> list:
    """engine.run.plan_periods on frames: the same rule, fed the distinct values of the
    columns that place rows in periods."""
    def values(table, column):
        vals = frames[table][column].drop_nulls().unique().to_list()
        if plan.inputs[table].columns[column].type.kind == "period":
            return {_period_of_key(v, plan.fiscal_start) for v in vals}
        return set(vals)
    return plan_periods(plan, None, period, values)


def _period_of_key(key: str, fiscal_start: int) -> Period:
    kind, start = key.split(":")
    return Period(dt.date.fromisoformat(start), kind, fiscal_start)


def columnar_payouts(plan: CheckedPlan, folder: str, period=None,
                     payee_ids: set | None = None, trace_dir: str | None = None, progress=None):
    """(payout table, report periods, input paths) of the run, or raise Unsupported/Fallback."""
    from kamrules.backends.polars.engine import evaluate_frames
    from kamrules.backends.polars.trace import write_trace
    frames = load(plan, folder)
    paths = {name: SimpleNamespace(path=resolve(spec, folder)) for name, spec in plan.inputs.items()}
    known = frames[plan.payees_table][plan.payee_key].drop_nulls().to_list()
    payee_ids = select_payees(payee_ids, known, paths[plan.payees_table].path)
    if progress is not None:
        progress.advance()
    periods = frame_periods(plan, frames, period)
    table, frame = evaluate_frames(plan, frames, periods, lineage=trace_dir is not None,
                                   on_step=progress.advance if progress is not None else None)
    if trace_dir is not None:
        write_trace(frame, trace_dir)
    if payee_ids is not None:
        table = table.filter(pl.col("payee_id").is_in(sorted(payee_ids)))
    return table, periods, paths


def to_csv(plan: CheckedPlan, table: pl.DataFrame, periods: list) -> str:
    """report.payouts.to_csv of the same payouts, from the frame (a total row after each
    payee-period, amounts to the cent half up, cells that start like a formula escaped)."""
    out = _csv_rows(plan, table, periods)
    if isinstance(out, str):
        return out
    buf = io.StringIO()
    out.write_csv(buf, include_header=False, quote_style="necessary", line_terminator="\n")
    return ",".join(COLUMNS) + "\n" + buf.getvalue()


def csv_writer(plan: CheckedPlan, table: pl.DataFrame, periods: list):
    """to_csv's bytes as a files.outputs writer (polars writes them, no text is built in
    Python)."""
    out = _csv_rows(plan, table, periods)
    if isinstance(out, str):
        data = out.encode("utf-8")
        return lambda fh: fh.write(data)

    buf = io.BytesIO()  # written by polars here; the file by Python (its OSErrors are KR7xx)
    buf.write((",".join(COLUMNS) + "\n").encode("utf-8"))
    out.write_csv(buf, include_header=False, quote_style="necessary", line_terminator="\n")
    return lambda fh: fh.write(buf.getbuffer())


def _csv_rows(plan: CheckedPlan, table: pl.DataFrame, periods: list):
    """The payout CSV's rows as a frame of its five text columns, or its whole text when
    polars would not write it as the report does (a CR in a payee id)."""
    from kamrules.backends.polars.values import period_key
    labels = {period_key(p): p.label for p in periods}
    names = [safe_cell(c) for c in plan.components]
    n = len(names)
    if "currency" not in table.columns:  # a plan paid in one currency
        table = table.with_columns(pl.lit(plan.currency).alias("currency"))
    ids = table["payee_id"].unique()
    if ids.str.contains("\r", literal=True).any():  # polars leaves a CR unquoted: the report's writer quotes it
        return payout_report.to_csv(payouts_list(plan, table, periods))
    # one integer key per output row: a payee-period's components (rank __c < n), then its
    # total (rank n); the table comes sorted by (__o, __c), so totals are summed per run of
    # __o and merged in by key, without hashing or sorting the whole table again
    cols = ["payee_id", "period", "__o", "__c", "amount", "currency"]
    rows = table.select(cols).with_columns(
        (pl.col("__o").cast(pl.UInt64) * (n + 1) + pl.col("__c").cast(pl.UInt64)).alias("__k"))
    if not rows["__k"].is_sorted():
        rows = rows.sort("__k")
    rows = rows.with_columns(pl.col("__o").set_sorted(), pl.col("__k").set_sorted())
    totals = (rows.group_by("__o", maintain_order=True)
              .agg(pl.col("payee_id").first(), pl.col("period").first(), pl.col("amount").sum(),
                   pl.col("currency").first())
              .with_columns(pl.lit(n, dtype=pl.Int32).alias("__c"),
                            (pl.col("__o").cast(pl.UInt64) * (n + 1) + n).alias("__k")))
    rows = rows.merge_sorted(totals.select(rows.columns), "__k")
    # safe_cell only on the ids that may need it (a first character it escapes)
    maybe = ids.filter(ids.str.contains(r"^[=+\-@\t\r]")).to_list()
    escaped = {i: safe_cell(i) for i in maybe if safe_cell(i) != i}
    payee = pl.col("payee_id")
    if escaped:
        payee = payee.replace(escaped)
    return rows.select(
        payee,
        pl.col("period").replace_strict(labels, return_dtype=pl.String),
        pl.lit(pl.Series(names + ["total"], dtype=pl.String)).gather(pl.col("__c")).alias("component"),
        _cents(pl.col("amount")).cast(pl.String),
        pl.col("currency"))


def _cents(amount: pl.Expr) -> pl.Expr:
    """money.format_amount's value: to the cent, half up (a no-op at the usual steps)."""
    return amount.round(2, mode="half_away_from_zero").cast(pl.Decimal(38, 2))


__all__ = ["columnar_payouts", "to_csv", "csv_writer", "payouts_list", "frame_periods", "load"]
