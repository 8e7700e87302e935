"""`kamrules serve --tokens` (kamrules/portal/access.py, guard.py) against a running server:
uvicorn on a free port in a thread (or `python -m kamrules serve` as a child, with
timeouts), asked by a real HTTP client (httpx). Each role sees what it may and no more
(the teams worked out by hand from the reporting lines below), 401 without a token, 403
bodies carry no payee data, the login link sets a strict cookie and drops the token from
the address, tokens are compared with hmac.compare_digest against every token, a bad
tokens file is a diagnostic naming the row and column, a network --host without tokens is
refused, and headless Chromium signs in by the link and reads the statement."""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import socket
import subprocess
import sys
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import EXAMPLES, PLANS, ROOT, chromium, run_cli

httpx = pytest.importorskip("httpx", reason="the `portal` extra (starlette, uvicorn, httpx) is not installed: "
                            "pip install -e '.[test,portal]'")
uvicorn = pytest.importorskip("uvicorn", reason="the `portal` extra is not installed: pip install -e '.[test,portal]'")

PLAN = '''plan "Overrides"
currency EUR
period quarter
payees people
input people key payee_id { payee_id: Text  name: Text }
input reports_to { payee_id: Text  manager_id: Text  start_date: Date  end_date: optional Date }
input deals { deal_id: Text  owner_id: Text  amount: Money  close_date: Date }
let won = deals where close_date in period
component own = round(sum(amount for won where owner_id == payee.id) * 10%, cent, half_up)
component override = round(sum(amount for won where below(owner_id, payee.id, close_date)) * 2%, cent, half_up)
'''
NAMES = {"ceo": "Zoe Ceo", "m1": "Marc Un", "m2": "Maud Deux", "a": "Alice Vente", "b": "Bruno Vente",
         "c": "Chloe Tard"}
# a moves from m1 to m2 on 2025-02-15; c joins m1 on 2025-04-01, after the served 2025-Q1
LINES = ["payee_id,manager_id,start_date,end_date", "m1,ceo,2025-01-01,", "m2,ceo,2025-01-01,",
         "a,m1,2025-01-01,2025-02-14", "a,m2,2025-02-15,", "b,m2,2025-01-01,", "c,m1,2025-04-01,"]
DEALS = ["deal_id,owner_id,amount,close_date", "d1,a,1000,2025-01-20", "d2,a,2000,2025-03-01",
         "d3,b,500,2025-02-01", "d4,c,700,2025-03-10"]
TOKENS = {"admin": "admin-token-0000000001", "m1": "m1-manager-token-00002", "m2": "m2-manager-token-00003",
          "a": "payee-a-token-00000004", "b": "payee-b-token-00000005"}
TOKENS_CSV = ("token,payee_id,role\n" + f"{TOKENS['admin']},,admin\n{TOKENS['m1']},m1,manager\n"
              f"{TOKENS['m2']},m2,manager\n{TOKENS['a']},a,payee\n{TOKENS['b']},b,payee\n")
# who sees whom in 2025-Q1, by hand from LINES: m1 had a until 2025-02-14 (c only from Q2),
# m2 has a from 2025-02-15 and b; a payee only themselves; the admin everyone
SEES = {"admin": set(NAMES), "m1": {"m1", "a"}, "m2": {"m2", "a", "b"}, "a": {"a"}, "b": {"b"}}


def write_case(root):
    data = root / "data"
    data.mkdir()
    (root / "p.kam").write_text(PLAN, encoding="utf-8")
    (data / "people.csv").write_text("payee_id,name\n" + "".join(f"{k},{v}\n" for k, v in NAMES.items()))
    (data / "reports_to.csv").write_text("\n".join(LINES) + "\n")
    (data / "deals.csv").write_text("\n".join(DEALS) + "\n")
    (root / "tokens.csv").write_text(TOKENS_CSV)
    return root / "p.kam", data, root / "tokens.csv"


