"""`kamrules serve PLAN --data DIR [--period P] [--host 127.0.0.1] [--port 8000] [--locale en|fr]`:
the local read-only portal (kamrules/portal/app.py): every payee's statement and the team
page in a browser, computed again when the plan or the data change. Needs the `portal`
extra (Starlette, uvicorn): without it, a KR731 diagnostic says how to install it.
"""
from __future__ import annotations

import os

from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.report.i18n import LOCALES
from kamrules.run.session import Session, add_engine_arg
from kamrules.cli.config import load_config


def cmd_serve(args) -> int:
    try:
        import uvicorn

        from kamrules.portal.app import Portal, make_app
    except ImportError as why:
        raise KamError([Diagnostic("KR731", f"kamrules serve needs the portal extra ({why.name} is not installed)",
                                   hint="pip install 'kamrules[portal]'")]) from None
    if not os.path.isdir(args.data):
        raise KamError([Diagnostic("KR731", f"--data {args.data}: not a folder", hint="give the folder of the CSV exports")])
    Session(args.plan, args.data, args.period, args.engine).check()  # a plan error stops here, in words
    lang = args.locale or load_config(args.plan).locale or "en"
    app = make_app(Portal(args.plan, args.data, args.period, args.engine, lang))
    print(f"kamrules portal on http://{args.host}:{args.port}/ (Ctrl-C stops it)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def register(sub):
    from kamrules.cli import examples
    s = sub.add_parser("serve", help="a local read-only web portal: every payee's statement, the team page", **examples(
        "kamrules serve plans/abtasty-kam.kam --data examples/01-abtasty-nrr-upsell",
        "kamrules serve plans/abtasty-kam.kam --data examples/01-abtasty-nrr-upsell --locale fr --port 8080"))
    s.add_argument("plan", help="the .kam plan file")
    s.add_argument("--data", required=True, help="folder holding the CSV exports")
    s.add_argument("--period", action="append", help="these periods only (repeatable)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    s.add_argument("--locale", choices=LOCALES, help="default language of the statements")
    add_engine_arg(s)
    s.set_defaults(func=cmd_serve)
