"""`kamrules serve`: a local, read-only web portal (Starlette, served by uvicorn) over one
plan and one data folder: `/` lists the payees (names, links), `/payees/<payee_id>` is the
payee's statement for every period, `/team` the team page linking to each statement;
`?locale=fr|en` switches the language of every page (the index, the messages and the
sign-in pages too: every word through the catalogs of report/i18n.py, `<html lang>` set),
and the links of a page keep its language.

Each page is computed when first asked for, from only what it shows (Portal), and kept
(cache.py: at most PAGES, one computation per page however many ask at once) until the
plan or a file of the data folder changes (their size and modification time are compared
on every request): then everything is dropped, and computed again only when asked. A
plan or data error is shown as its diagnostic (status 500), never a traceback, and the
server keeps running: the next request after a fix serves the page. Every
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
from kamrules.data.strict import Table, load_table
from kamrules.diagnostics.diagnostic import KamError
from kamrules.diagnostics.render import render_text
from kamrules.diagnostics.textsafe import for_html
from kamrules.report import i18n
from kamrules.report.i18n import DEFAULT, LOCALES
from kamrules.report.statement import payee_labels
from kamrules.report.team import render as render_team
from kamrules.report.team_scale import build as build_team
from kamrules.report.team_values import gather
from kamrules.files.inputs import resolve
from kamrules.run.session import Session
from kamrules.portal.access import check_grants, teams, visible
from kamrules.portal.cache import Cache
from kamrules.portal.guard import LOGOUT, Guard, grant_of, lang_of, message, page
from kamrules.portal.pages import payee_built, render_in


def href(payee_id: str) -> str:
    """The address of a payee's statement: the id percent-encoded (a `/` or `?` in it stays
    part of the id)."""
    return "/payees/" + quote(payee_id, safe="")


def keep(address: str, lang: str, default: str) -> str:
    """A link of a page in `lang`: the address, with `?locale=` when not the portal's default."""
    return address if lang == default else f"{address}?locale={lang}"


REQUERY = 60  # seconds: with --db, the queries run again on the first request after this


PAGES = 256  # rendered pages kept (statements per payee and language, team pages, indexes)


