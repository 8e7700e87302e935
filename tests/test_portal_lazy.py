"""The portal computes each page when it is first asked for, against a running server (uvicorn
in a thread, asked by httpx, as tests/test_portal_access.py does): a statement page builds that
payee's statement only, from that payee's rows (the whole data never loaded by the strict
loader, as `statement --payee`), and is the very page `statement --payee ID --format html`
writes; a data change is seen by the next page; two first requests of one page compute it
once; a data error with --tokens is a 500 page until fixed; /logout clears the cookie."""
from __future__ import annotations

import shutil
import threading

import pytest

from conftest import EXAMPLES, PLANS, run_cli

httpx = pytest.importorskip("httpx", reason="the `portal` extra (starlette, uvicorn, httpx) is not installed: "
                            "pip install -e '.[test,portal]'")
pytest.importorskip("uvicorn", reason="the `portal` extra is not installed: pip install -e '.[test,portal]'")

from test_portal_access import TOKENS, TOKENS_CSV, get, running, write_case  # noqa: E402

PLAN, DATA = PLANS / "abtasty-kam.kam", EXAMPLES / "01-abtasty-nrr-upsell"


def without_switch(text: str) -> str:
    """The page without the portal's language switch (the rest is the statement's)."""
    return text.replace(text[text.index("<nav>"):text.index("</nav>") + 6], "")


def statement_cli(data, payee, lang="en", *extra) -> str:
    res = run_cli("statement", PLAN, "--data", data, "--payee", payee, "--format", "html", "--locale", lang, *extra)
    assert res.returncode == 0, res.stderr
    return res.stdout


@pytest.fixture
def data(tmp_path):
    shutil.copytree(DATA, tmp_path / "data")
    return tmp_path / "data"


def test_a_statement_page_builds_that_payee_only_from_their_rows(data, monkeypatch):
    from kamrules.portal.app import Portal, make_app
    from kamrules.run.session import Session

    def refused(self):
        raise AssertionError("the whole data loaded by the strict loader")

    traced, trace = [], Session.trace
    monkeypatch.setattr(Session, "load", refused)
    monkeypatch.setattr(Session, "trace", lambda self, ids: traced.append(set(ids)) or trace(self, ids))
    portal = Portal(str(PLAN), str(data))
    with running(make_app(portal)) as base:
        first = get(base, "/payees/kam-001")
        second = get(base, "/payees/kam-002?locale=fr")  # the same session, another payee
        missing = get(base, "/payees/kam-999")
    assert first.status_code == 200 and second.status_code == 200 and missing.status_code == 404
    assert traced == [{"kam-001"}, {"kam-002"}]  # no other payee's derivation
    assert portal.built["statement"] == 2 and "team" not in portal.built and "people" not in portal.built
    monkeypatch.undo()
    # the pages `statement --payee` writes, byte for byte (the second in its locale)
    assert without_switch(first.text) == statement_cli(data, "kam-001")
    assert without_switch(second.text) == statement_cli(data, "kam-002", "fr")


def test_with_a_period_every_page_shows_that_period_as_the_command_does(data):
    """A second payee on the session kept: the periods shown stay those asked (2025-Q2), the
    earlier ones of the year counted in the year to date only."""
    from kamrules.portal.app import Portal, make_app
    with running(make_app(Portal(str(PLAN), str(data), ["2025-Q2"]))) as base:
        pages = {pid: get(base, f"/payees/{pid}").text for pid in ("kam-002", "kam-001")}
    for pid, text in pages.items():
        assert without_switch(text) == statement_cli(data, pid, "en", "--period", "2025-Q2"), pid


def test_a_changed_deal_amount_is_on_the_next_page(data):
    from kamrules.portal.app import Portal, make_app
    portal = Portal(str(PLAN), str(data))
    with running(make_app(portal)) as base:
        before = get(base, "/payees/kam-001").text
        assert get(base, "/payees/kam-001").text == before and portal.built["statement"] == 1  # kept
        deals = data / "deals.csv"
        text = deals.read_text(encoding="utf-8")
        assert "dl-0001,acc-101,kam-001,expansion,abtasty,60000," in text
        deals.write_text(text.replace("kam-001,expansion,abtasty,60000,", "kam-001,expansion,abtasty,90000,"),
                         encoding="utf-8")
        after = get(base, "/payees/kam-001").text
    assert portal.built["statement"] == 2 and after != before
    assert "90,000" in after and "90,000" not in before  # the deal, as the statement lists it
    assert without_switch(after) == statement_cli(data, "kam-001")  # computed again on the new data


