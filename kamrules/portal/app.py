"""`kamrules serve`: a local, read-only web portal (Starlette, served by uvicorn) over one
plan and one data folder: `/` lists the payees (names, links), `/payees/<payee_id>` is the
payee's statement for every period, `/team` the team page linking to each statement;
`?locale=fr|en` switches the language of every page (the index, the messages and the
sign-in pages too: every word through the catalogs of report/i18n.py, `<html lang>` set),
and the links of a page keep its language.

Everything is computed again when the plan or a file of the data folder changes (their
size and modification time are compared on every request), else served from memory. A
plan or data error is shown as its diagnostic (status 500), never a traceback. Every
response goes through guard.py: the strict security headers, and with `--tokens` the sign
in; each page then shows only what the request's grant may see (access.visible): a payee
asking for anyone else's statement, or an id that is no payee, gets 403 with no data.
"""
from __future__ import annotations

import os
import threading
import time
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse
from starlette.routing import Route

from kamrules.data.sql import SNAPSHOTS
from kamrules.data.strict import Table
from kamrules.diagnostics.diagnostic import KamError, render_text
from kamrules.diagnostics.textsafe import for_html
from kamrules.report import i18n
from kamrules.report.i18n import DEFAULT, LOCALES
from kamrules.report.statement import payee_labels
from kamrules.report.team import build_team, render as render_team
from kamrules.run.session import Session
from kamrules.portal.access import teams, visible
from kamrules.portal.guard import Guard, grant_of, lang_of, message, page
from kamrules.portal.pages import cut_tables, statements


def href(payee_id: str) -> str:
    """The address of a payee's statement: the id percent-encoded (a `/` or `?` in it stays
    part of the id)."""
    return "/payees/" + quote(payee_id, safe="")


def keep(address: str, lang: str, default: str) -> str:
    """A link of a page in `lang`: the address, with `?locale=` when not the portal's default."""
    return address if lang == default else f"{address}?locale={lang}"


REQUERY = 60  # seconds: with --db, the queries run again on the first request after this


