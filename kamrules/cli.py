"""The command line (thin): parses arguments, calls the facade, renders, sets the exit code.

Exit codes: 0 success, 1 a problem in the plan or the data (diagnostics on stderr), 2 a
usage error. Output files are written whole or not at all (temp file + rename).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

from . import __version__
from .checker import check
from .data import load_data
from .diagnostics import Diagnostic, KamError, render_text
from .engine import evaluate, plan_periods
from .parser import parse_file
from .report import payouts as payout_report
from .report.explain import explain_text


def _write(text: str, output: str | None):
    if output is None or output == "-":
        sys.stdout.write(text)
        return
    folder = os.path.dirname(os.path.abspath(output))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".kamrules-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, output)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _load(path):
    plan, source = parse_file(path)
    checked, diags = check(plan, source)
    return checked, diags, source


def _print_diags(diags, sources):
    for d in diags:
        print(render_text(d, sources), file=sys.stderr)


def cmd_check(args) -> int:
    worst = 0
    for path in args.plans:
        try:
            checked, diags, source = _load(path)
        except KamError as err:
            diags, source = list(err.diagnostics), None
        _print_diags(diags, {source.path: source} if source else {})
        if any(d.is_error for d in diags):
            worst = 1
    if worst == 0 and not args.quiet:
        print(f"{len(args.plans)} plan(s) checked, no errors", file=sys.stderr)
    return worst


def _prepare(args):
    checked, diags, source = _load(args.plan)
    errors = [d for d in diags if d.is_error]
    if errors:
        raise KamError(errors)
    tables = load_data(checked, args.data)
    periods = plan_periods(checked, tables, args.period)
    return checked, tables, periods, source


def cmd_run(args) -> int:
    checked, tables, periods, source = _prepare(args)
    payee_ids = set(args.payee) if args.payee else None
    payouts = evaluate(checked, tables, periods, trace=args.trace, payee_ids=payee_ids)
    if args.format == "csv":
        text = payout_report.to_csv(payouts)
    elif args.format == "json":
        text = payout_report.to_json(payouts, with_trace=args.trace)
    else:
        text = payout_report.to_text(payouts)
    _write(text, args.output)
    return 0


def cmd_explain(args) -> int:
    checked, tables, periods, source = _prepare(args)
    payouts = evaluate(checked, tables, periods, trace=True, payee_ids={args.payee})
    if not payouts:
        known = sorted(r.id for r in tables[checked.payees_table].rows)
        raise KamError([Diagnostic("KR405", f"no payout for payee {args.payee} in these periods",
                                   hint="payees: " + ", ".join(known[:10]))])
    lines = {i: line for i, line in enumerate(source.text.splitlines(), 1)}
    _write(explain_text(payouts, lines), args.output)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kamrules", description="Sales variable-compensation plans as code.")
    p.add_argument("--version", action="version", version=f"kamrules {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("check", help="check plans for errors before any data is read")
    c.add_argument("plans", nargs="+")
    c.add_argument("-q", "--quiet", action="store_true")
    c.set_defaults(func=cmd_check)

    def data_args(sp):
        sp.add_argument("plan")
        sp.add_argument("--data", required=True, help="folder holding the CSV exports")
        sp.add_argument("--period", help="compute this period only (2025-Q1, 2025-03, 2025)")
        sp.add_argument("-o", "--output", help="write to this file instead of stdout")

    r = sub.add_parser("run", help="compute payouts")
    data_args(r)
    r.add_argument("--format", choices=("csv", "json", "text"), default="csv")
    r.add_argument("--payee", action="append", help="only this payee (repeatable)")
    r.add_argument("--trace", action="store_true", help="include the derivation trace (json)")
    r.set_defaults(func=cmd_run)

    e = sub.add_parser("explain", help="why a payee gets what they get: the derivation tree")
    data_args(e)
    e.add_argument("--payee", required=True)
    e.set_defaults(func=cmd_explain)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KamError as err:
        sources = {}
        for d in err.diagnostics:
            if d.span is not None and d.span.file.endswith(".kam") and os.path.exists(d.span.file):
                from .source import SourceFile
                with open(d.span.file, encoding="utf-8") as fh:
                    sources[d.span.file] = SourceFile(d.span.file, fh.read())
        _print_diags(err.diagnostics, sources)
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
