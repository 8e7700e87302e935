"""`kamrules close PLAN --data DIR --period P --ledger L`: record what period P pays.

The record (kamrules/ledger/store.py) holds every payee's payout per component and the
adjustments of earlier closed periods, the payroll export, the plan (content-addressed copy
and sha256), every input's sha256, the kamrules version, the time and the previous record's
hash. Refused with nothing written: P closed already (KR802), an earlier period still open
that pays something (KR803), a ledger that does not verify (KR804), any plan or data error,
a component with no earning code when the project maps them (KR808), a manual adjustment
(`--adjustments FILE` or the plan's `adjustments` input, kamrules/ledger/manual.py) malformed
(KR809, KR751) or dated in a closed period (KR810). The manual adjustments of the period are kept in the record with their
reasons (`adjustments.csv`).
"""
from __future__ import annotations

import os

from kamrules.core.calendar import parse_period
from kamrules.core.numeric import format_amount
from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.files import outputs
from kamrules.files.outputs import write_stdout
from kamrules.ledger.manual import adjustments_csv
from kamrules.ledger.payroll import payroll_csv, payroll_rows
from kamrules.ledger.settle import input_hashes, settle
from kamrules.ledger.store import ADJUSTMENTS, PAYOUTS, PAYROLL, read_ledger, rows_csv, verified, write_record
from kamrules.run.session import Session, add_engine_arg
from kamrules.cli.config import load_config
from kamrules.cli.common import add_db_arg, ledger_options


def one_period(args, plan) -> str:
    """The single payment period --period names (KR806 otherwise)."""
    kind = plan.payment_kind or plan.period_kind
    labels = args.period or []
    p = None
    if len(labels) == 1:
        try:
            p = parse_period(labels[0], plan.fiscal_start)
        except ValueError:
            p = None
    if p is None or p.kind != kind:
        raise KamError([Diagnostic("KR806", f"{args.command} closes one {kind} at a time: give it as "
                                   f"--period (got {', '.join(labels) or 'none'})",
                                   hint="e.g. --period 2025-04 for a monthly plan, 2025-Q2 for a quarterly one")])
    return p.label


def cmd_close(args) -> int:
    ledger = verified(args.ledger) if os.path.lexists(args.ledger) else read_ledger(args.ledger, missing_ok=True)
    session = Session(args.plan, args.data, None, args.engine, db=args.db, db_timeout=args.db_timeout)
    plan = session.check()
    outputs.protect_plan(args.plan, plan, [args.data])
    label = one_period(args, plan)
    if ledger.status(label) == "closed":
        rec = ledger.last_close(label)
        raise KamError([Diagnostic("KR802", f"{label} is closed already in {args.ledger} "
                                   f"({rec.manifest.get('time')}, record {rec.sequence:04d})",
                                   hint="a closed period is never paid again; `kamrules ledger reopen` "
                                   "reopens it (with a reason) if it must be closed again")])
    codes = load_config(args.plan).payroll
    s = settle(args.plan, args.data, ledger, args.engine, args.retroactive, [label], args.adjustments,
               db=args.db, db_timeout=args.db_timeout)
    target = next(p for p in s.periods if p.label == label)
    for q in s.periods:
        if q < target and any(r.amount != 0 for r in s.period_rows([q.label])):
            raise KamError([Diagnostic("KR803", f"cannot close {label}: {q.label} is still open and pays "
                                       "something", hint=f"close {q.label} first (periods are closed in order)")])
    rows = s.period_rows([label])
    pay = payroll_rows(rows, label, codes)
    checked = s.session.check()
    files = {PAYOUTS: rows_csv(rows), PAYROLL: payroll_csv(pay)}
    manual = [m for m in s.manual if m.period == label]
    if manual:
        files[ADJUSTMENTS] = adjustments_csv(manual)
    meta = {"name": checked.name, "version": checked.version, "file": os.path.basename(args.plan)}
    folder = write_record(ledger, "close", label, files, meta, s.plan_text, input_hashes(s.session),
                          {"retroactive": bool(args.retroactive), "engine": args.engine})
    totals: dict = {}
    for r in rows:
        totals[r.currency] = totals.get(r.currency, 0) + r.amount
    paid = ", ".join(f"{format_amount(v)} {c}" for c, v in sorted(totals.items())) or "nothing"
    adjusted = sum(1 for r in rows if r.adjusts)
    write_stdout(f"closed {label}: {folder} ({len(rows)} rows, {adjusted} adjustment{'s' if adjusted != 1 else ''}, "
                 f"paid {paid})\n")
    return 0


def register(sub):
    from kamrules.cli import examples
    c = sub.add_parser("close", help="record what a period pays in the ledger (then never paid again)", **examples(
        "kamrules close plans/media-advance.kam --data examples/02-media-advance --period 2025-01 --ledger ledger",
        "kamrules close plans/media-advance.kam --data examples/02-media-advance --period 2025-02 --ledger ledger --adjustments adjustments.csv"))
    c.add_argument("plan", help="the .kam plan file")
    c.add_argument("--data", required=True, help="folder holding the CSV exports")
    c.add_argument("--period", action="append", required=True, help="the period to close (one)")
    ledger_options(c, required=True)
    add_engine_arg(c)
    add_db_arg(c)
    c.set_defaults(func=cmd_close)