class Portal:
    """The pages of one plan on one data folder, computed again when either changes."""

    def __init__(self, plan: str, data: str, period=None, engine: str = "auto", lang: str = DEFAULT,
                 ledger: str | None = None, db: str | None = None, db_timeout: float | None = None):
        self.plan, self.data, self.period, self.engine, self.lang = plan, data, period, engine, lang
        self.ledger = ledger  # a ledger folder (kamrules close): statements and team page settled against it
        # the database of the plan's `from sql` inputs: its queries run again at most every
        # REQUERY seconds, on a request (a new snapshot in the data folder when rows changed)
        self.db, self.db_timeout = db, db_timeout
        self._lock = threading.Lock()
        self._stamp = None
        self._state = None
        self.computations = 0  # how often the pages were computed (tests)

    def stamp(self) -> tuple:
        files = []
        # (the snapshots of the `from sql` queries are the portal's own writing, not a change)
        paths = [self.plan] + sorted(os.path.join(self.data, n) for n in os.listdir(self.data) if n != SNAPSHOTS)
        if self.ledger is not None:  # a close or a reopening changes the pages too
            paths += sorted(os.path.join(d, n) for d, _, names in os.walk(self.ledger) for n in names)
        for path in paths:
            try:
                st = os.stat(path)
            except OSError:
                continue
            files.append((path, st.st_size, st.st_mtime_ns))
        if self.db is not None:  # the rows of the `from sql` inputs may have changed
            files.append(("--db", int(time.monotonic() // REQUERY)))
        return tuple(files)

    def state(self) -> dict:
        with self._lock:
            stamp = self.stamp()
            if stamp != self._stamp:
                self._state, self._stamp = self._compute(), stamp
            return self._state

    def _compute(self) -> dict:
        self.computations += 1
        session = Session(self.plan, self.data, self.period, self.engine, db=self.db, db_timeout=self.db_timeout)
        tables = session.load()
        checked = session.check()
        ids = sorted(r.id for r in tables[checked.payees_table].rows)
        shown = session.with_year_to_date()  # with a period: the earlier periods of the year too
        payouts = session.trace(set(ids))
        lv = None
        if self.ledger is not None:  # verified (KR804 names a changed byte), then settled
            from kamrules.ledger.views import ledger_view
            lv = ledger_view(self.plan, self.data, self.ledger, self.engine, self.period, shown,
                             self.db, self.db_timeout)
        return {"session": session, "plan": checked, "tables": tables, "ids": ids, "payouts": payouts,
                "periods": session.periods(), "shown": shown if self.period else None,
                "labels": payee_labels(checked, tables), "pages": {},
                "ledger": lv}

    def visible(self, grant) -> frozenset | None:
        """The payee ids the grant may see (None: all), on the data as they are now."""
        if grant is None or grant.role == "admin":
            return None
        s = self.state()
        if grant.role == "manager" and "teams" not in s:
            s["teams"] = teams(s["plan"], s["tables"], s["periods"])
        return visible(grant, s["ids"], s.get("teams", {}))

    def statement(self, payee_id: str, lang: str) -> str | None:
        s = self.state()
        if payee_id not in s["ids"]:
            return None
        key = (payee_id, lang)
        if key not in s["pages"]:
            cut = cut_tables(s["session"], s["plan"], s["tables"])
            history = s["ledger"].history if s["ledger"] is not None else None
            s["pages"][key] = statements(s["plan"], s["tables"], s["payouts"], [payee_id], s["periods"],
                                         self.plan, "html", lang, cut, history, shown=s["shown"])[payee_id]
        return s["pages"][key]

    def team(self, only: frozenset | None = None, lang: str | None = None) -> str:
        """The team page of every payee, or of the payees `only`, in `lang` (the portal's by default)."""
        s = self.state()
        lang = lang or self.lang
        key = ("team", only, lang)
        if key not in s["pages"]:
            tables, payouts = s["tables"], s["payouts"]
            if only is not None:
                t = tables[s["plan"].payees_table]
                tables = dict(tables)
                tables[s["plan"].payees_table] = Table(t.spec, t.path, [r for r in t.rows if r.id in only])
                payouts = [p for p in payouts if p.payee_id in only]
            links = {pid: keep(href(pid), lang, self.lang) for pid in s["ids"] if only is None or pid in only}
            view = build_team(s["plan"], tables, payouts, s["periods"], None, links, lang, s["shown"])
            if s["ledger"] is not None:
                view.ledger = s["ledger"].team({r.payee_id for tp in view.periods for r in tp.rows}
                                               | (set(only) if only is not None else set(s["ids"])))
            s["pages"][key] = render_team(view, "html")
        return s["pages"][key]

    def index(self, only: frozenset | None = None, team: bool = True, lang: str | None = None) -> str:
        """The payees `only` (None: all) by name, each linked to their statement, in `lang`."""
        s = self.state()
        lang = lang or self.lang
        L, e = i18n.get(lang), for_html
        items = "".join(
            f'<li><a href="{e(keep(href(pid), lang, self.lang))}">{e(s["labels"].get(pid, (None,))[0] or pid)}</a>'
            f' <small>{e(pid)}</small></li>' for pid in s["ids"] if only is None or pid in only)
        link = f'<p><a href="{e(keep("/team", lang, self.lang))}">{e(L._("Team page"))}</a></p>' if team else ""
        return (f'<!DOCTYPE html>\n<html lang="{e(lang)}"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{e(L._('Statements'))} · {e(s['plan'].name)}</title><style>body{{font:16px/1.5 "
                f"system-ui,sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem}}</style></head><body><main>"
                f"<h1>{e(s['plan'].name)}</h1><h2>{e(L._('Statements'))}</h2>{link}"
                f"<ul>{items}</ul></main></body></html>\n")


def _error(err: KamError, grant, lang: str) -> HTMLResponse:
    if grant is not None and grant.role != "admin":  # a diagnostic may quote anyone's data
        return message(lang, "error", "The plan or its data has an error: the administrator of the portal sees it.",
                       500)
    text = "\n".join(render_text(d, {}) for d in err.diagnostics)  # diagnostics are in English
    L = i18n.get(lang)
    return page(f'<!DOCTYPE html>\n<html lang="{for_html(lang)}"><head><meta charset="utf-8">'
                f"<title>{for_html(L._('error'))}</title></head>"
                f'<body><pre lang="en">{for_html(text)}</pre></body></html>\n', 500)


def _forbidden(lang: str) -> HTMLResponse:
    return message(lang, "forbidden", "This page is not yours to see.", 403)


def _switch(text: str, address: str, lang: str, default: str) -> str:
    """The page (the index, a statement, the team page) with a language switch at the top
    and a link home in the same language."""
    L = i18n.get(lang)
    links = " · ".join(f"<b>{x}</b>" if x == lang else f'<a href="{for_html(address)}?locale={x}">{x}</a>'
                       for x in LOCALES)
    home = "" if address == "/" else (f'<a href="{for_html(keep("/", lang, default))}" '
                                      f'title="{for_html(L._("All statements"))}">⌂</a> · ')
    return text.replace("<body><main>", f"<body><main><nav>{home}{links}</nav>", 1)


def make_app(portal: Portal, tokens=None) -> Starlette:
    """The portal's application; tokens (access.Tokens): every request must sign in."""
    def guarded(fn):
        def endpoint(request):  # run in Starlette's thread pool
            grant = grant_of(request)
            try:
                return fn(request, grant)
            except KamError as err:
                return _error(err, grant, locale(request))
        return endpoint

    def locale(request) -> str:
        return lang_of(request, portal.lang)

    def index(request, grant):
        lang = locale(request)
        return page(_switch(portal.index(portal.visible(grant), grant is None or grant.role != "payee", lang),
                            "/", lang, portal.lang))

    def payee(request, grant):
        pid = request.path_params["payee_id"]
        lang = locale(request)
        only = portal.visible(grant)
        if only is not None and pid not in only:  # 403 whether or not the id is a payee's
            return _forbidden(lang)
        text = portal.statement(pid, lang)
        if text is None:
            return message(lang, "not found", "No such payee.", 404)
        return page(_switch(text, href(pid), lang, portal.lang))

    def team(request, grant):
        lang = locale(request)
        if grant is not None and grant.role == "payee":
            return _forbidden(lang)
        return page(_switch(portal.team(portal.visible(grant), lang), "/team", lang, portal.lang))

    return Starlette(routes=[Route("/", guarded(index)), Route("/payees/{payee_id}", guarded(payee)),
                             Route("/team", guarded(team))],
                     middleware=[Middleware(Guard, tokens=tokens, lang=portal.lang)])
