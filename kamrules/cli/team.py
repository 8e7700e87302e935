"""`kamrules team PLAN --data DIR [--period P] [--team T] [--format html|md|text] [--locale en|fr]
[-o FILE]`: the managers' page (report/team.py): every payee's measures, components and total,
team totals that reconcile with `kamrules run`, and distribution charts (html). The locale
defaults as for `statement`: `locale` in [tool.kamrules] of the plan's pyproject.toml, else en.
"""
from __future__ import annotations

import os

import attrs

from kamrules.diagnostics.diagnostic import Diagnostic, KamError, did_you_mean
from kamrules.check.lint import ON_TARGET
from kamrules.report.team import build_team, measures_of, render
from kamrules.report.team_values import frame_values
from kamrules.run.session import SQL_ENGINES
from kamrules.files.outputs import write_text
from kamrules.cli.common import data_args, open_session
from kamrules.cli.statement import file_names, locale_of
from kamrules.report.i18n import LOCALES


def with_run_amounts(traced: list, run) -> list:
    """The traced payouts (their measures) with the amounts of the session's run: the rows
    of the run, each carrying the trace of the same payee, period and component."""
    trees = {(p.payee_id, p.period, p.component): p.trace for p in traced}
    return [attrs.evolve(p, trace=trees.get((p.payee_id, p.period, p.component))) for p in run.payouts]


def cmd_team(args) -> int:
    session = open_session(args)
    checked = session.check()
    source = None  # report/team_values.FrameValues: the page's values from the columnar run's columns
    if session.engine not in ("interpreter",) + SQL_ENGINES and session.loads_frames():
        shown = session.with_year_to_date()  # with --period: the earlier periods of the year too
        run = session.execute()  # one run of every payee (columnar, or handed to the interpreter)
        measures = measures_of(checked)
        on_target = next((n for n in ON_TARGET if n in checked.definitions
                          and checked.definitions[n].kind in ("param", "let")), None)
        source = frame_values(checked, session.definition_values(
            [m for m, _ in measures] + list(checked.components) + ([on_target] if on_target else [])),
            measures, on_target, session)
        tables = session.payee_tables() if source is not None else session.load()
    else:
        run, tables = None, session.load()
        shown = session.with_year_to_date()
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
    payouts = run.payouts if run is not None else None
    if source is None:  # the interpreter's path (the reference): the measures are read from the derivation trees
        if run is None:
            run = session.execute(ids)
            payouts = run.payouts
        if measures_of(checked):
            payouts = with_run_amounts(session.trace(ids or {r.id for r in payees.rows}), run)
    links = None
    if args.statements is not None:  # the files `statement --all` writes, under this address
        ids = sorted(r.id for r in payees.rows)
        links = {pid: f"{args.statements}{name}.html" for pid, name in file_names(ids).items()}
    view = build_team(checked, tables, payouts, session.periods(), args.team, links, locale_of(args),
                      shown if args.period else None, values=source)
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
    t.add_argument("--locale", choices=LOCALES,
                   help="language and number formats (default: locale in [tool.kamrules], else en)")
    t.add_argument("--format", choices=("html", "md", "text"),
                   help="html (self-contained), md or text (default: from -o's extension, else text)")
    t.set_defaults(func=cmd_team)
