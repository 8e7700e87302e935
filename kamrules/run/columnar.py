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
    parts = _csv_parts(plan, table, periods)
    if isinstance(parts, str):
        return parts
    buf = io.StringIO()
    for out in parts:
        out.write_csv(buf, include_header=False, quote_style="necessary", line_terminator="\n")
    return ",".join(COLUMNS) + "\n" + buf.getvalue()


def csv_writer(plan: CheckedPlan, table: pl.DataFrame, periods: list):
    """to_csv's bytes as a files.outputs writer (polars writes them into the file it is
    handed, no text is built in Python), a slice of payee-periods at a time
    (CHUNK_ROWS): the rows of the whole CSV never exist at once."""
    parts = _csv_parts(plan, table, periods)
    if isinstance(parts, str):
        data = parts.encode("utf-8")
        return lambda fh: fh.write(data)

    def write(fh):
        fh.write((",".join(COLUMNS) + "\n").encode("utf-8"))
        try:
            for out in parts:
                fh.flush()  # (polars may write to the file's descriptor itself)
                out.write_csv(fh, include_header=False, quote_style="necessary", line_terminator="\n")
        except OSError as err:  # polars words the system's error: its number for outputs' hints
            raise _numbered(err) from None
    return write


CHUNK_ROWS = 1 << 18  # payout rows turned into CSV rows at a time (about 400,000 lines of CSV)


def _csv_parts(plan: CheckedPlan, table: pl.DataFrame, periods: list, rows: int = CHUNK_ROWS):
    """The payout CSV's rows as frames of its five columns, one slice of about `rows` payout
    rows at a time, each slice whole payee-periods (its total row is its own), in order; or
    the whole text when polars would not write it as the report does (_csv_rows)."""
    if table.height <= rows or table["payee_id"].str.contains("\r", literal=True).any():
        whole = _csv_rows(plan, table, periods)
        return whole if isinstance(whole, str) else iter([whole])
    n = len(plan.components)
    key = pl.col("__o").cast(pl.UInt64) * (n + 1) + pl.col("__c").cast(pl.UInt64)
    if not table.select(key.alias("k"))["k"].is_sorted():
        table = table.sort("__o", "__c")
    return (_csv_rows(plan, part, periods) for part in _slices(table, rows))


def _slices(table: pl.DataFrame, rows: int):
    """The table (sorted by __o) cut into slices of at least `rows` rows (the last may be
    shorter), each ending where a payee-period ends."""
    o, start, n = table["__o"], 0, table.height
    while start < n:
        end = min(start + rows, n)
        if end < n:  # on to the end of the payee-period of the slice's last row
            end = max(end, int(o.search_sorted(o[end - 1], side="right")))
        yield table.slice(start, end - start)
        start = end


def _numbered(err: OSError) -> OSError:
    """err with its errno when polars left it only in the text ("... (os error 28)")."""
    import os
    import re
    found = re.search(r"(?:os error|Errno) (\d+)", str(err)) if err.errno is None else None
    return OSError(int(found.group(1)), os.strerror(int(found.group(1)))) if found else err


def _csv_rows(plan: CheckedPlan, table: pl.DataFrame, periods: list):
    """The payout CSV's rows as a frame of its five columns, or its whole text when polars
    would not write it as the report does (a CR in a payee id)."""
    from kamrules.backends.polars.values import period_key
    labels = {period_key(p): p.label for p in periods}
    names = [safe_cell(c) for c in plan.components]
    n = len(names)
    payee_ids = table["payee_id"]
    if payee_ids.str.contains("\r", literal=True).any():  # polars leaves a CR unquoted: the report's writer quotes it
        return payout_report.to_csv(payouts_list(plan, table, periods))
    key = pl.col("__o").cast(pl.UInt64) * (n + 1) + pl.col("__c").cast(pl.UInt64)
    if not table.select(key.alias("k"))["k"].is_sorted():
        table = table.sort("__o", "__c")
    src, comp, amount = _with_totals(table, n)
    # safe_cell only on the ids that may need it (a first character it escapes)
    maybe = payee_ids.filter(payee_ids.str.contains(r"^[=+\-@\t\r]")).unique().to_list()
    escaped = {i: safe_cell(i) for i in maybe if safe_cell(i) != i}
    payee = table["payee_id"].gather(src)
    if escaped:
        payee = payee.replace(escaped)
    currency = (table["currency"].gather(src) if "currency" in table.columns
                else pl.repeat(plan.currency, len(src), dtype=pl.String, eager=True))
    # the period's label by its rank among the report periods (a gather, not a lookup per row)
    ranks = table["period"].cast(pl.Enum(list(labels))).to_physical()
    cents = amount.cast(pl.Decimal(38, 2))
    return pl.DataFrame([
        payee.alias("payee_id"),
        pl.Series(list(labels.values()), dtype=pl.String).gather(ranks.gather(src)).alias("period"),
        pl.Series(names + ["total"], dtype=pl.String).gather(comp).alias("component"),
        (cents if (cents == amount).all() else pl.select(_cents(pl.lit(amount))).to_series()).alias("amount"),
        currency.alias("currency")])


def _with_totals(table: pl.DataFrame, n: int) -> tuple:
    """(source row, component rank, amount) of every output row: the table's rows (sorted by
    (__o, __c)), each payee-period's total (rank n) after its last row, taken from that row.
    A total is the difference of the running sum at its run's end and at the run before
    (exact decimals; a group-by when the running sum could leave the Decimal range).
    The output is laid out by index arithmetic, not sorted: `before` counts the totals at or
    before each output row, so a table row p - before(p) is at p, and a total at p follows
    table row p - before(p) and is the before(p)-th total."""
    o = table["__o"]
    last = o.ne_missing(o.shift(-1))  # the last row of its payee-period
    rows = table.height
    amount = table["amount"]
    top = amount.abs().max() if rows else 0
    if top is None or top * rows < 10 ** 12:  # |running sum| < 10^12: within Decimal(38, 24)
        running = amount.cum_sum().filter(last)
        totals = running - running.shift(1, fill_value=0)
    else:
        totals = table.group_by("__o", maintain_order=True).agg(pl.col("amount").sum())["amount"]
    runs = totals.len()
    ends = pl.int_range(0, rows, dtype=pl.UInt32, eager=True).filter(last)
    at = ends + pl.int_range(1, runs + 1, dtype=pl.UInt32, eager=True)  # where each total goes
    is_total = pl.repeat(False, rows + runs, dtype=pl.Boolean, eager=True).scatter(at, True)
    before = is_total.cast(pl.UInt32).cum_sum()
    src = pl.int_range(0, rows + runs, dtype=pl.UInt32, eager=True) - before
    picks = pl.select(c=pl.when(is_total).then(pl.lit(n, dtype=pl.Int32)).otherwise(table["__c"].gather(src)),
                      i=pl.when(is_total).then(before + rows - 1).otherwise(src))  # in amount ++ totals
    return src, picks["c"], pl.concat([amount, totals.cast(amount.dtype)]).gather(picks["i"])


def _cents(amount: pl.Expr) -> pl.Expr:
    """money.format_amount's value: to the cent, half up (a no-op at the usual steps)."""
    return amount.round(2, mode="half_away_from_zero").cast(pl.Decimal(38, 2))


__all__ = ["columnar_payouts", "to_csv", "csv_writer", "payouts_list", "frame_periods", "load"]
