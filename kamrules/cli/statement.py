"""`kamrules statement PLAN --data DIR --payee ID [--period P] [--format html|md|text|pdf]
[--locale en|fr] [-o FILE]` and `--all -o FOLDER`: payout statements for KAMs
(report/statement.py). The locale defaults to `locale` in [tool.kamrules] of the plan's
pyproject.toml, else `en`.

Without --format, the format follows the output file's extension (.html, .md), else text.
With --all, every payee gets one file in FOLDER (`<payee_id>.<ext>`); all statements are
computed before any file is written; every file is written to a temporary file first, then
all are renamed into place (outputs.write_files): a failure leaves none of them.
"""
from __future__ import annotations

import os
import re
import sys

from kamrules.files import outputs
from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.report import pdf
from kamrules.report.i18n import DEFAULT, LOCALES
from kamrules.portal.pages import cut_tables, no_cycle_collection, payee_statement, session_frames, statements
from kamrules.cli.common import data_args, open_session
from kamrules.cli.config import load_config

EXT = {"html": "html", "md": "md", "text": "txt", "pdf": "pdf"}


def _format(args) -> str:
    if args.format:
        return args.format
    if args.output and not args.all:
        ext = os.path.splitext(args.output)[1].lower()
        return {".html": "html", ".htm": "html", ".md": "md", ".pdf": "pdf"}.get(ext, "text")
    return "html" if args.all else "text"


def safe_name(payee_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", payee_id).lstrip(".") or "payee"


def file_names(ids) -> dict:
    """payee id -> file name stem, one per payee, even on a case-insensitive disk. An id that
    is already a safe name gets exactly that name (payee `a_b` is always a_b.html); an id
    that had to be changed (`a/b`) gets a name no other payee has (a_b_.html)."""
    names, taken = {}, set()
    for pid in ids:
        if safe_name(pid) == pid and pid.casefold() not in taken:
            names[pid] = pid
            taken.add(pid.casefold())
    for pid in ids:
        if pid in names:
            continue
        name = safe_name(pid)
        while name.casefold() in taken:
            name += "_"
        names[pid] = name
        taken.add(name.casefold())
    return names


def locale_of(args) -> str:
    return args.locale or load_config(args.plan).locale or DEFAULT


def one_polars_thread() -> None:
    """Polars' thread pool made with one thread, for `--all` when the user set no
    POLARS_MAX_THREADS and polars is not imported yet (its pool is sized once, when made).
    The what-ifs' columnar runs are many small frames (report/whatif_batch.py): spread over
    two cores, their threads mostly wait for each other, and the whole command took about a
    fifth more CPU (measured with bench/statements.py at 2,001 payees). The variable is gone
    again once the pool is made: a child process gets the user's environment."""
    if "polars" in sys.modules or "POLARS_MAX_THREADS" in os.environ:
        return
    os.environ["POLARS_MAX_THREADS"] = "1"
    try:
        import polars
        polars.thread_pool_size()  # the pool is made now, with the one thread
    finally:
        del os.environ["POLARS_MAX_THREADS"]


def cmd_statement(args) -> int:
    if args.all:
        one_polars_thread()
    with no_cycle_collection():
        return _statement(args)


def _statement(args) -> int:
    if args.all and not args.output:
        raise KamError([Diagnostic("KR206", "--all writes one file per payee: give the folder with -o",
                                   hint="kamrules statement PLAN --data DIR --all -o statements/")])
    if not args.all and not args.payee:
        raise KamError([Diagnostic("KR206", "name the payee with --payee ID, or use --all -o FOLDER")])
    if _format(args) == "pdf":  # a binary file: never to a terminal; an engine to print it first
        if not args.output or args.output == "-":
            raise KamError([Diagnostic("KR762", "--format pdf writes a file: give it with -o",
                                       hint="kamrules statement PLAN --data DIR --payee ID -o statement.pdf")])
        pdf.require()
    session = open_session(args)
    checked = session.check()
    fmt = _format(args)
    if not args.all:  # one payee: the rows they can reach (as explain reads them), every file
        session.tables_of({args.payee})  # checked; the periods then come from those frames
    shown = session.with_year_to_date()  # with --period: the earlier periods of the year too
    history = None
    if args.ledger is not None:  # settled against the verified ledger (KR804 names a change)
        from kamrules.ledger.views import ledger_view

        history = ledger_view(args.plan, args.data, args.ledger, args.engine, args.period,
                              shown, args.db, args.db_timeout).history
    if args.all:
        tables = session.load()
        ids = sorted(r.id for r in tables[checked.payees_table].rows)
        texts = statements(checked, tables, session.trace(set(ids)), ids, session.periods(), args.plan,
                           "html" if fmt == "pdf" else fmt, locale_of(args), cut_tables(session, checked, tables),
                           history, session_frames(session), shown if args.period else None)
    else:  # the portal's statement page, the same function
        ids = [args.payee]
        texts = {args.payee: payee_statement(session, args.payee, "html" if fmt == "pdf" else fmt,
                                             locale_of(args), history, shown)}
    if fmt == "pdf":  # every PDF printed before any file is written
        data = {pid: pdf.to_pdf(texts[pid], pid) for pid in ids}
    else:
        data = {pid: texts[pid].encode("utf-8") for pid in ids}
    if not args.all:
        if fmt == "pdf":
            outputs.write_files([(args.output, lambda fh: fh.write(data[args.payee]))], "-o")
        else:
            outputs.write_text(texts[args.payee], args.output)
        return 0
    outputs.make_folder(args.output, "-o")
    names = file_names(ids)
    outputs.write_files([(os.path.join(args.output, f"{names[pid]}.{EXT[fmt]}"),
                         lambda fh, b=data[pid]: fh.write(b)) for pid in ids], "-o")
    return 0


def register(sub):
    from kamrules.cli import examples

    s = sub.add_parser("statement", help="a payee's payout statement: amounts, derivation, curves, effort",
                     **examples(
        "kamrules statement plans/abtasty-kam.kam --data examples/01-abtasty-nrr-upsell --payee kam-001 --format text",
        "kamrules statement plans/abtasty-kam.kam --data examples/01-abtasty-nrr-upsell --payee kam-001 -o kam-001.html",
        "kamrules statement plans/abtasty-kam.kam --data examples/01-abtasty-nrr-upsell --all -o statements/"))
    data_args(s)
    who = s.add_mutually_exclusive_group()
    who.add_argument("--payee", help="the payee's id")
    who.add_argument("--all", action="store_true", help="every payee, one file each in the -o folder")
    s.add_argument("--format", choices=("html", "md", "text", "pdf"),
                   help="html (one self-contained file), md, text, or pdf (printed by headless Chromium, "
                        "else WeasyPrint: extra `pdf`; needs -o) (default: from -o's extension)")
    s.add_argument("--ledger", metavar="LEDGER",
                   help="settle against this ledger folder (kamrules close): each period's status, "
                        "what was paid to date, the adjustments with their reasons, the balances on "
                        "account and what to pay now")
    s.add_argument("--locale", choices=LOCALES,
                   help="language and number formats (default: locale in [tool.kamrules], else en)")
    s.set_defaults(func=cmd_statement)
