"""The columnar path of `kamrules run`: load the data as frames, find the periods, evaluate,
write the payout CSV straight from the frame.

`columnar_payouts` raises `Unsupported` (the plan) or `Fallback` (the data) when the
interpreter must run instead; the command then runs it, so the output never depends on
which engine ran.
"""
from __future__ import annotations

import datetime as dt
import io
from contextlib import closing
from types import SimpleNamespace

import polars as pl

from kamrules.core.calendar import Period
from kamrules.backends.interp.run import plan_periods, select_payees
from kamrules.check.plan import CheckedPlan
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
    buf = io.StringIO()
    for out in _csv_parts(plan, table, periods):
        out.write_csv(buf, include_header=False, quote_style="never", line_terminator="\n")
    return ",".join(COLUMNS) + "\n" + buf.getvalue()


def csv_writer(plan: CheckedPlan, table: pl.DataFrame, periods: list):
    """to_csv's bytes as a files.outputs writer (polars writes them into the file it is
    handed, no text is built in Python), a slice of payee-periods at a time
    (CHUNK_ROWS): the rows of the whole CSV never exist at once. The next slice is laid out
    while one is written (_built_ahead)."""
    parts = _csv_parts(plan, table, periods)

    def write(fh):
        fh.write((",".join(COLUMNS) + "\n").encode("utf-8"))
        try:
            with closing(_built_ahead(parts)) as slices:  # (closed: its thread ends on an error too)
                for out in slices:
                    fh.flush()  # (polars may write to the file's descriptor itself)
                    out.write_csv(fh, include_header=False, quote_style="never", line_terminator="\n")
        except OSError as err:  # polars words the system's error: its number for outputs' hints
            raise _numbered(err) from None
    return write


def _built_ahead(parts, depth: int = 1):
    """The items of the iterator `parts`, in order, each made in a thread of its own while
    the caller uses the one before (polars lets go of the GIL both to lay out a slice of the
    CSV and to write one: at 100k payees x 12 months the writer takes about 0.32 s of wall
    time instead of 0.45). At most `depth` items wait made. An exception raised making an
    item is raised here, where that item would have come; a caller that stops early (a
    full disk) and closes the generator stops the making; the close returns once the thread
    has ended."""
    import queue
    import threading
    made, stop, end = queue.Queue(maxsize=depth), threading.Event(), object()

    def make():
        try:
            for part in parts:
                if stop.is_set():
                    return
                made.put((part, None))
            made.put((end, None))
        except BaseException as err:  # (handed to the caller, which raises it)
            made.put((end, err))

    worker = threading.Thread(target=make, name="kamrules-csv-slices", daemon=True)
    worker.start()
    try:
        while True:
            part, err = made.get()
            if err is not None:
                raise err
            if part is end:
                return
            yield part
    finally:
        stop.set()
        while worker.is_alive():  # unblock a put into the full queue, then wait for the end
            try:
                made.get(timeout=0.05)
            except queue.Empty:
                pass


CHUNK_ROWS = 1 << 18  # payout rows turned into CSV rows at a time (about 400,000 lines of CSV)
CENTS = pl.Decimal(38, 2)


def _csv_parts(plan: CheckedPlan, table: pl.DataFrame, periods: list, rows: int = CHUNK_ROWS):
    """The payout CSV's rows as frames of its five columns, one slice of about `rows` payout
    rows at a time, each slice whole payee-periods (its total row is its own), in order;
    each cell as the CSV holds it (escaped, then quoted as the report's writer quotes), to
    write with quote_style="never" (polars then looks at no cell: half its time)."""
    n = len(plan.components)
    key = pl.col("__o").cast(pl.UInt64) * (n + 1) + pl.col("__c").cast(pl.UInt64)
    if not table.select(key.alias("k"))["k"].is_sorted():
        table = table.sort("__o", "__c")
    small = _Small(plan, periods)
    return (_csv_rows(part, small) for part in _slices(table, rows))


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


def _quoted(cell: str) -> str:
    """A cell as the report's writer (csv, plus a CR) puts it in the CSV: quoted when it holds
    a comma, a quote or a line end."""
    return '"' + cell.replace('"', '""') + '"' if any(ch in cell for ch in ',"\r\n') else cell


class _Small:
    """The CSV cells of the columns with few values (period labels by the rank of their key,
    component names then `total`, the plan's currency), as series to gather from: Enums
    when their values are distinct (polars gathers and writes their codes faster than text)."""

    def __init__(self, plan: CheckedPlan, periods: list):
        from kamrules.backends.polars.values import period_key
        self.n = len(plan.components)
        self.keys = pl.Enum([period_key(p) for p in periods])
        self.labels = _values([_quoted(p.label) for p in periods])
        self.names = _values([_quoted(safe_cell(c)) for c in plan.components] + ["total"])
        self.currency = _values([_quoted(plan.currency or "")])


def _values(cells: list) -> pl.Series:
    """cells as a series to gather from: an Enum when they are distinct, else text."""
    return pl.Series(cells, dtype=pl.Enum(cells) if len(set(cells)) == len(cells) else pl.String)