@contextlib.contextmanager
def running(app):
    """The app served by uvicorn on a free port of 127.0.0.1, in a thread; its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def portal_app(plan, data, tokens_path, period=("2025-Q1",)):
    from kamrules.portal.access import read_tokens
    from kamrules.portal.app import Portal, make_app
    return make_app(Portal(str(plan), str(data), list(period) or None), read_tokens(str(tokens_path)))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    plan, data, tokens = write_case(tmp_path_factory.mktemp("portal"))
    with running(portal_app(plan, data, tokens)) as base:
        yield base


def get(base, path, token=None, headers=None):
    headers = dict(headers or {}, **({"Authorization": f"Bearer {token}"} if token else {}))
    with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as c:
        return c.get(path, headers=headers)


def no_payee_data(text):
    return not any(pid in re.findall(r"[\w-]+", text) for pid in NAMES if len(pid) > 1) and not any(
        name in text for name in NAMES.values()) and "EUR" not in text and "€" not in text


@pytest.mark.parametrize("path", ["/", "/team", "/payees/a", "/payees/nobody", "/nothing/here"])
def test_without_a_token_every_request_is_401(server, path):
    r = get(server, path)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert no_payee_data(r.text) and "Alice" not in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert get(server, path, "not-a-token-at-all-000").status_code == 401


@pytest.mark.parametrize("who", sorted(SEES))
def test_each_role_sees_its_own_pages_and_no_others(server, who):
    token = TOKENS[who]
    index = get(server, "/", token)
    assert index.status_code == 200
    assert set(re.findall(r'href="/payees/([\w-]+)"', index.text)) == SEES[who]
    assert ('href="/team"' in index.text) == (who not in ("a", "b"))
    for pid in NAMES:
        r = get(server, f"/payees/{pid}", token)
        if pid in SEES[who]:
            assert r.status_code == 200 and f"<h1>{NAMES[pid]}</h1>" in r.text
        else:
            assert r.status_code == 403 and no_payee_data(r.text), (who, pid, r.text)
    # an id that is nobody's: 403 for whoever may not see everyone (no oracle of who exists)
    assert get(server, "/payees/zed", token).status_code == (404 if who == "admin" else 403)
    team = get(server, "/team", token)
    if who in ("a", "b"):
        assert team.status_code == 403 and no_payee_data(team.text)
    else:
        assert team.status_code == 200
        # everyone has a payout in 2025-Q1 (ceo, m1, m2 overrides; a, b, c own deals)
        assert set(re.findall(r'data-payee="([\w-]+)"', team.text)) == SEES[who]


def moves_to(r) -> str:
    """Where a sign-in page sends the browser at once (its meta refresh), unescaped."""
    import html
    return html.unescape(re.search(r'<meta http-equiv="refresh" content="0;url=([^"]*)">', r.text).group(1))


def test_the_login_link_sets_a_strict_cookie_and_drops_the_token(server):
    r = get(server, f"/payees/a?locale=fr&token={TOKENS['a']}")
    assert r.status_code == 200 and moves_to(r) == "/payees/a?locale=fr" and no_payee_data(r.text)
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"kamrules_token={TOKENS['a']};")
    attrs = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= attrs and "secure" not in attrs
    with httpx.Client(base_url=server, timeout=60) as c:
        c.cookies.set("kamrules_token", TOKENS["a"])
        page = c.get("/payees/a?locale=fr")
        assert page.status_code == 200 and '<html lang="fr">' in page.text and "<h1>Alice Vente</h1>" in page.text
        assert c.get("/payees/b").status_code == 403
    # over https (a TLS proxy on this machine, which uvicorn trusts by default): Secure too
    r = get(server, f"/?token={TOKENS['a']}", headers={"X-Forwarded-Proto": "https"})
    assert "secure" in {a.strip().lower() for a in r.headers["set-cookie"].split(";")}
    # a wrong link: 401, no cookie; a redirect never leaves the server (no //host)
    bad = get(server, "/?token=payee-a-token-00000009")
    assert bad.status_code == 401 and "set-cookie" not in bad.headers and "payee-a-token" not in bad.text
    for path in ("//evil.example/x", "/\\evil.example/x"):
        loc = moves_to(get(server, f"{path}?token={TOKENS['a']}"))
        assert loc.startswith("/") and not loc.startswith("//") and "\\" not in loc, loc


def test_every_token_is_compared_in_constant_time(server, monkeypatch):
    from kamrules.portal import access
    calls = []
    real = access.hmac.compare_digest

    def spy(a, b):
        calls.append((len(a), len(b)))
        return real(a, b)
    monkeypatch.setattr(access.hmac, "compare_digest", spy)
    # the first token of the file matches: the 4 others are compared all the same, on
    # SHA-256 digests (32 bytes), so neither the time nor the length tells anything
    assert get(server, "/payees/m1", TOKENS["admin"]).status_code == 200
    assert calls == [(32, 32)] * len(TOKENS)


def test_ids_are_escaped_and_never_echoed(server):
    admin = TOKENS["admin"]
    for raw in ("..%2F..%2Fetc%2Fpasswd", "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "a%00"):
        r = get(server, f"/payees/{raw}", admin)
        assert r.status_code == 404 and "passwd" not in r.text and "<script" not in r.text and "alert" not in r.text
    for listing in ("/payees/", "/payees", "/data/", "/static/"):
        r = get(server, listing, admin)
        assert r.status_code == 404 and "people.csv" not in r.text
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["referrer-policy"] == "no-referrer"


def test_pages_allow_only_their_own_style_by_hash(server):
    import base64
    import hashlib
    r = get(server, "/payees/a", TOKENS["a"])
    policy = r.headers["content-security-policy"]
    assert "unsafe-inline'" in policy.split("style-src-attr", 1)[1] and "script" not in policy
    style = re.search(r"<style>(.*?)</style>", r.text, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert policy.split("style-src ", 1)[1].split(";")[0] == f"'sha256-{digest}'"


def test_manager_column_of_the_payees_when_no_reports_to(tmp_path):
    """No `reports_to` input: a `manager_id` column of the payees table says who is below whom
    (through other managers too)."""
    from kamrules.portal.access import Grant
    from kamrules.portal.app import Portal
    plan = PLAN.replace("input reports_to { payee_id: Text  manager_id: Text  start_date: Date  end_date: optional Date }\n",
                        "").replace("{ payee_id: Text  name: Text }", "{ payee_id: Text  name: Text  manager_id: optional Text }")
    plan = plan.replace("below(owner_id, payee.id, close_date)", "owner_id == payee.id")
    (tmp_path / "p.kam").write_text(plan)
    data = tmp_path / "data"
    data.mkdir()
    (data / "people.csv").write_text("payee_id,name,manager_id\nceo,Zoe,\nm1,Marc,ceo\na,Alice,m1\nb,Bruno,m1\nx,Xavier,ceo\n")
    (data / "deals.csv").write_text("\n".join(DEALS) + "\n")
    portal = Portal(str(tmp_path / "p.kam"), str(data))
    assert portal.visible(Grant("manager", "m1", 2)) == {"m1", "a", "b"}
    assert portal.visible(Grant("manager", "ceo", 2)) == {"ceo", "m1", "a", "b", "x"}
    assert portal.visible(Grant("payee", "a", 2)) == {"a"} and portal.visible(Grant("admin", "", 2)) is None


DAY0 = dt.date(2025, 1, 1)


@st.composite
def reporting_lines(draw):
    """Lines of 6 people over 2025-01-01 + 0..200 days; a payee reports only to people of a
    lower number (no cycle), each payee's lines disjoint (no overlap)."""
    lines = []
    for p in range(1, 6):
        cuts = sorted(draw(st.sets(st.integers(0, 200), max_size=6)))
        for lo, hi in zip(cuts[::2], cuts[1::2] + [None]):
            if draw(st.booleans()):
                end = None if hi is None else DAY0 + dt.timedelta(days=hi - 1)
                if end is None or end >= DAY0 + dt.timedelta(days=lo):
                    lines.append((f"p{p}", f"p{draw(st.integers(0, p - 1))}", DAY0 + dt.timedelta(days=lo), end))
    return lines


