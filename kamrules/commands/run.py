"""`kamrules run PLAN --data DIR`: payouts as CSV (the data contract), JSON or a table."""
from __future__ import annotations

from .. import __version__
from ..engine import evaluate
from ..report import payouts as payout_report
from .common import data_args, prepare, write_output


def cmd_run(args) -> int:
    checked, tables, periods, source = prepare(args)
    payee_ids = set(args.payee) if args.payee else None
    payouts = evaluate(checked, tables, periods, trace=args.trace, payee_ids=payee_ids)
    if args.format == "csv":
        text = payout_report.to_csv(payouts)
    elif args.format == "json":
        meta = payout_report.run_meta(args.plan, checked.name, checked.version, tables, __version__)
        text = payout_report.to_json(payouts, with_trace=args.trace, meta=meta)
    else:
        text = payout_report.to_text(payouts)
    write_output(text, args.output)
    return 0


def register(sub):
    r = sub.add_parser("run", help="compute payouts")
    data_args(r)
    r.add_argument("--format", choices=("csv", "json", "table", "text"), default="csv",
                   help="csv (default, the payout contract), json, or a readable table")
    r.add_argument("--payee", action="append", help="only this payee (repeatable)")
    r.add_argument("--trace", action="store_true", help="include the derivation trace (json)")
    r.set_defaults(func=cmd_run)
