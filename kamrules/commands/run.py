"""`kamrules run PLAN --data DIR`: payouts as CSV (the data contract), JSON or a table.

`--jobs N` evaluates the payees in N forked processes (default: the cores this process may
use), with the same output as `--jobs 1`; a progress bar (payees done / total) is drawn on
stderr for runs over a second when stderr is a terminal, unless `--quiet`.
"""
from __future__ import annotations

import argparse

from .. import __version__
from ..engine.parallel import default_jobs, evaluate_payees
from ..progress import Progress
from ..report import payouts as payout_report
from ..diagnostics import Diagnostic, KamError
from ..output import write_text
from .common import data_args, guard_outputs, load, payees, prepare


def cmd_run(args) -> int:
    if args.trace_dir and (args.engine == "interpreter" or args.trace):
        raise KamError([Diagnostic("KR002", "--trace-dir is the columnar engine's trace",
                                   hint="drop --engine interpreter / --trace, or use --trace (JSON trees)")])
    if args.engine != "interpreter" and not args.trace:
        done = _run_columnar(args)
        if done is not None:
            return done
    checked, tables, periods, source = prepare(args)
    payee_ids = payees(checked, tables, args.payee)
    total = sum(1 for r in tables[checked.payees_table].rows if payee_ids is None or r.id in payee_ids)
    progress = Progress(total, enabled=False if args.quiet else None)
    try:
        payouts = evaluate_payees(checked, tables, periods, trace=args.trace, payee_ids=payee_ids,
                                  jobs=args.jobs or default_jobs(), progress=progress)
    finally:
        progress.close()
    if args.format == "csv":
        text = payout_report.to_csv(payouts)
    elif args.format == "json":
        meta = payout_report.run_meta(args.plan, checked.name, checked.version, tables, __version__)
        text = payout_report.to_json(payouts, with_trace=args.trace, meta=meta)
    else:
        text = payout_report.to_text(payouts)
    write_text(text, args.output)
    return 0


def _run_columnar(args) -> int | None:
    """The run on the columnar engine, or None when the interpreter must run it (a plan the
    engine does not translate, data whose diagnostic the interpreter gives, no polars).
    Its progress bar counts steps: loading, each definition, writing."""
    try:
        from ..columnar.engine import steps
        from ..columnar.values import Fallback, Unsupported
        from ..columnar.run import columnar_payouts, payouts_list, to_csv
    except ImportError:
        if args.engine == "columnar":
            raise KamError([Diagnostic("KR002", "--engine columnar needs polars",
                                       hint="pip install 'kamrules[columnar]'")]) from None
        return None
    checked, diags, _ = load(args.plan)
    errors = [d for d in diags if d.is_error]
    if errors:
        raise KamError(errors)
    guard_outputs(args, [(args.plan, checked)], [args.data])
    payee_ids = set(args.payee) if args.payee else None
    progress = Progress(steps(checked) + 2, label="steps", enabled=False if args.quiet else None)
    try:
        table, periods, inputs = columnar_payouts(checked, args.data, args.period, payee_ids,
                                                  trace_dir=args.trace_dir, progress=progress)
    except (Unsupported, Fallback) as why:
        progress.close()
        if args.trace_dir:
            raise KamError([Diagnostic("KR002", f"--trace-dir: the columnar engine does not run this "
                                       f"plan on this data ({why})",
                                       hint="use --trace for the interpreter's JSON trace")]) from None
        if args.engine == "columnar" and isinstance(why, Unsupported):
            raise KamError([Diagnostic("KR002", f"the columnar engine does not run this plan: {why}",
                                       hint="use --engine auto (the default) or interpreter")]) from None
        return None
    except BaseException:
        progress.close()
        raise
    if args.format == "csv":
        text = to_csv(checked, table, periods)
    elif args.format == "json":
        meta = payout_report.run_meta(args.plan, checked.name, checked.version, inputs, __version__)
        text = payout_report.to_json(payouts_list(checked, table, periods), meta=meta)
    else:
        text = payout_report.to_text(payouts_list(checked, table, periods))
    progress.advance()
    progress.close()
    write_text(text, args.output)
    return 0


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--jobs takes a whole number, not {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("--jobs must be at least 1")
    return n


def register(sub):
    r = sub.add_parser("run", help="compute payouts")
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
    r.add_argument("--engine", choices=("auto", "columnar", "interpreter"), default="auto",
                   help="auto (default): the columnar engine (polars) when it runs the plan, "
                        "else the interpreter; both give the same output")
    r.set_defaults(func=cmd_run)
