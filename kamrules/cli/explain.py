"""`kamrules explain PLAN --data DIR --payee ID`: the derivation tree of one payee's payout, once
the whole run has gone through (a run that stops stops explain with the same diagnostic)."""
from __future__ import annotations

import json

from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.report.explain import explain_text
from kamrules.files.outputs import write_text
from kamrules.cli.common import data_args, open_session


def cmd_explain(args) -> int:
    session = open_session(args)
    # the whole run first, on the session's engine: explain stops where `run` stops (another
    # payee's 0/0, a pool, a broken `require`), with run's diagnostic, never explaining an
    # amount that `run` would not print
    run = session.execute(quiet=True)
    payouts = session.trace({args.payee})
    source = session.source()
    if not payouts:
        raise KamError([Diagnostic("KR405", f"no payout for payee {args.payee} in these periods",
                                   hint="the payee is not eligible in these periods, or no "
                                        "component applies: try another --period")])
    _same_as_run(payouts, _run_amounts(session, run, payouts[0].payee_id), run.engine)
    if args.format == "json":
        text = json.dumps([{"payee_id": p.payee_id, "period": str(p.period), "component": p.component,
                            "trace": p.trace.to_json()} for p in payouts], indent=2) + "\n"
    else:
        lines = {i: line for i, line in enumerate(source.text.splitlines(), 1)}
        text = explain_text(payouts, lines, exact=args.exact)
    write_text(text, args.output)
    return 0


def _run_amounts(session, run, payee: str) -> dict:
    """(period label, component) -> amount `run` prints for the payee."""
    table = getattr(run, "table", None)
    if table is not None:  # the columnar run: its rows of this payee only
        import polars as pl
        from kamrules.backends.polars.engine import payouts_list
        rows = payouts_list(session.check(), table.filter(pl.col("payee_id") == payee), run.periods)
    else:
        rows = [p for p in run.payouts if p.payee_id == payee]
    return {(str(p.period), p.component): p.amount for p in rows}


def _same_as_run(payouts: list, ran: dict, engine: str) -> None:
    """KR419 when a traced amount is not the one `run` prints: explain never shows an amount
    of its own (the engines agree by design; a difference is a bug to report)."""
    diags = []
    for p in payouts:
        want = ran.get((str(p.period), p.component), p.amount * 0)
        if p.amount != want:
            diags.append(Diagnostic(
                "KR419", f"{p.payee_id} {p.period} {p.component}: the derivation gives {p.amount} but "
                f"`run` ({engine} engine) prints {want}",
                hint="the engines disagree, a kamrules bug: report it with the plan and the data; "
                     "`run --engine interpreter` prints the derivation's amounts"))
    if diags:
        raise KamError(diags)


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