class Portal:
    """The pages of one plan on one data folder, each computed when first asked for, kept
    (at most PAGES of them, the least recently read dropped first) until the plan or the
    data change. What a page needs is computed once per version of the data, and only when
    a page needs it:

    - the index and the access rules: the payees table alone (names, ids; and `reports_to`
      for a manager's team);
    - a statement: that payee's rows only, as `statement --payee` reads them, through one
      session kept for every statement of this version (the data it read once serve the
      next payee);
    - the team page: the population's payouts and the page's values, from one columnar run
      (report/team_values.gather; the interpreter's traces when that engine does not run the plan).
    """

    def __init__(self, plan: str, data: str, period=None, engine: str = "auto", lang: str = DEFAULT,
                 ledger: str | None = None, db: str | None = None, db_timeout: float | None = None,
                 tokens=None):
        self.plan, self.data, self.period, self.engine, self.lang = plan, data, period, engine, lang
        self.ledger = ledger  # a ledger folder (kamrules close): statements and team page settled against it
        # the database of the plan's `from sql` inputs: its queries run again at most every
        # REQUERY seconds, on a request (a new snapshot in the data folder when rows changed)
        self.db, self.db_timeout = db, db_timeout
        self.tokens = tokens  # access.Tokens: their payee ids are checked against each version of the data
        self._lock = threading.Lock()
        self._stamp = None
        self._version = 0
        self._pages = Cache(PAGES)  # (version, page, ...) -> html
        self._parts = Cache(16)  # (version, part) -> what pages are made of (the session, the people, ...)
        self.computations = 0  # how many versions of the plan and data were computed on (tests)
        self.built: dict = {}  # what was computed, by kind ("statement", "team", ...): how often (tests)

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

    def version(self) -> int:
        """The version of the plan and data as they are now; a change drops every page."""
        with self._lock:
            stamp = self.stamp()
            if stamp != self._stamp:
                self._pages.clear()
                self._parts.clear()
                self._stamp, self._version = stamp, self._version + 1
                self.computations += 1
            return self._version

    def _build(self, kind: str):
        self.built[kind] = self.built.get(kind, 0) + 1

    def _part(self, version: int, name: str, make):
        def counted():
            self._build(name)
            return make()
        return self._parts.get((version, name), counted)

    # ------------------------------------------------------------------ parts
    def _session(self, version: int) -> tuple:
        """(the session of every statement of this version, its plan checked and sourced; the
        lock by which it answers one payee at a time)."""
        def make():
            session = Session(self.plan, self.data, self.period, self.engine, db=self.db, db_timeout=self.db_timeout)
            session.sourced()  # `from sql` inputs: their queries run once per version
            return session, threading.Lock()
        return self._part(version, "session", make)

    def _people(self, version: int) -> dict:
        """The checked plan, the payees table (and reports_to) read alone, ids and names."""
        def make():
            plan = self._session(version)[0].sourced()
            tables = {}
            for name in {plan.payees_table} | ({"reports_to"} & set(plan.inputs)):
                spec = plan.inputs[name]
                tables[name] = load_table(spec, resolve(spec, self.data), plan.fiscal_start)
            ids = sorted(r.id for r in tables[plan.payees_table].rows)
            if not ids:  # KR403, said by the loader of the whole data
                self._session(version)[0].load()
            return {"plan": plan, "tables": tables, "ids": ids, "known": frozenset(ids),
                    "labels": payee_labels(plan, tables)}
        return self._part(version, "people", make)

    def _periods(self, version: int, payee_id: str | None = None) -> tuple:
        """(the periods shown, the periods computed: with --period, the earlier ones of their
        years too), from the lean frames of the statements' session, read as `statement
        --payee` reads them for the payee asked first (any payee, when none is)."""
        def make():
            session, reading = self._session(version)
            with reading:
                try:
                    session.tables_of({payee_id or self._people(version)["ids"][0]})
                except KamError as err:
                    if {d.code for d in err.diagnostics} != {"KR405"}:
                        raise
                    session.tables_of({self._people(version)["ids"][0]})  # (no such payee: a 404 page)
                shown = session.with_year_to_date()
                return shown, session.periods()
        return self._part(version, "periods", make)

    def _ledger(self, version: int):
        def make():
            from kamrules.ledger.views import ledger_view
            # verified (KR804 names a changed byte), then settled
            return ledger_view(self.plan, self.data, self.ledger, self.engine, self.period,
                               self._periods(version)[0], self.db, self.db_timeout)
        return None if self.ledger is None else self._part(version, "ledger", make)

    def _population(self, version: int) -> dict:
        """The team page's data (report/team_values.gather): every payee's payouts and the
        page's values from one columnar run, the payees' tables read alone; the interpreter's
        traces on the whole tables when the columnar engine does not run the plan."""
        def make():
            session = Session(self.plan, self.data, self.period, self.engine, db=self.db, db_timeout=self.db_timeout)
            data = gather(session)  # as `kamrules team`: one columnar run, its columns the page's values
            ids = sorted(r.id for r in data.tables[data.plan.payees_table].rows)
            return {"plan": data.plan, "tables": data.tables, "ids": ids, "payouts": data.payouts,
                    "periods": data.periods, "shown": data.shown if self.period else None, "values": data.values,
                    "frame": data.frame}
        return self._part(version, "population", make)

    def _grants(self, version: int) -> dict:
        """The people, every payee id of the tokens file found among them (KR766) and a
        manager's team known to the plan (KR768)."""
        people = self._people(version)
        if self.tokens is not None:
            self._part(version, "grants", lambda: check_grants(self.tokens, people["plan"], people["tables"]))
        return people

    def check_tokens(self) -> None:
        """At start (serve --tokens): the tokens against the payees, KamError when they do not
        agree. A data error is no stop: every page shows it (500) until the data are fixed."""
        version = self.version()
        try:
            self._people(version)
        except KamError:
            return
        self._grants(version)

    # ------------------------------------------------------------------ pages
    def visible(self, grant) -> frozenset | None:
        """The payee ids the grant may see (None: all), on the data as they are now."""
        version = self.version()
        if grant is None and self.tokens is None:  # no sign-in: no list of the payees needed
            return None
        people = self._grants(version)  # the tokens checked against this data
        if grant is None or grant.role == "admin":
            return None
        team_of = {}
        if grant.role == "manager":
            team_of = self._part(version, "teams", lambda: teams(
                people["plan"], people["tables"],
                self._periods(version)[1] if "reports_to" in people["tables"] else []))
        return visible(grant, people["known"], team_of)

    def statement(self, payee_id: str, lang: str) -> str | None:
        """The payee's statement in `lang`, the page `statement --payee ID --format html` writes."""
        version = self.version()

        def make():
            (session, reading), (shown, _) = self._session(version), self._periods(version, payee_id)
            ledger = self._ledger(version)
            with reading:
                try:  # the payee among the ids of the lean frames: no list of every payee read
                    session.payees([payee_id])
                except KamError as err:
                    if {d.code for d in err.diagnostics} == {"KR405"}:  # no such payee
                        return None
                    raise
                self._build("statement")
                return payee_built(session, payee_id, ledger.history if ledger is not None else None, shown)

        def page_in_lang():  # built once, in no language: another language renders it again
            built = self._pages.get((version, "built statement", payee_id), make)
            return None if built is None else render_in(built, "html", lang)
        return self._pages.get((version, "statement", payee_id, lang), page_in_lang)

    def team(self, only: frozenset | None = None, lang: str | None = None, page: int = 1) -> str:
        """The team page of every payee, or of the payees `only`, in `lang` (the portal's by default):
        at most report/team_scale.LIMIT rows a period, the largest totals first, page `page` of them."""
        version = self.version()
        lang = lang or self.lang

        def make():
            self._build("team")
            s = self._population(version)
            tables, payouts = s["tables"], s["payouts"]
            if only is not None:
                t = tables[s["plan"].payees_table]
                tables = dict(tables)
                tables[s["plan"].payees_table] = Table(t.spec, t.path, [r for r in t.rows if r.id in only])
                payouts = [p for p in payouts if p.payee_id in only]
            links = {pid: keep(href(pid), lang, self.lang) for pid in s["ids"] if only is None or pid in only}
            view = build_team(s["plan"], tables, payouts, s["periods"], None, links, lang, s["shown"], values=s["values"],
                              frame=s["frame"], page=page)
            base = keep("/team", lang, self.lang)
            view.pager = base + ("&" if "?" in base else "?") + "page={page}"
            ledger = self._ledger(version)
            if ledger is not None:
                view.ledger = ledger.team({r.payee_id for tp in view.periods for r in tp.rows}
                                          | (set(only) if only is not None else set(s["ids"])))
            return render_team(view, "html")
        return self._pages.get((version, "team", only, lang, page), make)

    def index(self, only: frozenset | None = None, team: bool = True, lang: str | None = None) -> str:
        """The payees `only` (None: all) by name, each linked to their statement, in `lang`."""
        version = self.version()
        lang = lang or self.lang

        def make():
            s = self._people(version)
            L, e = i18n.get(lang), for_html
            items = "".join(
                f'<li><a href="{e(keep(href(pid), lang, self.lang))}">{e(s["labels"].get(pid, (None,))[0] or pid)}'
                f'</a> <small>{e(pid)}</small></li>' for pid in s["ids"] if only is None or pid in only)
            link = f'<p><a href="{e(keep("/team", lang, self.lang))}">{e(L._("Team page"))}</a></p>' if team else ""
            return (f'<!DOCTYPE html>\n<html lang="{e(lang)}"><head><meta charset="utf-8">'
                    f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                    f"<title>{e(L._('Statements'))} · {e(s['plan'].name)}</title><style>body{{font:16px/1.5 "
                    f"system-ui,sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem}}</style></head><body>"
                    f"<main><h1>{e(s['plan'].name)}</h1><h2>{e(L._('Statements'))}</h2>{link}"
                    f"<ul>{items}</ul></main></body></html>\n")
        return self._pages.get((version, "index", only, team, lang), make)


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