@given(reporting_lines(), st.sampled_from(["2025-Q1", "2025-Q2"]))
def test_a_team_is_whoever_reports_below_on_some_day_of_the_periods(lines, quarter):
    """access.teams looks at the days a line starts or ends only; walking every day of the
    quarter gives the same teams."""
    from types import SimpleNamespace as NS

    from kamrules.core.calendar import Period
    from kamrules.portal.access import teams
    period = Period(dt.date(2025, 1 if quarter == "2025-Q1" else 4, 1), "quarter")
    rows = [NS(number=n, values={"payee_id": p, "manager_id": m, "start_date": s, "end_date": e})
            for n, (p, m, s, e) in enumerate(lines, 2)]
    got = teams(NS(payees_table="people"), {"reports_to": NS(path="reports_to.csv", rows=rows)}, [period])
    want: dict = {}
    day = period.start
    while day <= period.end:
        up = {p: m for p, m, s, e in lines if s <= day and (e is None or day <= e)}
        for p in up:
            cur = p
            while cur in up:
                cur = up[cur]
                want.setdefault(cur, set()).add(p)
        day += dt.timedelta(days=1)
    assert got == want


def test_a_bad_tokens_file_names_each_row_and_column(tmp_path):
    plan, data, tokens = write_case(tmp_path)
    tokens.write_text("token,payee_id,role\n"
                      "admin-token-0000000001,,admin\n"
                      "admin-token-0000000001,a,payee\n"      # row 3: the token of row 2
                      "short-tok,a,payee\n"                   # row 4: 9 characters
                      "payee-b-token-00000005,b,boss\n"       # row 5: no such role
                      ",b,payee\n"                            # row 6: empty
                      "payee-b-token-0000000+,b,payee\n"      # row 7: a + in it
                      "payee-c-token-00000006,,manager\n")    # row 8: a manager who is nobody
    r = run_cli("serve", plan, "--data", data, "--tokens", tokens)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    for row, col, words in [(3, "token", "the token of row 2 again"), (4, "token", "9 characters, fewer than 16"),
                            (5, "role", "unknown role `boss`"), (6, "token", "empty token"),
                            (7, "token", "a character other than"), (8, "payee_id", "a manager needs a payee_id")]:
        assert f"error[KR766]: {tokens} row {row}, column `{col}`: " in r.stderr and words in r.stderr, row
    assert "admin-token" not in r.stderr and "short-tok" not in r.stderr and "payee-b-token" not in r.stderr
    tokens.write_text("token,payee_id,role\nadmin-token-0000000001,m3,manager\n")
    r = run_cli("serve", plan, "--data", data, "--tokens", tokens)
    assert r.returncode == 1 and f"error[KR766]: {tokens} row 2, column `payee_id`: `m3` is no payee" in r.stderr
    tokens.write_text("token;payee_id;role\n")
    r = run_cli("serve", plan, "--data", data, "--tokens", tokens)
    assert "error[KR767]" in r.stderr and "lacks the columns `token`, `payee_id`, `role`" in r.stderr
    r = run_cli("serve", plan, "--data", data, "--tokens", tmp_path / "none.csv")
    assert r.returncode == 1 and "error[KR767]" in r.stderr and "cannot be read" in r.stderr
    for raw, words in [(b"token,payee_id,role\n\xff\n", "is not UTF-8 text (byte 21)"),
                       (b"token,payee_id,role\n\n", "holds no token")]:
        tokens.write_bytes(raw)
        r = run_cli("serve", plan, "--data", data, "--tokens", tokens)
        assert r.returncode == 1 and "error[KR767]" in r.stderr and words in r.stderr, r.stderr
    # a manager on a plan with no reports_to input and no manager column: KR768
    tokens.write_text("token,payee_id,role\nmanager-token-0000000001,kam-001,manager\n")
    r = run_cli("serve", PLANS / "abtasty-kam.kam", "--data", EXAMPLES / "01-abtasty-nrr-upsell", "--tokens", tokens)
    assert r.returncode == 1 and "error[KR768]" in r.stderr and "kam-001 is a manager" in r.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "portal.example.com"])
