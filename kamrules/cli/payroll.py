"""`kamrules payroll LEDGER [--period P]`: the payroll export of a closed period (default: the
last one closed), as `close` recorded it: payee_id, period, earning_code, amount, currency."""
from __future__ import annotations

import os

from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.files.outputs import write_text
from kamrules.ledger.store import PAYROLL, verified


def cmd_payroll(args) -> int:
    ledger = verified(args.ledger)
    closed = ledger.closed()
    label = args.period or (closed[-1] if closed else None)
    if label is None or ledger.status(label) != "closed":
        raise KamError([Diagnostic("KR805", f"{label or 'no period'}: not a closed period of {args.ledger}",
                                   hint=f"closed: {', '.join(closed) or 'none'} (`kamrules close` closes one)")])
    rec = ledger.last_close(label)
    with open(os.path.join(rec.folder, PAYROLL), encoding="utf-8", newline="") as fh:
        write_text(fh.read(), args.output)
    return 0


def register(sub):
    from kamrules.cli import examples
    p = sub.add_parser("payroll", help="what a closed period pays, per payee and earning code (CSV)", **examples(
        "kamrules payroll ledger", "kamrules payroll ledger --period 2025-04 -o payroll-2025-04.csv"))
    p.add_argument("ledger", metavar="LEDGER")
    p.add_argument("--period", help="the closed period (default: the last one closed)")
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.set_defaults(func=cmd_payroll)
