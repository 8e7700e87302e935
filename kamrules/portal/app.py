"""`kamrules serve`: a local, read-only web portal (Starlette, served by uvicorn) over one
plan and one data folder: `/` lists the payees (names, links), `/payees/<payee_id>` is the
payee's statement for every period (`?locale=fr|en` switches the language), `/team` the
team page linking to each statement.

Everything is computed again when the plan or a file of the data folder changes (their
size and modification time are compared on every request), else served from memory. A
plan or data error is shown as its diagnostic (status 500), never a traceback. Responses
carry a strict Content-Security-Policy (no script, no external resource: the pages are
self-contained) and no directory is ever listed.
"""
from __future__ import annotations

import os
import threading

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from kamrules.diagnostics.diagnostic import KamError, render_text
from kamrules.diagnostics.textsafe import for_html
from kamrules.report.i18n import DEFAULT, LOCALES
from kamrules.report.statement import payee_labels
from kamrules.report.team import build_team, render as render_team
from kamrules.run.session import Session
from kamrules.portal.pages import cut_tables, statements

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


class Portal:
    """The pages of one plan on one data folder, computed again when either changes."""

    def __init__(self, plan: str, data: str, period=None, engine: str = "auto", lang: str = DEFAULT):
        self.plan, self.data, self.period, self.engine, self.lang = plan, data, period, engine, lang
        self._lock = threading.Lock()
        self._stamp = None
        self._state = None
        self.computations = 0  # how often the pages were computed (tests)

    def stamp(self) -> tuple:
        files = []
        for path in [self.plan] + sorted(os.path.join(self.data, n) for n in os.listdir(self.data)):
            try:
                st = os.stat(path)
            except OSError:
                continue
            files.append((path, st.st_size, st.st_mtime_ns))
        return tuple(files)

    def state(self) -> dict:
        with self._lock:
            stamp = self.stamp()
            if stamp != self._stamp:
                self._state, self._stamp = self._compute(), stamp
            return self._state

    def _compute(self) -> dict:
        self.computations += 1
        session = Session(self.plan, self.data, self.period, self.engine)
        checked, tables = session.check(), session.load()
        ids = sorted(r.id for r in tables[checked.payees_table].rows)
        payouts = session.trace(set(ids))
        return {"session": session, "plan": checked, "tables": tables, "ids": ids, "payouts": payouts,
                "periods": session.periods(), "labels": payee_labels(checked, tables), "pages": {}}

    def statement(self, payee_id: str, lang: str) -> str | None:
        s = self.state()
        if payee_id not in s["ids"]:
            return None
        key = (payee_id, lang)
        if key not in s["pages"]:
            cut = cut_tables(s["session"], s["plan"], s["tables"])
            s["pages"][key] = statements(s["plan"], s["tables"], s["payouts"], [payee_id], s["periods"],
                                         self.plan, "html", lang, cut)[payee_id]
        return s["pages"][key]

    def team(self) -> str:
        s = self.state()
        if "team" not in s["pages"]:
            links = {pid: f"/payees/{pid}" for pid in s["ids"]}
            s["pages"]["team"] = render_team(build_team(s["plan"], s["tables"], s["payouts"], s["periods"],
                                                        None, links), "html")
        return s["pages"]["team"]

    def index(self) -> str:
        s = self.state()
        e = for_html
        items = "".join(
            f'<li><a href="/payees/{e(pid)}">{e(s["labels"].get(pid, (None,))[0] or pid)}</a>'
            f' <small>{e(pid)}</small></li>' for pid in s["ids"])
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{e(s['plan'].name)}</title><style>body{{font:16px/1.5 system-ui,sans-serif;"
                f"max-width:40rem;margin:1rem auto;padding:0 1rem}}</style></head><body>"
                f"<h1>{e(s['plan'].name)}</h1><p><a href=\"/team\">Team page</a></p>"
                f"<ul>{items}</ul></body></html>\n")


def _page(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=HEADERS)


def _error(err: KamError) -> HTMLResponse:
    text = "\n".join(render_text(d, {}) for d in err.diagnostics)
    return _page(f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>error</title></head>'
                 f"<body><pre>{for_html(text)}</pre></body></html>\n", 500)


def _switch(page: str, payee_id: str, lang: str) -> str:
    """The statement with a language switch at the top."""
    links = " · ".join(f"<b>{x}</b>" if x == lang else f'<a href="/payees/{for_html(payee_id)}?locale={x}">{x}</a>'
                       for x in LOCALES)
    return page.replace("<body><main>", f'<body><main><nav><a href="/">⌂</a> · {links}</nav>', 1)


def make_app(portal: Portal) -> Starlette:
    def guarded(fn):
        def endpoint(request):  # run in Starlette's thread pool
            try:
                return fn(request)
            except KamError as err:
                return _error(err)
        return endpoint

    def index(request):
        return _page(portal.index())

    def payee(request):
        pid = request.path_params["payee_id"]
        lang = request.query_params.get("locale", portal.lang)
        if lang not in LOCALES:
            lang = portal.lang
        page = portal.statement(pid, lang)
        if page is None:
            return _page('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>not found</title>'
                         "</head><body><p>No such payee.</p></body></html>\n", 404)
        return _page(_switch(page, pid, lang))

    def team(request):
        return _page(portal.team())

    return Starlette(routes=[Route("/", guarded(index)), Route("/payees/{payee_id}", guarded(payee)),
                             Route("/team", guarded(team))])
