"""`kamrules serve PLAN --data DIR [--period P] [--ledger L] [--host 127.0.0.1] [--port 8000]
[--locale en|fr] [--tokens FILE]`: the local read-only portal (kamrules/portal/app.py): every payee's statement
and the team page in a browser, computed again when the plan or the data change. Needs the
`portal` extra (Starlette, uvicorn): without it, a KR731 diagnostic says how to install it.

Without --tokens everything is served to whoever connects, so only to this machine: a
--host that is not a loopback address is refused (KR765). With --tokens the file is read
and checked against the payees before anything is served (KR766-KR768, portal/access.py),
when the payees table can be read: a data error does not stop the portal, every page
shows it (500) until the data are fixed.
uvicorn logs no request (its access log is off): no login link reaches a log.
"""
from __future__ import annotations

import ipaddress
import os

from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.report.i18n import LOCALES
from kamrules.run.session import Session, add_engine_arg
from kamrules.cli.config import load_config
from kamrules.cli.common import add_db_arg


def loopback(host: str) -> bool:
    """Is `host` this machine only (127.0.0.0/8, ::1, localhost)?"""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to any address
        return False


def cmd_serve(args) -> int:
    if not loopback(args.host) and not args.tokens:
        raise KamError([Diagnostic(
            "KR765", f"--host {args.host} without --tokens would show every payee's pay to anyone who reaches "
            "this address", hint="keep the default --host 127.0.0.1 (this machine only), or give --tokens FILE "
            "so that each person signs in and sees only their own pages")])
    try:
        import uvicorn

        from kamrules.portal.access import read_tokens
        from kamrules.portal.app import Portal, make_app
    except ImportError as why:
        raise KamError([Diagnostic("KR731", f"kamrules serve needs the portal extra ({why.name} is not installed)",
                                   hint="pip install 'kamrules[portal]'")]) from None
    if not os.path.isdir(args.data):
        raise KamError([Diagnostic("KR731", f"--data {args.data}: not a folder", hint="give the folder of the CSV exports")])
    tokens = read_tokens(args.tokens) if args.tokens else None
    # a plan error stops here, in words; the data are read when a page asks for them (a data
    # error is a 500 page, with its diagnostic, until the data are fixed)
    Session(args.plan, args.data, args.period, args.engine, db=args.db, db_timeout=args.db_timeout).check()
    lang = args.locale or load_config(args.plan).locale or "en"
    if args.ledger is not None and not os.path.isdir(args.ledger):
        raise KamError([Diagnostic("KR801", f"--ledger {args.ledger}: not a folder",
                                   hint="give the ledger folder that `kamrules close` writes")])
    portal = Portal(args.plan, args.data, args.period, args.engine, lang, args.ledger, args.db, args.db_timeout)
    app = make_app(portal, tokens)
    if tokens is not None:  # a token of no payee stops here (KR766); a data error is a 500 page
        portal.check_tokens()
    signin = f", {len(tokens.entries)} tokens" if tokens is not None else ""
    print(f"kamrules portal on http://{args.host}:{args.port}/{signin} (Ctrl-C stops it)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


def register(sub):
    from kamrules.cli import examples
    s = sub.add_parser("serve", help="a local read-only web portal: every payee's statement, the team page", **examples(
        "kamrules serve plans/abtasty-kam.kam --data examples/01-abtasty-nrr-upsell",
        "kamrules serve plans/abtasty-kam.kam --data examples/01-abtasty-nrr-upsell --locale fr --port 8080",
        "kamrules serve plans/abtasty-kam.kam --data examples/01-abtasty-nrr-upsell --tokens tokens.csv --host 0.0.0.0"))
    s.add_argument("plan", help="the .kam plan file")
    s.add_argument("--data", required=True, help="folder holding the CSV exports")
    s.add_argument("--period", action="append", help="these periods only (repeatable)")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; any other needs --tokens)")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    s.add_argument("--locale", choices=LOCALES, help="default language of the statements")
    s.add_argument("--ledger", metavar="LEDGER",
                   help="settle against this ledger folder (kamrules close): each period's status, paid to "
                        "date, adjustments with their reasons, what to pay now, on every statement and the team page")
    s.add_argument("--tokens", metavar="FILE",
                   help="CSV token,payee_id,role (payee, manager or admin): every request signs in, "
                   "each person sees only their own pages (or their team's, or all)")
    add_engine_arg(s)
    add_db_arg(s)
    s.set_defaults(func=cmd_serve)
