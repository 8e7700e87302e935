"""Shared plumbing of the subcommands: loading a plan and its data, checking the output
paths before a run (the writing itself is kamrules/files/outputs.py), printing diagnostics. Each
subcommand module under `cli/` registers itself with `register(subparsers)`.
"""
from __future__ import annotations

import sys

from kamrules.files import outputs
from kamrules.check.checker import check
from kamrules.diagnostics.render import Style, color_wanted, render_text
from kamrules.syntax.parser import parse_file


def guard_outputs(args, plans, data_folders=()):
    """Before anything runs: protect the plans ((path, checked plan or None), ...) and the
    inputs they declare in the data folders, then check every output path of the command
    (-o, --trace-dir, --junit-xml) so that a bad one stops it at once (outputs.py)."""
    for path, checked in plans:
        outputs.protect_plan(path, checked, data_folders)
    out = getattr(args, "output", None)
    folder_out = getattr(args, "all", False)
    trace_dir = getattr(args, "trace_dir", None)
    outputs.preflight(
        files=[(None if folder_out else out, "-o"), (getattr(args, "junit_xml", None), "--junit-xml")],
        folders=[(out if folder_out else None, "-o", None),
                 (trace_dir, "--trace-dir", outputs.TRACE_FILES if trace_dir else None)])


def load(path):
    plan, source = parse_file(path)
    checked, diags = check(plan, source)
    return checked, diags, source


def print_diags(diags, sources):
    style = Style(color=color_wanted(sys.stderr))
    for d in diags:
        print(render_text(d, sources, style), file=sys.stderr)


def open_session(args, plan_path=None, share=None) -> "Session":
    """The session of a command with PLAN --data [--period] [--engine], its plan checked and
    its output paths guarded (raises KamError)."""
    from kamrules.run.session import Session  # the engines: not for `check`, which imports this module

    path = plan_path or args.plan
    session = Session(path, args.data, args.period, getattr(args, "engine", "auto"), share=share,
                      db=getattr(args, "db", None), db_timeout=getattr(args, "db_timeout", None))
    guard_outputs(args, [(path, session.check())], [args.data])
    if session.engine != "postgres":  # (--engine postgres reads them in place: kamrules/run/sqlrun.py)
        session.sourced()  # `from sql` inputs: their queries run on --db, once, before any output
    return session


def data_args(sp):
    from kamrules.run.session import add_engine_arg

    sp.add_argument("plan", help="the .kam plan file")
    sp.add_argument("--data", required=True, help="folder holding the CSV exports")
    sp.add_argument("--period", action="append",
                    help="compute this period only (2025-Q1, 2025-03, 2025); repeatable")
    sp.add_argument("-o", "--output", help="write to this file instead of stdout")
    add_engine_arg(sp)
    add_db_arg(sp)


def add_db_arg(sp):
    sp.add_argument("--db", metavar="URL", help="the database of the plan's `from sql` inputs: sqlite:///file.db, "
                    "duckdb:///file.duckdb, postgresql://user@host/db (default: $KAMRULES_DB)")
    sp.add_argument("--db-timeout", metavar="SECONDS", type=_seconds, default=None,
                    help="the longest a query of --db may run before the run stops (KR461; default 300)")


def ledger_options(p, required: bool) -> None:
    """--ledger, --retroactive, --adjustments (close, and run with a ledger)."""
    p.add_argument("--ledger", required=required, metavar="LEDGER",
                   help="the ledger folder (close creates it): closed periods are not paid again, their "
                        "corrections are paid as adjustments (a column `adjusts`)")
    p.add_argument("--retroactive", action="store_true",
                   help="with a ledger: recompute closed periods under today's plan, not the one "
                        "recorded when they were closed")
    p.add_argument("--adjustments", metavar="FILE",
                   help="with a ledger: manual adjustments to pay (payee_id,period,component,amount,"
                        "currency,reason,reference)")


def _seconds(text: str):
    """--db-timeout: seconds, to the millisecond (a time limit, not an amount)."""
    import argparse
    from decimal import Decimal, InvalidOperation
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal(0)
    if not (value.is_finite() and Decimal("0.001") <= value < 10 ** 6):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return int(value * 1000) / 1000