def test_a_network_host_without_tokens_is_refused(tmp_path, host):
    plan, data, _ = write_case(tmp_path)
    r = run_cli("serve", plan, "--data", data, "--host", host)
    assert r.returncode == 1 and f"error[KR765]: --host {host} without --tokens" in r.stderr


def test_loopback_hosts():
    from kamrules.cli.serve import loopback
    assert all(loopback(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST"))
    assert not any(loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "example.com", ""))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_command_serves_with_tokens_and_logs_no_token(tmp_path):
    """`python -m kamrules serve --tokens` as a user starts it: sign in, a 403, and nothing it
    printed holds a token (uvicorn's access log is off)."""
    plan, data, tokens = write_case(tmp_path)
    port = _free_port()
    child = subprocess.Popen([sys.executable, "-m", "kamrules", "serve", str(plan), "--data", str(data),
                              "--tokens", str(tokens), "--port", str(port), "--period", "2025-Q1"],
                             cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert child.poll() is None, child.communicate(timeout=10)
            assert time.monotonic() < deadline, "the server did not answer within 60 s"
            try:
                r = get(base, f"/payees/b?token={TOKENS['b']}")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert r.status_code == 200 and moves_to(r) == "/payees/b"
        assert get(base, "/payees/a", TOKENS["b"]).status_code == 403
        assert get(base, "/payees/b", TOKENS["b"]).status_code == 200
    finally:
        child.terminate()
        out, err = child.communicate(timeout=30)
    assert f"kamrules portal on {base}/, 5 tokens" in out
    assert not any(t in out + err for t in TOKENS.values())


def test_headless_chromium_signs_in_by_the_link_and_reads_the_statement(tmp_path):
    browser = chromium()
    if browser is None:
        pytest.skip("no chromium binary: install Debian's `chromium` (done by .ci/run when apt works)")
    plan, data = PLANS / "abtasty-kam.kam", EXAMPLES / "01-abtasty-nrr-upsell"
    tokens = tmp_path / "tokens.csv"
    tokens.write_text("token,payee_id,role\ncamille-token-000000001,kam-001,payee\n")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr",
             "--window-size=1280,900", "--virtual-time-budget=10000"]  # time for the page's own refresh
    with running(portal_app(plan, data, tokens, period=())) as base:
        link = f"{base}/payees/kam-001?token=camille-token-000000001"
        # the link typed in, and the link followed from another site (a file page here, a
        # webmail in life: a cross-site navigation, on which no SameSite=Strict cookie goes)
        launcher = tmp_path / "mail.html"
        launcher.write_text(f'<html><head><meta http-equiv="refresh" content="0;url={link}"></head></html>')
        # the statement computed once before the browser asks for it: --dump-dom does not wait
        # for a slow first answer (on a loaded machine the dump came before the page)
        assert get(base, "/payees/kam-001", token="camille-token-000000001").status_code == 200
        for k, start in enumerate((link, launcher.as_uri())):
            for attempt in range(3):  # a dump taken before the refresh landed is taken again
                dom = subprocess.run([browser, *flags, f"--user-data-dir={tmp_path / f'profile{k}-{attempt}'}",
                                      "--dump-dom", start], capture_output=True, text=True, timeout=120)
                assert dom.returncode == 0, dom.stderr[-2000:]
                if "<h1>" in dom.stdout:
                    break
            assert "<h1>Camille Martin</h1>" in dom.stdout and 'data-component="nrr"' in dom.stdout, (start, dom.stdout[:500])
            assert "Hugo Bernard" not in dom.stdout and "not signed in" not in dom.stdout
            assert "Content Security Policy" not in dom.stderr, dom.stderr[-2000:]  # the page's own style is allowed
