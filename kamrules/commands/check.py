"""`kamrules check PLAN...`: parse and check plans, print diagnostics, exit 1 on any error."""
from __future__ import annotations

import sys

from ..diagnostics import KamError
from .common import load, print_diags


def cmd_check(args) -> int:
    worst = 0
    for path in args.plans:
        try:
            checked, diags, source = load(path)
        except KamError as err:
            diags, source = list(err.diagnostics), None
        print_diags(diags, {source.path: source} if source else {})
        if any(d.is_error for d in diags):
            worst = 1
    if worst == 0 and not args.quiet:
        print(f"{len(args.plans)} plan(s) checked, no errors", file=sys.stderr)
    return worst


def register(sub):
    c = sub.add_parser("check", help="check plans for errors before any data is read")
    c.add_argument("plans", nargs="+")
    c.add_argument("-q", "--quiet", action="store_true")
    c.set_defaults(func=cmd_check)
