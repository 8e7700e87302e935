"""`kamrules diff OLD_PLAN NEW_PLAN --data DIR`: what a plan change does to each payee's pay.

Both versions run on the same data; per payee and period, the total before, after and the
change, biggest gain first; then the total cost before/after and how many payees gain or
lose. `--format github-markdown` is made for a pull-request comment. When the two versions
compute by different periods (month vs quarter), both are rolled up to the longer one.

`--ledger L` compares what each version would pay against the ledger (kamrules/ledger/
settle.py): closed periods are not paid again, so they do not appear; the adjustments of
closed periods (and manual ones, `--adjustments`) are rows of their own, with a column
`adjusts`. Closed periods are recomputed under the plan recorded by their close, so a plan
change moves no closed amount unless `--retroactive`.
"""
from __future__ import annotations

from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.diagnostics.textsafe import for_terminal
from kamrules.report import compare
from kamrules.files.outputs import write_text
from kamrules.run.session import add_engine_arg
from kamrules.cli.common import add_db_arg, open_session, ledger_options


def cmd_diff(args) -> int:
    ledger = args.ledger is not None
    if not ledger and (args.retroactive or args.adjustments):
        raise KamError([Diagnostic("KR806", f"{'--retroactive' if args.retroactive else '--adjustments'} "
                                   "works with a ledger", hint="give the ledger: --ledger LEDGER")])
    old_session = open_session(args, args.old)
    new_session = open_session(args, args.new, share=old_session)  # the data loaded once
    if ledger:
        settled = [_settled(args, path) for path in (args.old, args.new)]
        rows = compare.diff_rows(*(compare.ledger_totals(s.shown()) for s in settled))
    else:
        old, new = old_session.execute(), new_session.execute()
        if getattr(old, "table", None) is not None and getattr(new, "table", None) is not None:
            write_text(_columnar_diff(args, old_session, old, new_session, new), args.output)
            return 0
        old, new = old.payouts, new.payouts
        kinds = {p.period.kind for p in old + new}
        kind = compare.coarser_kind(*kinds) if len(kinds) > 1 else None
        rows = compare.diff_rows(compare.totals(old, kind), compare.totals(new, kind))
    if args.changed_only:
        shown = [r for r in rows if r.change != 0]
    else:
        shown = rows
    summary = compare.diff_summary(rows)
    if args.format == "csv":
        text = compare.diff_csv(shown, ledger)
    elif args.format == "json":
        text = compare.diff_json(shown, summary, args.old, args.new, ledger)
        if ledger:  # the ledger of the new version (ledger/balance.py)
            import json
            from kamrules.diagnostics.textsafe import json_safe
            from kamrules.ledger.balance import ledger_json, ledger_view
            out = json.loads(text)
            out["ledger"] = ledger_json(ledger_view(settled[1].ledger, settled[1]))
            text = json_safe(json.dumps(out, indent=2, ensure_ascii=False)) + "\n"
    elif args.format == "github-markdown":
        text = compare.diff_markdown(rows, summary, args.old, args.new)
    else:
        text = compare.diff_table(shown, summary, ledger)
        if ledger:  # what the ledger paid, what the new plan pays now on top of it
            from kamrules.ledger.balance import ledger_lines, ledger_view
            lines = ledger_lines(ledger_view(settled[1].ledger, settled[1]))
            text += f"\nLedger {args.ledger} (with {args.new}):\n" + "".join(
                f"  {for_terminal(x)}\n" for x in lines)
    write_text(text, args.output)
    return 0


def _columnar_diff(args, old_session, old, new_session, new) -> str:
    """The diff of two columnar runs computed on their payout frames (report.diff_frames):
    the same text as from their payouts, without building a Payout object per payout."""
    import polars as pl
    from kamrules.report import diff_frames as frames
    kinds = frames.run_kinds(old) | frames.run_kinds(new)
    kind = compare.coarser_kind(*kinds) if len(kinds) > 1 else None
    rows = frames.diff_frame(frames.frame_totals(old_session.check(), old, kind),
                             frames.frame_totals(new_session.check(), new, kind))
    shown = rows.filter(pl.col("change") != 0) if args.changed_only else rows
    summary = frames.summary(rows)
    if args.format == "table":
        return frames.diff_table(shown, summary)
    if args.format == "csv":
        text = frames.diff_csv(shown)
        return text if text is not None else compare.diff_csv(frames.diff_rows(shown))
    if args.format == "json":
        return compare.diff_json(frames.diff_rows(shown), summary, args.old, args.new)
    return compare.diff_markdown(frames.diff_rows(rows), summary, args.old, args.new)


def _settled(args, plan_path: str):
    """One version against the ledger (settle.Settlement: open periods and adjustments)."""
    from kamrules.ledger.settle import settle
    from kamrules.ledger.store import verified
    s = settle(plan_path, args.data, verified(args.ledger), args.engine, args.retroactive, args.period,
               args.adjustments, db=args.db, db_timeout=args.db_timeout)
    s.shown()  # KR806 when every period asked is closed
    return s


def register(sub):
    from kamrules.cli import examples

    d = sub.add_parser("diff", help="payout change per payee between two versions of a plan",
                     **examples(
        "kamrules diff plans/kam-capped.kam plans/kam-uncapped.kam --data examples/04-uncapped-scenarios/scenario-b",
        "kamrules diff plans/kam-capped.kam plans/kam-uncapped.kam --data examples/04-uncapped-scenarios/scenario-b --changed-only --format github-markdown -o diff.md"))
    d.add_argument("old", metavar="OLD_PLAN")
    d.add_argument("new", metavar="NEW_PLAN")
    d.add_argument("--data", required=True, help="folder holding the CSV exports (both versions read it)")
    d.add_argument("--period", action="append",
                   help="compare this period only (2025-Q1, 2025-03, 2025); repeatable")
    d.add_argument("--format", choices=("table", "csv", "json", "github-markdown"), default="table")
    d.add_argument("--changed-only", action="store_true", help="leave out payee-periods that do not change")
    ledger_options(d, required=False)
    d.add_argument("-o", "--output", help="write to this file instead of stdout")
    add_engine_arg(d)
    add_db_arg(d)
    d.set_defaults(func=cmd_diff)
