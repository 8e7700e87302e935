"""`kamrules explain PLAN --data DIR --payee ID`: the derivation tree of one payee's payout, or,
for a payee with no payout because not eligible, the trace of the plan's `eligible when`."""
from __future__ import annotations

import json

from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.report.explain import explain_text, not_eligible_text
from kamrules.files.outputs import write_text
from kamrules.cli.common import data_args, open_session


def cmd_explain(args) -> int:
    session = open_session(args)
    payouts = session.trace({args.payee})
    source = session.source()
    if not payouts:
        not_eligible = [x for x in session.eligibility(args.payee) if x[1] is False]
        if not not_eligible:
            raise KamError([Diagnostic("KR405", f"no payout for payee {args.payee} in these periods",
                                       hint="no component applies in these periods: try another --period")])
        write_text(not_eligible_text(args.payee, not_eligible, source, args.format, args.exact), args.output)
        return 0
    if args.format == "json":
        text = json.dumps([{"payee_id": p.payee_id, "period": str(p.period), "component": p.component,
                            "trace": p.trace.to_json()} for p in payouts], indent=2) + "\n"
    else:
        lines = {i: line for i, line in enumerate(source.text.splitlines(), 1)}
        text = explain_text(payouts, lines, exact=args.exact)
    write_text(text, args.output)
    return 0


def register(sub):
    from kamrules.cli import examples

    e = sub.add_parser("explain", help="why a payee gets what they get: the derivation tree",
                     **examples(
        "kamrules explain plans/charter-split.kam --data examples/08-charter-split --payee kam-002",
        "kamrules explain plans/abtasty-kam.kam --data examples/01-abtasty-nrr-upsell --payee kam-001 --period 2025-Q1 --exact"))
    data_args(e)
    e.add_argument("--payee", required=True)
    e.add_argument("--format", choices=("text", "json"), default="text")
    e.add_argument("--exact", action="store_true",
                   help="every value with all its digits (default: amounts to the cent, numbers "
                        "to 4 decimals, marked when rounded)")
    e.set_defaults(func=cmd_explain)
