"""`kamrules ledger verify|show|reopen LEDGER`: check, read and reopen the payment ledger.

- `verify`: the chain and every file of every record; exit 1 naming the first file and line
  that changed (KR804); else the number of records and the head sha256 (what an auditor notes).
- `show [--payee ID]`: paid to date per payee and component (adjustments included), CSV.
- `reopen --period P --reason TEXT`: appends a reopening record; P can be closed again, and
  that close pays the difference (nothing is ever deleted).
"""
from __future__ import annotations

import io
from decimal import Decimal

from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.files.outputs import write_stdout, write_text
from kamrules.ledger.history import paid_to_date
from kamrules.ledger.store import verified, write_record
from kamrules.report.payouts import CsvWriter, safe_cell
from kamrules.core.numeric import format_amount


def cmd_verify(args) -> int:
    ledger = verified(args.ledger)
    n = len(ledger.records)
    head = ledger.head()
    closed = ledger.closed()
    write_stdout(f"ledger {args.ledger}: {n} record{'s' if n != 1 else ''}, chain intact"
                 + (f", head sha256 {head}" if head else "") + "\n"
                 + (f"closed: {', '.join(closed)}\n" if closed else "closed: none\n"))
    return 0


def cmd_show(args) -> int:
    ledger = verified(args.ledger)
    sums = paid_to_date(ledger, set(args.payee) if args.payee else None)
    order: dict = {}
    for _, comp, _ in sums:
        order.setdefault(comp, len(order))
    if args.payee:
        known = {r.payee_id for rec in ledger.records for r in rec.rows}
        unknown = [p for p in args.payee if p not in known]
        if unknown:
            raise KamError([Diagnostic("KR805", f"--payee {unknown[0]}: nothing paid to this payee in "
                                       f"{args.ledger}", hint="check the id (`kamrules ledger show LEDGER` "
                                       "lists every payee paid)")])
    rows = sorted(sums.items(), key=lambda kv: (kv[0][0], order[kv[0][1]]))
    buf = io.StringIO()
    w = CsvWriter(buf)
    w.writerow(("payee_id", "component", "paid_to_date", "currency"))
    current, acc = None, Decimal(0)
    for (payee, comp, cur), amount in rows:
        if current is not None and current[0] != payee:
            w.writerow([safe_cell(current[0]), "total", format_amount(acc), current[1]])
            acc = Decimal(0)
        w.writerow([safe_cell(payee), safe_cell(comp), format_amount(amount), cur])
        current, acc = (payee, cur), acc + amount
    if current is not None:
        w.writerow([safe_cell(current[0]), "total", format_amount(acc), current[1]])
    write_text(buf.getvalue(), args.output)
    return 0


def cmd_reopen(args) -> int:
    ledger = verified(args.ledger)
    labels = args.period or []
    if len(labels) != 1 or ledger.status(labels[0]) != "closed":
        raise KamError([Diagnostic("KR805", f"--period {', '.join(labels)}: not a closed period of "
                                   f"{args.ledger}", hint=f"closed: {', '.join(ledger.closed()) or 'none'}")])
    if not args.reason.strip():
        raise KamError([Diagnostic("KR805", "--reason is empty: a reopening says why",
                                   hint='e.g. --reason "invoice inv-00006 corrected (ticket FIN-123)"')])
    folder = write_record(ledger, "reopen", labels[0], {}, None, None, {}, {"reason": args.reason})
    write_stdout(f"reopened {labels[0]}: {folder}\n")
    return 0


def register(sub):
    from kamrules.cli import examples
    p = sub.add_parser("ledger", help="verify, show or reopen the payment ledger", **examples(
        "kamrules ledger verify ledger", "kamrules ledger show ledger --payee med-001",
        "kamrules ledger reopen ledger --period 2025-04 --reason \"invoice INV-12 corrected\""))
    verbs = p.add_subparsers(dest="verb", required=True)
    v = verbs.add_parser("verify", help="check the chain and every record; name the first change")
    v.add_argument("ledger", metavar="LEDGER")
    v.set_defaults(func=cmd_verify)
    s = verbs.add_parser("show", help="paid to date per payee and component")
    s.add_argument("ledger", metavar="LEDGER")
    s.add_argument("--payee", action="append", help="only this payee (repeatable)")
    s.add_argument("-o", "--output", help="write to this file instead of stdout")
    s.set_defaults(func=cmd_show)
    r = verbs.add_parser("reopen", help="reopen a closed period (a record; nothing is deleted)")
    r.add_argument("ledger", metavar="LEDGER")
    r.add_argument("--period", action="append", required=True, help="the closed period to reopen")
    r.add_argument("--reason", required=True, help="why (kept in the record)")
    r.set_defaults(func=cmd_reopen)
