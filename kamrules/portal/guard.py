"""What every response of `kamrules serve` goes through (an ASGI middleware, `Guard`):

- the security headers, on every response, the router's own 404 and 405 included: a
  Content-Security-Policy that allows no script, no frame, no form, no resource but the
  page's own `<style>` elements, each by its SHA-256 (inline `style` attributes, which the
  highlighted plan code uses, stay allowed through `style-src-attr`), then
  X-Content-Type-Options nosniff, Referrer-Policy no-referrer, Cache-Control no-store;
- with `--tokens` (access.Tokens), the sign-in: `Authorization: Bearer <token>`, or the
  cookie that a login link `?token=<token>` sets (HttpOnly, SameSite=Strict, Secure when
  the request came over https) on a page that redirects at once (meta refresh) to the
  same address without the token; anything else is 401. The grant found is left in the
  request's scope (`grant_of`) for the pages to decide what to show. No token is ever
  logged or echoed;
- `/logout`, signed in or not: the cookie cleared (expired at once, with the attributes it
  was set with), then 303 to the sign-in page (`/`, in the request's language).

Why a page and not an HTTP redirect: a link opened from another site (a webmail) starts a
cross-site navigation, and a browser sends no SameSite=Strict cookie on any request of
its redirect chain, so a 303 would land on a 401. The page's own refresh is a navigation
this site starts: the cookie goes with it (tests/test_portal_access.py opens such a link
in Chromium).
"""
from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import quote, urlencode

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from kamrules.diagnostics.textsafe import for_html
from kamrules.report import i18n

COOKIE = "kamrules_token"
GRANT = "kamrules.grant"
BASE_CSP = "default-src 'none'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
STYLE = re.compile(r"<style\b[^>]*>(.*?)</style>", re.S | re.I)
URL_SAFE = "/%-._~!$&'()*+,;=:@"
LOGOUT = "/logout"  # kept as they are in a path; anything else (a backslash) is encoded


def csp(text: str = "") -> str:
    """The policy of a page: its `<style>` elements allowed by hash, nothing else loaded."""
    hashes = " ".join(dict.fromkeys(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode("ascii") + "'"
        for s in STYLE.findall(text)))
    return BASE_CSP + "; style-src " + (hashes or "'none'") + "; style-src-attr 'unsafe-inline'"


def page(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers={"Content-Security-Policy": csp(text)})


def lang_of(request: Request, default: str) -> str:
    """The language a request asks for (`?locale=fr|en`), else the portal's."""
    lang = request.query_params.get("locale", default)
    return lang if lang in i18n.LOCALES else default


def message(lang: str, title: str, text: str, status: int) -> HTMLResponse:
    """A page of one sentence (not found, forbidden, an error), in `lang`."""
    L = i18n.get(lang)
    return page(f'<!DOCTYPE html>\n<html lang="{for_html(lang)}"><head><meta charset="utf-8">'
                f"<title>{for_html(L._(title))}</title></head><body><p>{for_html(L._(text))}</p></body></html>\n",
                status)


def grant_of(request: Request):
    """The access.Grant of the request, or None (no --tokens: everything)."""
    return request.scope.get(GRANT)


def _unauthorized(why: str, lang: str) -> HTMLResponse:
    L = i18n.get(lang)
    text = (f'<!DOCTYPE html>\n<html lang="{for_html(lang)}"><head><meta charset="utf-8">'
            f"<title>{for_html(L._('sign in'))}</title></head><body><p>{for_html(L._(why))} "
            + "<code>Authorization: Bearer</code>".join(  # the header's name as it is, in <code>
                for_html(x) for x in L._("Open the sign-in link you were given, or send an {header} header.")
                .split("{header}", 1)) + "</p></body></html>\n")
    response = page(text, 401)
    response.headers["WWW-Authenticate"] = 'Bearer realm="kamrules"'
    return response


def _logout(request: Request, default: str) -> Response:
    """The cookie cleared, and 303 to the sign-in page, in the request's language."""
    lang = lang_of(request, default)
    response = Response(status_code=303, headers={"Location": "/" if lang == default else f"/?locale={lang}"})
    response.delete_cookie(COOKIE, path="/", secure=request.url.scheme == "https", httponly=True, samesite="strict")
    return response


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _without_token(request: Request) -> str:
    """The address of the request, on this server (never `//host`), without `token`."""
    raw = request.scope.get("raw_path") or request.url.path.encode("utf-8")
    path = "/" + quote(raw.decode("latin-1").lstrip("/\\"), safe=URL_SAFE)
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
    return path + ("?" + query if query else "")


class Guard:
    def __init__(self, app, tokens=None, lang: str = i18n.DEFAULT):
        self.app, self.tokens, self.lang = app, tokens, lang

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", csp())
            await send(message)

        if scope["path"] == LOGOUT:
            await _logout(Request(scope), self.lang)(scope, receive, send_with_headers)
            return
        if self.tokens is not None:
            request = Request(scope)
            login = request.query_params.get("token")
            if login is not None:
                response = self._login(request, login)
            else:
                grant = self.tokens.find(_bearer(request) or request.cookies.get(COOKIE))
                if grant is None:
                    response = _unauthorized("You are not signed in.", lang_of(request, self.lang))
                else:
                    scope[GRANT] = grant
                    response = self.app
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def _login(self, request: Request, token: str):
        lang = lang_of(request, self.lang)
        if self.tokens.find(token) is None:
            return _unauthorized("This sign-in link is not valid.", lang)
        target, L = for_html(_without_token(request)), i18n.get(lang)
        response = page(f'<!DOCTYPE html>\n<html lang="{for_html(lang)}"><head><meta charset="utf-8">'
                        f'<meta http-equiv="refresh" content="0;url={target}"><title>{for_html(L._("signed in"))}'
                        f'</title></head><body><p>{for_html(L._("Signed in."))} <a href="{target}">'
                        f'{for_html(L._("Continue"))}</a></p></body></html>\n')
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https")
        return response
