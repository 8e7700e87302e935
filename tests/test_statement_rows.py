"""What a KAM reads (issue 16), the gaps closed after the first pass: headline shares with
one decimal (exact values stay in the derivation), the rows credited through a table lookup
with the matched row in words (the colour grid), the portal's index in the chosen locale."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings, strategies as st

from conftest import EXAMPLES, PLANS, run_cli
from kamrules.report import i18n


def test_shares_have_one_decimal_half_up_in_each_locale():
    fr, en = i18n.get("fr"), i18n.get("en")
    assert fr.share(Decimal("1.125")) == "112,5\u202f%"
    assert en.share(Decimal("1.125")) == "112.5%"
    # 6,510 of 12,000 is 54.25%: half up to one decimal
    assert en.share(Decimal(6510) / Decimal(12000)) == "54.3%"
    assert en.share(Decimal("1.1751111")) == "117.5%"
    assert en.share(Decimal(2)) == "200%"


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=-5, max_value=5, places=8))
def test_an_attainment_is_never_shown_above_its_value(v):
    """Rounded down to a tenth of a point: never reads as a threshold not reached."""
    text = i18n.get("en").attained(v)
    shown = Decimal(text.rstrip("%").replace(",", ""))
    assert shown <= v * 100 < shown + Decimal("0.1")


def test_headline_shares_one_decimal_derivation_exact():
    r = run_cli("statement", PLANS / "abtasty-kam.kam", "--data", EXAMPLES / "01-abtasty-nrr-upsell",
                "--payee", "kam-002", "--format", "text")
    assert r.returncode == 0, r.stderr
    # 6,510 of a quarter's 12,000 and of the year's 48,000 (13.5625%)
    assert "you earned 54.3% of it" in r.stdout
    assert "13.6% of the year's on-target variable" in r.stdout
    assert "13.5625" not in r.stdout and "54.25" not in r.stdout


def _portal(tokens=None, lang="en"):
    import pytest
    testclient = pytest.importorskip("starlette.testclient", reason="the `portal` extra (starlette, httpx) "
                                     "is not installed: pip install -e '.[test,portal]'")
    from kamrules.portal.app import Portal, make_app
    portal = Portal(str(PLANS / "abtasty-kam.kam"), str(EXAMPLES / "01-abtasty-nrr-upsell"), lang=lang)
    return testclient.TestClient(make_app(portal, tokens))


def test_portal_index_and_messages_follow_the_locale_switch():
    c = _portal()
    fr = c.get("/?locale=fr")
    assert fr.status_code == 200 and fr.text.startswith('<!DOCTYPE html>\n<html lang="fr">')
    # the index's words from the catalog, its links keep the language, a switch back to en
    assert "<h2>Relevés</h2>" in fr.text and '<a href="/team?locale=fr">Page d’équipe</a>' in fr.text
    assert '<a href="/payees/kam-001?locale=fr">Camille Martin</a>' in fr.text
    assert '<a href="/?locale=en">en</a>' in fr.text and "<b>fr</b>" in fr.text
    en = c.get("/")
    assert en.text.startswith('<!DOCTYPE html>\n<html lang="en">') and "<h2>Statements</h2>" in en.text
    assert '<a href="/payees/kam-001">Camille Martin</a>' in en.text and '<a href="/team">Team page</a>' in en.text
    # a statement's link home keeps its language; the 404 is said in it
    st = c.get("/payees/kam-002?locale=fr")
    assert '<a href="/?locale=fr" title="Tous les relevés">⌂</a>' in st.text
    gone = c.get("/payees/nobody?locale=fr")
    assert gone.status_code == 404 and '<html lang="fr">' in gone.text and "Aucun bénéficiaire" in gone.text
    # a portal started in French: its pages are French without asking
    assert '<html lang="fr">' in _portal(lang="fr").get("/").text


def test_portal_sign_in_and_refusals_in_the_locale(tmp_path):
    from kamrules.portal.access import read_tokens
    path = tmp_path / "tokens.csv"
    path.write_text("token,payee_id,role\nq3K9xWm2Lp7RtV4nZs8Yd1aE,kam-001,payee\n", encoding="utf-8")
    c = _portal(read_tokens(str(path)))
    r = c.get("/?locale=fr")
    assert r.status_code == 401 and '<html lang="fr">' in r.text and "Vous n’êtes pas connecté." in r.text
    assert "<code>Authorization: Bearer</code>" in r.text
    r = c.get("/payees/kam-002?locale=fr", headers={"Authorization": "Bearer q3K9xWm2Lp7RtV4nZs8Yd1aE"})
    assert r.status_code == 403 and '<html lang="fr">' in r.text and "ne vous est pas destinée" in r.text
    r = c.get("/?locale=fr&token=q3K9xWm2Lp7RtV4nZs8Yd1aE", follow_redirects=False)
    assert r.status_code == 200 and '<html lang="fr">' in r.text and "Connecté." in r.text


def _spaces(text: str) -> str:
    """French numbers are grouped with narrow no-break spaces: plain spaces to compare."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


GRID, GRID_DATA = PLANS / "equipment-colour-grid.kam", EXAMPLES / "05-colour-grid"


