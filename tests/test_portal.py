"""`kamrules serve`'s portal (kamrules/portal/app.py) through Starlette's TestClient: the
index lists the payees by name, a statement is the same page `statement` writes (with a
language switch), unknown payees are 404 with no data, pages carry a strict CSP, and the
pages are computed again when the data change, not otherwise."""
from __future__ import annotations

import os
import shutil

import pytest

from conftest import EXAMPLES, PLANS, run_cli

testclient = pytest.importorskip("starlette.testclient", reason="the `portal` extra (starlette, httpx) "
                                 "is not installed: pip install -e '.[test,portal]'")

PLAN, DATA = PLANS / "abtasty-kam.kam", EXAMPLES / "01-abtasty-nrr-upsell"


@pytest.fixture
def client(tmp_path):
    from kamrules.portal.app import Portal, make_app
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    portal = Portal(str(PLAN), str(data))
    return testclient.TestClient(make_app(portal)), portal, data


def test_index_statement_team_and_headers(client):
    c, portal, data = client
    r = c.get("/")
    assert r.status_code == 200
    assert '<a href="/payees/kam-001">Camille Martin</a>' in r.text and 'href="/team"' in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]
    r = c.get("/payees/kam-002?locale=fr")
    assert r.status_code == 200 and '<html lang="fr">' in r.text
    assert '<a href="/payees/kam-002?locale=en">en</a>' in r.text
    # the page is the statement `kamrules statement` writes, plus the switch
    cli = run_cli("statement", PLAN, "--data", data, "--payee", "kam-002", "--format", "html", "--locale", "fr")
    assert r.text.replace(r.text[r.text.index("<nav>"):r.text.index("</nav>") + 6], "") == cli.stdout
    team = c.get("/team")
    assert team.status_code == 200 and '<a href="/payees/kam-001">kam-001 (Camille Martin)</a>' in team.text


def test_unknown_payee_is_404_without_data(client):
    c, _, _ = client
    r = c.get("/payees/kam-999")
    assert r.status_code == 404 and "EUR" not in r.text and "€" not in r.text and "kam-001" not in r.text
    assert c.get("/payees/").status_code == 404  # no listing


def test_pages_computed_again_only_when_the_data_change(client):
    c, portal, data = client
    c.get("/payees/kam-001")
    c.get("/payees/kam-002")
    assert portal.computations == 1
    people = data / "people.csv"
    text = people.read_text(encoding="utf-8").replace("Camille Martin", "Camille Durand")
    people.write_text(text, encoding="utf-8")
    st = os.stat(people)
    os.utime(people, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    r = c.get("/payees/kam-001")
    assert portal.computations == 2 and "<h1>Camille Durand</h1>" in r.text


def test_plan_error_is_a_diagnostic_page(client, tmp_path):
    from kamrules.portal.app import Portal, make_app
    bad = tmp_path / "bad.kam"
    bad.write_text(PLAN.read_text(encoding="utf-8") + "\ncomponent broken = nope\n", encoding="utf-8")
    c = testclient.TestClient(make_app(Portal(str(bad), str(client[2]))))
    r = c.get("/")
    assert r.status_code == 500 and "error[KR" in r.text and "Traceback" not in r.text


def test_with_a_ledger_pages_are_settled_as_statement_and_team_are(tmp_path):
    """`serve --ledger`: the served statement is `statement --ledger`'s page (plus the locale
    switch), the team page has the ledger section of `team --ledger`, and a change in the
    ledger folder (here: a reopening) computes the pages again."""
    from kamrules.portal.app import Portal, make_app
    root = PLANS.parent / "docs" / "examples"
    ledger, data = tmp_path / "ledger", root / "media-corrected"
    shutil.copytree(root / "ledger-media", ledger)
    plan = PLANS / "media-advance.kam"
    portal = Portal(str(plan), str(data), ["2025-06"], ledger=str(ledger))
    c = testclient.TestClient(make_app(portal))
    r = c.get("/payees/med-001?locale=en")
    assert r.status_code == 200
    cli = run_cli("statement", plan, "--data", data, "--payee", "med-001", "--period", "2025-06",
                  "--ledger", ledger, "--format", "html", "--locale", "en")
    assert cli.returncode == 0, cli.stderr
    assert r.text.replace(r.text[r.text.index("<nav>"):r.text.index("</nav>") + 6], "") == cli.stdout
    team = c.get("/team").text
    assert "<h2>Ledger</h2>" in team and "2025-05 closed" in team
    assert run_cli("ledger", "reopen", ledger, "--period", "2025-05", "--reason", "a late invoice").returncode == 0
    after = c.get("/team").text
    assert "2025-05 open" in after and "2025-05 closed" not in after
    assert portal.computations == 2


def test_serve_refuses_a_ledger_that_is_not_a_folder(tmp_path):
    r = run_cli("serve", PLAN, "--data", DATA, "--ledger", tmp_path / "missing")
    assert r.returncode != 0 and "KR801" in r.stderr and "Traceback" not in r.stderr
