"""`kamrules team PLAN --data DIR [--period P] [--team T] [--format html|md|text] [--locale en|fr]
[-o FILE]`: the managers' page (report/team.py): every payee's measures, components and total,
team totals that reconcile with `kamrules run`, and distribution charts (html). The locale
defaults as for `statement`: `locale` in [tool.kamrules] of the plan's pyproject.toml, else en.
"""
from __future__ import annotations

import os

from kamrules.diagnostics.diagnostic import Diagnostic, KamError, did_you_mean
from kamrules.report.team import render
from kamrules.report.team_scale import LIMIT, build
from kamrules.report.team_values import gather
from kamrules.files.outputs import write_text
from kamrules.cli.common import data_args, open_session
from kamrules.cli.statement import file_names, locale_of
from kamrules.report.i18n import LOCALES


def cmd_team(args) -> int:
    session = open_session(args)
    checked = session.check()
    ids = None

    def select(tables):  # --team T: its payees, checked against the payees input
        nonlocal ids
        payees = tables[checked.payees_table]
        if args.team is None:
            return None
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
        return ids

    data = gather(session, select)
    payees, shown = data.tables[checked.payees_table], data.shown
    fmt = args.format
    if fmt is None:
        ext = os.path.splitext(args.output or "")[1].lower()
        fmt = {".html": "html", ".htm": "html", ".md": "md"}.get(ext, "text")
    links = None
    if args.statements is not None:  # the files `statement --all` writes, under this address
        ids = sorted(r.id for r in payees.rows)
        links = {pid: f"{args.statements}{name}.html" for pid, name in file_names(ids).items()}
    view = build(checked, data.tables, data.payouts, data.periods, args.team, links, locale_of(args),
                 shown if args.period else None, values=data.values, frame=data.frame, limit=args.limit,
                 page=args.page)
    if args.ledger is not None:  # settled against the verified ledger (KR804 names a change)
        from kamrules.ledger.views import ledger_view

        lv = ledger_view(args.plan, args.data, args.ledger, args.engine, args.period, shown,
                         args.db, args.db_timeout)
        view.ledger = lv.team({r.payee_id for tp in view.periods for r in tp.rows} | set(ids or ()))
    write_text(render(view, fmt), args.output)
    return 0


def register(sub):
    from kamrules.cli import examples

    t = sub.add_parser("team", help="a manager's page: every payee's measures, components, totals, charts",
                     **examples(
        "kamrules team plans/abtasty-kam.kam --data examples/01-abtasty-nrr-upsell --format text",
        "kamrules team plans/team-bonus.kam --data examples/team-bonus --team north -o team.html"))
    data_args(t)
    t.add_argument("--team", help="only the payees whose `team` column is T")
    t.add_argument("--statements", metavar="PREFIX",
                   help="link each payee to PREFIX<payee>.html, the statements of `statement --all`")
    t.add_argument("--ledger", metavar="LEDGER",
                   help="settle against this ledger folder (kamrules close): each period's status, "
                        "each payee's paid to date, what to pay now and the balances on account")
    t.add_argument("--limit", type=_count, default=LIMIT, metavar="N",
                   help=f"rows per period, the largest totals first, when there are more (default {LIMIT}; "
                        "0: every row); the summary and charts count every payee")
    t.add_argument("--page", type=_count, default=1, metavar="K",
                   help="with more rows than --limit: the K-th page of them (default 1, the largest totals)")
    t.add_argument("--locale", choices=LOCALES,
                   help="language and number formats (default: locale in [tool.kamrules], else en)")
    t.add_argument("--format", choices=("html", "md", "text"),
                   help="html (self-contained), md or text (default: from -o's extension, else text)")
    t.set_defaults(func=cmd_team)


def _count(text: str) -> int:
    """A whole number >= 0 (--limit, --page)."""
    import argparse
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return int(text)