def test_colour_grid_rows_say_the_colour_discount_and_rate():
    """Each credited deal with the grid row it matched, in words; by hand from deals.csv and
    the plan's table: eq-dl-003 65,000 at 12% discount is orange (10% to < 20%), 2.5%: 1,625.00;
    eq-dl-004 30,000 at 25% is red, 1%: 300.00."""
    fr = run_cli("statement", GRID, "--data", GRID_DATA, "--payee", "eq-001", "--format", "md", "--locale", "fr")
    assert fr.returncode == 0, fr.stderr
    fr.stdout = _spaces(fr.stdout)
    assert "| date | ligne | montant | colour_rate | crédité |" in fr.stdout
    assert "| 19 mars 2025 | eq-dl-003 | 65 000,00 € | orange, remise 12 %, taux 2,5 % | 1 625,00 € |" in fr.stdout
    assert "| 27 mars 2025 | eq-dl-004 | 30 000,00 € | red, remise 25 %, taux 1 % | 300,00 € |" in fr.stdout
    assert "colour_rate row" not in fr.stdout.split("Comment c’est calculé")[0]
    assert "colour_bonus paie 9 125,00 € ; 4 lignes créditées" in fr.stdout  # eq-dl-005: under the floor
    en = run_cli("statement", GRID, "--data", GRID_DATA, "--payee", "eq-001", "--format", "md")
    assert "| March 4, 2025 | eq-dl-001 | €48,000.00 | green, discount 2%, rate 5% | €2,400.00 |" in en.stdout
    text = run_cli("statement", GRID, "--data", GRID_DATA, "--payee", "eq-001", "--format", "text")
    assert "yellow, discount 7%, rate 4%" in text.stdout and "€4,800.00" in text.stdout


def test_rows_of_a_sum_over_split_lines_show_the_amount_and_the_share():
    """split-credit: a line's credit is deals[deal_id].amount * share * 6%; by hand
    s-02: 33,333.00 * 50% * 6% = 999.99."""
    data = next(p for p in sorted((PLANS / "tests" / "split-credit").iterdir()) if p.is_dir())
    payee = data.joinpath("people.csv").read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    r = run_cli("statement", PLANS / "split-credit.kam", "--data", data, "--payee", payee, "--format", "md",
                "--locale", "fr")
    assert r.returncode == 0, r.stderr
    r.stdout = _spaces(r.stdout)
    assert "| ligne | deals\\[deal_id\\].amount | part | crédité |" in r.stdout
    assert "| s-02 | 33 333,00 € | 50 % | 999,99 € |" in r.stdout


def test_colour_grid_html_in_headless_chromium_at_390_and_1280(tmp_path):
    import pytest
    from conftest import chromium
    from test_statement import chromium_overflow
    browser = chromium()
    if browser is None:
        pytest.skip("no chromium binary: install Debian's `chromium` (done by .ci/run when apt works)")
    page = tmp_path / "eq-001.html"
    r = run_cli("statement", GRID, "--data", GRID_DATA, "--payee", "eq-001", "-o", page, "--locale", "fr")
    assert r.returncode == 0, r.stderr
    # the tables of rows are in collapsed <details>: opened, so that their width is measured
    page.write_text(page.read_text(encoding="utf-8").replace("<details>", "<details open>"), encoding="utf-8")
    dom = chromium_overflow(browser, page, tmp_path)
    assert "orange, remise 12&nbsp;%, taux 2,5&nbsp;%" in dom.replace("\u202f", "&nbsp;")


def test_colour_grid_deal_under_the_margin_floor_is_left_out_with_its_margin():
    """eq-dl-005 is won in March but its margin (14%) is under margin_floor (15%): the sum's
    own `where` leaves it out; the statement says so with both values."""
    r = run_cli("statement", GRID, "--data", GRID_DATA, "--payee", "eq-001", "--format", "md")
    assert r.returncode == 0, r.stderr
    left = r.stdout.split("Rows left out of colour_bonus:")[1].split("How it is computed")[0]
    # in words since the third audit (tests/test_audit3.py), was `margin >= margin_floor` is false: ...
    assert "| eq-dl-005 | €90,000.00 | margin 14% is below margin_floor 15% |" in left


def test_a_payee_never_reads_the_rows_of_another_payee():
    import csv
    with open(GRID_DATA / "deals.csv", encoding="utf-8") as fh:
        others = {row["deal_id"] for row in csv.DictReader(fh) if row["owner_id"] != "eq-002"}
    r = run_cli("statement", GRID, "--data", GRID_DATA, "--payee", "eq-002", "--format", "md")
    assert r.returncode == 0, r.stderr
    assert others and not [d for d in others if d in r.stdout]


def test_rows_left_out_by_their_date_only_near_the_period():
    """media-advance, med-001, March 2025: of the invoices left out by their date, only those
    dated at most NEAR_DAYS (7) days outside the month are listed: 1 March - 7 days = 22
    February, so inv-00004 (23 February) is, inv-00003 (14 February) is not; 31 March + 7 days
    = 7 April, so inv-00006 (5 April) is, inv-00007 (14 April) is not (each is credited in its
    own month's statement)."""
    r = run_cli("statement", PLANS / "media-advance.kam", "--data", EXAMPLES / "02-media-advance",
                "--payee", "med-001", "--period", "2025-03", "--format", "text")
    assert r.returncode == 0, r.stderr
    left = [line for line in r.stdout.splitlines() if "is outside 2025-03" in line]
    assert any("inv-00004" in line for line in left) and any("inv-00006" in line for line in left)
    assert not any(n in line for line in left for n in ("inv-00002", "inv-00003", "inv-00007", "inv-00008"))
