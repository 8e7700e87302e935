"""`kamrules team PLAN --data DIR [--period P] [--team T] [--format html|md|text] [-o FILE]`:
the managers' page (report/team.py): every payee's measures, components and total, team
totals that reconcile with `kamrules run`, and distribution charts (html).
"""
from __future__ import annotations

import os

from ..diagnostics import Diagnostic, KamError, did_you_mean
from ..engine import evaluate
from ..report.team import build_team, render
from ..output import write_text
from .common import data_args, prepare


def cmd_team(args) -> int:
    checked, tables, periods, source = prepare(args)
    payees = tables[checked.payees_table]
    ids = None
    if args.team is not None:
        spec = payees.spec
        if "team" not in spec.columns:
            raise KamError([Diagnostic("KR104", f"--team: the payees input `{spec.name}` declares no "
                                       "`team` column", spec.span,
                                       hint=f"declare it: input {spec.name} {{ ... team: Text }}")])
        teams = sorted({r.values["team"] for r in payees.rows if r.values.get("team") is not None})
        if args.team not in teams:
            raise KamError([Diagnostic("KR405", f"--team: no payee of {payees.path} is in team "
                                       f"{args.team!r}", hint=did_you_mean(args.team, teams)
                                       or "teams: " + ", ".join(teams[:10]))])
        ids = {r.id for r in payees.rows if r.values.get("team") == args.team}
    fmt = args.format
    if fmt is None:
        ext = os.path.splitext(args.output or "")[1].lower()
        fmt = {".html": "html", ".htm": "html", ".md": "md"}.get(ext, "text")
    payouts = evaluate(checked, tables, periods, trace=True, payee_ids=ids)
    write_text(render(build_team(checked, tables, payouts, periods, args.team), fmt), args.output)
    return 0


def register(sub):
    t = sub.add_parser("team", help="a manager's page: every payee's measures, components, totals, charts")
    data_args(t)
    t.add_argument("--team", help="only the payees whose `team` column is T")
    t.add_argument("--format", choices=("html", "md", "text"),
                   help="html (self-contained), md or text (default: from -o's extension, else text)")
    t.set_defaults(func=cmd_team)