def _csv_rows(table: pl.DataFrame, small: _Small) -> pl.DataFrame:
    """The payout CSV's rows of a slice (sorted by (__o, __c), whole payee-periods) as a frame
    of its five columns: the table's rows, each payee-period's total (rank n) after its last
    row, laid out by index arithmetic (_layout), not sorted."""
    o, rows, n = table["__o"], table.height, small.n
    ends = o.ne_missing(o.shift(-1)).arg_true()  # the last row of each payee-period
    full = ends.len() * n == rows and bool((table["__c"] == pl.int_range(0, rows, dtype=pl.Int32, eager=True) % n).all())
    src, picks, comp = _layout(ends, rows, n, None if full else table["__c"])
    ranks = table["period"].cast(small.keys).to_physical()  # the period's rank among the report periods
    currency = (_cells(table["currency"], _quoted).gather(src) if "currency" in table.columns
                else small.currency.new_from_index(0, src.len()))
    return pl.DataFrame([
        _cells(table["payee_id"], lambda i: _quoted(safe_cell(i))).gather(src).alias("payee_id"),
        small.labels.gather(ranks.gather(src)).alias("period"),
        small.names.gather(comp).alias("component"),
        pl.concat(_amounts(table, ends, n if full else 0)).gather(picks).alias("amount"),
        currency.alias("currency")])


def _layout(ends: pl.Series, rows: int, n: int, comps: pl.Series | None) -> tuple:
    """(src, picks, comp) of each output row: its table row (a total's: the last row of its
    payee-period, whose payee, period and currency it takes), its place in amounts ++ totals,
    its component rank (n: total). comps None: every payee-period has the n components
    (then output row s is payee-period s // (n + 1), component s % (n + 1)); else `before`
    counts the totals at or before each output row, so a table row p - before(p) is at p,
    and a total at p follows table row p - before(p)."""
    runs = ends.len()
    slots = pl.int_range(0, rows + runs, dtype=pl.UInt32, eager=True)
    if comps is None:
        run = slots // (n + 1)
        comp = slots - run * (n + 1)
        src = run * n + comp.clip(upper_bound=n - 1)
        picks = pl.select(pl.when(comp == n).then(run + rows).otherwise(run * n + comp)).to_series()
        return src, picks, comp
    at = ends + pl.int_range(1, runs + 1, dtype=pl.UInt32, eager=True)  # where each total goes
    src = slots - pl.repeat(False, rows + runs, dtype=pl.Boolean, eager=True).scatter(at, True).cast(pl.UInt32).cum_sum()
    picks = src.clone().scatter(at, pl.int_range(rows, rows + runs, dtype=pl.UInt32, eager=True))
    return src, picks, comps.gather(src).scatter(at, n)


def _cells(texts: pl.Series, cell) -> pl.Series:
    """texts as CSV cells (`cell` of each): looked at once per stretch of equal texts (a
    payee's rows are together), changed only where the cell differs."""
    heads = texts.filter(texts.ne_missing(texts.shift(1)))
    maybe = heads.filter(heads.str.contains(r'^[=+\-@\t\r]|[,"\r\n]')).unique().to_list()
    changed = {t: cell(t) for t in maybe if cell(t) != t}
    return texts.replace(changed) if changed else texts


def _amounts(table: pl.DataFrame, ends: pl.Series, full: int) -> tuple:
    """(amount of each row, total of each payee-period), to the cent half up (Decimal(38, 2)).
    A total is the exact sum, then rounded. When every amount is whole cents, so are the
    totals, summed in cents (|sum| < rows * 10^14: far within Decimal(38, 2)): `full`
    components in each payee-period (0: not so), their sum; else the difference of the
    running sum at a payee-period's end and at the one before. Else the running sum of the
    exact amounts (a group-by when it could leave the Decimal(38, 24) range), rounded."""
    amount = table["amount"]
    cents = amount.cast(CENTS)  # (polars rounds half to even: kept only when exact)
    exact = bool((cents == amount).all())
    if exact and full:
        firsts = pl.int_range(0, ends.len(), dtype=pl.UInt32, eager=True) * full
        return cents, sum((cents.gather(firsts + j) for j in range(1, full)), cents.gather(firsts))
    if exact:
        running = cents.cum_sum().gather(ends)
        return cents, running - running.shift(1, fill_value=0)
    top = amount.abs().max() if table.height else 0
    if top is None or top * table.height < 10 ** 12:  # |running sum| < 10^12: within Decimal(38, 24)
        running = amount.cum_sum().gather(ends)
        totals = running - running.shift(1, fill_value=0)
    else:
        totals = table.group_by("__o", maintain_order=True).agg(pl.col("amount").sum())["amount"]
    return pl.select(_cents(pl.lit(amount))).to_series(), pl.select(_cents(pl.lit(totals))).to_series()


def _cents(amount: pl.Expr) -> pl.Expr:
    """money.format_amount's value: to the cent, half up (a no-op at the usual steps)."""
    return amount.round(2, mode="half_away_from_zero").cast(pl.Decimal(38, 2))


__all__ = ["columnar_payouts", "to_csv", "csv_writer", "payouts_list", "frame_periods", "load"]