def _switch(text: str, address: str, lang: str, default: str, signed_in: bool = False) -> str:
    """The page (the index, a statement, the team page) with a language switch at the top,
    a link home in the same language and, when the request signed in (--tokens), a link
    that signs out (/logout, back to the sign-in page in the same language)."""
    L = i18n.get(lang)
    links = " · ".join(f"<b>{x}</b>" if x == lang else f'<a href="{for_html(address)}?locale={x}">{x}</a>'
                       for x in LOCALES)
    home = "" if address == "/" else (f'<a href="{for_html(keep("/", lang, default))}" '
                                      f'title="{for_html(L._("All statements"))}">⌂</a> · ')
    out = (f' · <a href="{for_html(keep(LOGOUT, lang, default))}" rel="nofollow">{for_html(L._("Sign out"))}</a>'
           if signed_in else "")
    return text.replace("<body><main>", f"<body><main><nav>{home}{links}{out}</nav>", 1)


def make_app(portal: Portal, tokens=None) -> Starlette:
    """The portal's application; tokens (access.Tokens): every request must sign in, and the
    payee ids of the tokens are checked against each version of the data (a 500 page with
    the diagnostics until the data or the file agree)."""
    if tokens is not None:
        portal.tokens = tokens
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
                            "/", lang, portal.lang, grant is not None))

    def payee(request, grant):
        pid = request.path_params["payee_id"]
        lang = locale(request)
        only = portal.visible(grant)
        if only is not None and pid not in only:  # 403 whether or not the id is a payee's
            return _forbidden(lang)
        text = portal.statement(pid, lang)
        if text is None:
            return message(lang, "not found", "No such payee.", 404)
        return page(_switch(text, href(pid), lang, portal.lang, grant is not None))

    def team(request, grant):
        lang = locale(request)
        if grant is not None and grant.role == "payee":
            return _forbidden(lang)
        number = request.query_params.get("page", "1")  # ?page=K: the K-th page of rows (1 if not a number)
        return page(_switch(portal.team(portal.visible(grant), lang, int(number) if number.isdigit() else 1),
                            "/team", lang, portal.lang, grant is not None))

    return Starlette(routes=[Route("/", guarded(index)), Route("/payees/{payee_id}", guarded(payee)),
                             Route("/team", guarded(team))],
                     middleware=[Middleware(Guard, tokens=tokens, lang=portal.lang)])
