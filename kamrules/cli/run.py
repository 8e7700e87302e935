"""`kamrules run PLAN --data DIR`: payouts as CSV (the data contract), JSON or a table.

The session (kamrules/run/session.py) runs the plan on the engine asked (`--engine`); `--jobs N`
evaluates the payees in N processes on the interpreter (default: the cores this process may
use), with the same output as `--jobs 1`; a progress bar is drawn on stderr for runs over a
second when stderr is a terminal, unless `--quiet`. `--ledger L` pays against a ledger
(kamrules/ledger): closed periods are never paid again; an `adjusts` column appears.
"""
from __future__ import annotations

import argparse
import re
import sys

from kamrules.version import __version__
from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.run.parallel import default_jobs
from kamrules.files.outputs import write_files, write_text
from kamrules.report import payouts as payout_report
from kamrules.diagnostics.textsafe import for_terminal
from kamrules.run.results import ColumnarRun
from kamrules.cli.common import data_args, open_session, ledger_options


def cmd_run(args) -> int:
    limit = memory_limit(args)
    if args.ledger is not None:
        return run_with_ledger(args)
    if args.retroactive or args.adjustments:
        raise KamError([Diagnostic("KR806", f"{'--retroactive' if args.retroactive else '--adjustments'} "
                                   "works with a ledger", hint="give the ledger: --ledger LEDGER")])
    if args.trace_dir and (args.engine == "interpreter" or args.trace):
        raise KamError([Diagnostic("KR002", "--trace-dir is the columnar engine's trace",
                                   hint="drop --engine interpreter / --trace, or use --trace (JSON trees)")])
    session = open_session(args)
    session.memory_limit = limit
    session.keep_frames = False  # nothing reads the input frames after the run: let go as it goes
    checked = session.check()
    result = session.execute(args.payee, jobs=args.jobs or default_jobs(), quiet=args.quiet,
                             trace_dir=args.trace_dir, trace=args.trace)
    rows = result.table.height if isinstance(result, ColumnarRun) else len(result.payouts)
    if rows == 0 and (args.period or args.payee):
        print(_nothing_selected(args), file=sys.stderr)
    if args.format == "csv" and isinstance(result, ColumnarRun):
        from kamrules.run.columnar import csv_writer, to_csv
        if args.output is None or args.output == "-":
            write_text(to_csv(checked, result.table, result.periods), args.output)
        else:  # polars writes the rows into the file (no text built in Python)
            write_files([(args.output, csv_writer(checked, result.table, result.periods))])
        return 0
    payouts, inputs = result.payouts, result.inputs
    if args.format == "csv":
        text = payout_report.to_csv(payouts)
    elif args.format == "json":
        meta = payout_report.run_meta(args.plan, checked.name, checked.version, inputs, __version__)
        not_eligible = None  # --trace --payee: why a payee asked for has no payout in a period
        if args.trace and args.payee:
            not_eligible = payout_report.not_eligible_of(session.payees(args.payee), session.eligibility)
        text = payout_report.to_json(payouts, with_trace=args.trace, meta=meta, not_eligible=not_eligible)
    else:
        text = payout_report.to_text(payouts)
    write_text(text, args.output)
    return 0


def run_with_ledger(args) -> int:
    """`run --ledger L`: the open periods, closed ones never paid again, and the adjustments of
    the closed periods in the first period after them (kamrules/ledger/settle.py)."""
    from kamrules.ledger.settle import settle, with_totals
    from kamrules.ledger.store import verified
    if args.trace or args.trace_dir:
        raise KamError([Diagnostic("KR806", "--trace and --trace-dir explain one run, not a run "
                                   "against a ledger", hint="drop --ledger to trace the plan's run")])
    ledger = verified(args.ledger)
    session = open_session(args)
    settlement = settle(args.plan, args.data, ledger, args.engine, args.retroactive, args.period,
                        args.adjustments, db=args.db, db_timeout=args.db_timeout)
    rows = settlement.shown()
    if args.payee:
        ids = session.payees(args.payee)
        rows = [r for r in rows if r.payee_id in ids]
    if not rows and (args.period or args.payee):
        print(_nothing_selected(args), file=sys.stderr)
    render = {"csv": payout_report.ledger_to_csv, "json": payout_report.ledger_to_json}
    write_text(render.get(args.format, payout_report.ledger_to_text)(with_totals(rows)), args.output)
    return 0


def _nothing_selected(args) -> str:
    """The note printed when a --period / --payee selection leaves no payout row (exit 0: a
    time-boxed component legitimately pays nothing in some periods), so that a header alone
    is never read as a silent failure. A period outside the data, or an unknown payee, is
    an error before this (KR721, KR405)."""
    what = " and ".join(x for x in (
        f"--period {', '.join(args.period)}" if args.period else "",
        f"--payee {', '.join(args.payee)}" if args.payee else "") if x)
    return for_terminal(f"note: {what}: no payout: no payee is eligible and no component applies "
                        "(`kamrules explain PLAN --data DIR --payee ID --period P` says why)")


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--jobs takes a whole number, not {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("--jobs must be at least 1")
    return n


def register(sub):
    from kamrules.cli import examples

    r = sub.add_parser("run", help="compute payouts", **examples(
        "kamrules run plans/abtasty-kam.kam --data examples/01-abtasty-nrr-upsell",
        "kamrules run plans/media-advance.kam --data examples/02-media-advance --period 2025-Q1 --format table",
        "kamrules run plans/abtasty-kam.kam --data examples/01-abtasty-nrr-upsell --format json -o payouts.json"))
    data_args(r)
    r.add_argument("--format", choices=("csv", "json", "table", "text"), default="csv",
                   help="csv (default, the payout contract), json, or a readable table")
    r.add_argument("--payee", action="append", help="only this payee (repeatable)")
    r.add_argument("--trace", action="store_true", help="include the derivation trace (json)")
    r.add_argument("--jobs", "-j", type=_jobs, default=None,
                   help="processes evaluating payees in parallel (default: number of cores)")
    r.add_argument("--quiet", "-q", action="store_true", help="no progress bar on stderr")
    r.add_argument("--trace-dir", metavar="DIR",
                   help="write the columnar trace (values.parquet: every definition per payee and "
                        "period; lineage.parquet: the data rows behind every aggregate) into DIR")
    r.add_argument("--memory-limit", metavar="SIZE",
                   help="--engine duckdb: DuckDB's memory limit (512MB, 1GB); beyond it, it spills to a temporary folder")
    ledger_options(r, required=False)
    r.set_defaults(func=cmd_run)


SIZE = re.compile(r"(\d+(\.\d+)?)\s*([KMGT]i?B|B)", re.IGNORECASE)


def memory_limit(args) -> str | None:
    """--memory-limit as DuckDB reads it ("1GB"), checked: a number and a unit (KR442), with
    --engine duckdb (KR443)."""
    size = getattr(args, "memory_limit", None)
    if size is None:
        return None
    m = SIZE.fullmatch(size.strip())
    if m is None or not m.group(1).strip("0."):  # no number, or zero
        raise KamError([Diagnostic("KR442", f"--memory-limit {size} is not a size (a number and a unit: "
                                            "512MB, 1GB, 1.5GiB)")])
    if args.engine != "duckdb":
        raise KamError([Diagnostic("KR443", "--memory-limit bounds the memory of --engine duckdb only",
                                   hint="add --engine duckdb, or drop --memory-limit")])
    return m.group(1) + m.group(3).upper().replace("I", "i")