def test_two_first_requests_of_one_page_compute_it_once(data, monkeypatch):
    from kamrules.portal import app as app_module
    from kamrules.portal.app import Portal, make_app
    started, calls, real = threading.Event(), [], app_module.payee_built

    def slow(*args, **kwargs):  # the first computation waits until the second request is in
        calls.append(args[1])
        started.set()
        release.wait(10)
        return real(*args, **kwargs)

    release = threading.Event()
    monkeypatch.setattr(app_module, "payee_built", slow)
    portal = Portal(str(PLAN), str(data))
    with running(make_app(portal)) as base:
        answers = []
        threads = [threading.Thread(target=lambda: answers.append(get(base, "/payees/am-003").text))
                   for _ in range(2)]
        threads[0].start()
        assert started.wait(30)
        threads[1].start()
        threading.Timer(0.5, release.set).start()  # the second request waits on the first's lock
        for t in threads:
            t.join(60)
    assert calls == ["am-003"] and len(answers) == 2 and answers[0] == answers[1]
    assert portal.built["statement"] == 1


def test_with_tokens_a_data_error_is_a_500_page_until_fixed(tmp_path):
    """serve --tokens on data in error starts (cmd_serve's check of the tokens lets a data
    error through), the admin reads the diagnostic, a payee only that there is an error;
    fixed, the next request serves the page."""
    from kamrules.portal.access import read_tokens
    from kamrules.portal.app import Portal, make_app
    plan, data, tokens = write_case(tmp_path)
    deals = data / "deals.csv"
    good = deals.read_text(encoding="utf-8")
    deals.write_text(good.replace("d3,b,500,", "d3,b,five hundred,"), encoding="utf-8")
    portal = Portal(str(plan), str(data), ["2025-Q1"])
    app = make_app(portal, read_tokens(str(tokens)))
    portal.check_tokens()  # as cmd_serve does before serving: no stop on a data error
    with running(app) as base:
        admin = get(base, "/payees/b", TOKENS["admin"])
        payee = get(base, "/payees/b", TOKENS["b"])
        deals.write_text(good, encoding="utf-8")
        fixed = get(base, "/payees/b", TOKENS["b"])
    assert admin.status_code == 500 and "error[KR" in admin.text and "deals.csv" in admin.text
    assert "Traceback" not in admin.text + payee.text
    assert payee.status_code == 500 and "five hundred" not in payee.text
    assert fixed.status_code == 200 and "Bruno Vente" in fixed.text


def test_logout_clears_the_cookie_and_goes_to_the_sign_in_page(tmp_path):
    from kamrules.portal.access import read_tokens
    from kamrules.portal.app import Portal, make_app
    plan, data, tokens = write_case(tmp_path)
    assert TOKENS["a"] in TOKENS_CSV
    with running(make_app(Portal(str(plan), str(data), ["2025-Q1"]), read_tokens(str(tokens)))) as base:
        with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as c:
            assert c.get(f"/payees/a?token={TOKENS['a']}").status_code == 200  # the sign-in link
            assert c.cookies.get("kamrules_token") == TOKENS["a"]
            own = c.get("/payees/a")  # by the cookie
            assert own.status_code == 200 and '<a href="/logout" rel="nofollow">Sign out</a>' in own.text
            fr = c.get("/payees/a?locale=fr").text
            assert '<a href="/logout?locale=fr" rel="nofollow">Se déconnecter</a>' in fr
            out = c.get("/logout?locale=fr")
            assert out.status_code == 303 and out.headers["location"] == "/?locale=fr"
            cookie = out.headers["set-cookie"]
            assert cookie.startswith('kamrules_token="";') and "Max-Age=0" in cookie and "Path=/" in cookie
            assert "kamrules_token" not in c.cookies
            signin = c.get(out.headers["location"])
            assert signin.status_code == 401 and '<html lang="fr">' in signin.text
            assert c.get("/payees/a").status_code == 401


def test_a_locale_switch_renders_the_statement_again_without_computing_it(data):
    """/payees/kam-001 in English, then ?locale=fr: one build (the derivation, the what-ifs'
    re-runs) for both; each page is what `statement --payee --locale` writes in its language."""
    from kamrules.portal.app import Portal, make_app
    portal = Portal(str(PLAN), str(data))
    with running(make_app(portal)) as base:
        en = get(base, "/payees/kam-001").text
        fr = get(base, "/payees/kam-001?locale=fr").text
    assert portal.built["statement"] == 1
    assert '<html lang="en">' in en and '<html lang="fr">' in fr
    assert without_switch(en) == statement_cli(data, "kam-001")
    assert without_switch(fr) == statement_cli(data, "kam-001", "fr")

