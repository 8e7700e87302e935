"""Statement defects of issue 16 found on the bundled cases, each checked against an outcome
computed apart: `statement --all` writes what `statement --payee` writes on a pooled plan
(pharma-rire: the envelope line was in the first payee's statement only); a marginal curve
says what it pays (the plan re-run on changed rows), not its row's rate as money
(`tiers donne 0,05 €`); the headline compares the year to date with the whole year's
on-target variable; the sweep's labels are translated and numbers locale-formatted."""
from __future__ import annotations

import csv
import re
import shutil
from decimal import Decimal

import pytest

from conftest import EXAMPLES, PLANS, run_cli

PHARMA_PLAN, PHARMA_DATA = PLANS / "pharma-rire.kam", PLANS / "tests" / "pharma-rire" / "acceptance"
MT_PLAN, MT_DATA = EXAMPLES / "marginal-tiers" / "plan.kam", EXAMPLES / "marginal-tiers"


def _payees(data) -> list:
    with open(data / "people.csv", encoding="utf-8") as fh:
        return [row["payee_id"] for row in csv.DictReader(fh)]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_pharma_all_equals_payee_for_every_payee(tmp_path, lang):
    out = tmp_path / "all"
    r = run_cli("statement", PHARMA_PLAN, "--data", PHARMA_DATA, "--all", "-o", out, "--format", "text",
                "--locale", lang)
    assert r.returncode == 0, r.stderr
    ids = _payees(PHARMA_DATA)
    assert len(ids) == 7
    envelope = "envelope is 70,000.00 EUR" if lang == "en" else "envelope vaut 70\u202f000,00\u00a0€"
    for pid in ids:
        one = run_cli("statement", PHARMA_PLAN, "--data", PHARMA_DATA, "--payee", pid, "--format", "text",
                      "--locale", lang)
        assert one.returncode == 0, one.stderr
        text = (out / f"{pid}.txt").read_text(encoding="utf-8")
        assert text == one.stdout, pid
        # every payee's share is of the 70,000 EUR envelope (plan line 20): each statement says so
        assert envelope in text and "20 | param envelope = 70000 EUR" in text, pid


def _plain(text: str) -> str:
    """French text written with plain spaces, in Babel's signs: a narrow no-break space between
    thousands, a no-break space before the euro sign."""
    return re.sub(r"(?<=\d) (?=\d{3}(?!\d))", "\u202f", text).replace(" €", "\u00a0€")


def _run_amount(plan, data, payee) -> Decimal:
    r = run_cli("run", plan, "--data", data)
    assert r.returncode == 0, r.stderr
    return next(Decimal(row["amount"]) for row in csv.DictReader(r.stdout.splitlines())
                if row["payee_id"] == payee and row["component"] == "commission")


def _with_deal(tmp_path, deal: str, delta: Decimal):
    """The marginal-tiers data with `delta` more on one deal row."""
    data = tmp_path / "data"
    shutil.copytree(MT_DATA, data)
    rows = list(csv.DictReader((data / "deals.csv").open(encoding="utf-8")))
    for row in rows:
        if row["deal_id"] == deal:
            row["amount"] = str(Decimal(row["amount"]) + delta)
    with open(data / "deals.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return data


def test_marginal_curve_says_what_it_pays(tmp_path):
    r = run_cli("statement", MT_PLAN, "--data", MT_DATA, "--payee", "ana", "--locale", "fr", "--format", "text")
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert "0,05 €" not in text and "0,08 €" not in text  # a row's rate shown as money
    # ana booked 80,000: 80,000 x 5% = 4,000 (all in the first slice)
    assert _plain("tiers donne 4 000,00 € à bookings = 80 000,00 €") in text
    # at the next threshold, 100,000: 100,000 x 5% = 5,000
    assert _plain("la ligne 2 (| 100000 to < 200000 |) donne 5 000,00 €") in text
    # the what-ifs, re-run by hand: the plan on the data with d1 carrying 800 / 20,000 more
    base = _run_amount(MT_PLAN, MT_DATA, "ana")
    assert base == Decimal("4000.00")
    for delta, sentence in ((Decimal(800), "800,00\u00a0€ de plus en bookings avant le 31 mars 2025 paierait {} de plus"),
                            (Decimal(20000), "20\u202f000,00\u00a0€ de plus en bookings avant le 31 mars 2025 atteint le "
                                             "palier suivant (tiers : ligne 2 : | 100000 to < 200000 |) et paierait "
                                             "{} de plus")):
        changed = _with_deal(tmp_path / str(delta), "d1", delta)
        gain = _run_amount(MT_PLAN, changed, "ana") - base
        assert gain == delta * Decimal("0.05")  # still in the 5% slice (20,000 reaches 100,000 exactly)
        shown = f"{gain:,.2f}".replace(",", "\u202f").replace(".", ",") + "\u00a0€"
        assert sentence.format(shown) in text, (delta, shown)


def test_marginal_curve_in_english_at_the_top_tier():
    r = run_cli("statement", MT_PLAN, "--data", MT_DATA, "--payee", "cid", "--format", "text")
    assert r.returncode == 0, r.stderr
    # cid: 230,000 = 5,000 + 8,000 + 30,000 x 12% = 16,600, what `run` pays
    assert _run_amount(MT_PLAN, MT_DATA, "cid") == Decimal("16600.00")
    assert "tiers gives €16,600.00 at bookings = €230,000.00" in r.stdout


def _headlines(plan, data, payee, lang) -> dict:
    """period -> the year-to-date line of the text statement."""
    r = run_cli("statement", plan, "--data", data, "--payee", payee, "--format", "text", "--locale", lang)
    assert r.returncode == 0, r.stderr
    out, period = {}, None
    for line in r.stdout.splitlines():
        if line[:1].isdigit():
            period = line.split(" ")[0]
        elif line.strip().startswith(("Year to date", "Cumul de l’année")):
            out[period] = line.strip()
    return out


def test_year_to_date_against_the_whole_years_on_target():
    # quarterly (abtasty): kam-001's on-target is 40,000 / 4 a quarter; the year's, 40,000;
    # Q1 earned 18,600: 46.5% of the year, 186% of the one quarter to date
    got = _headlines(PLANS / "abtasty-kam.kam", EXAMPLES / "01-abtasty-nrr-upsell", "kam-001", "fr")
    assert got["2025-Q1"] == _plain("Cumul de l’année (depuis 2025-Q1) : 18 600,00 € · 46,5\u202f% de la variable "
                                    "cible de l’année (40 000,00 €) · 186\u202f% de la variable cible à date "
                                    "(10 000,00 €)")
    # monthly (media-advance): med-001's on-target is 12,000 / 12 = 1,000 a month, 12,000 a
    # year; paid 750 a month plus the regularisations, to date by March 3,000 = 25% of the year
    got = _headlines(PLANS / "media-advance.kam", EXAMPLES / "02-media-advance", "med-001", "en")
    assert len(got) == 12
    assert got["2025-03"] == ("Year to date (from 2025-01): €3,000.00 · 25% of the year's on-target variable "
                              "(€12,000.00) · 100% of the on-target variable to date (€3,000.00)")
    run = run_cli("run", PLANS / "media-advance.kam", "--data", EXAMPLES / "02-media-advance")
    year = sum(Decimal(row["amount"]) for row in csv.DictReader(run.stdout.splitlines())
               if row["payee_id"] == "med-001" and row["component"] == "total")
    pct = f"{year / 12000 * 100:f}".rstrip("0").rstrip(".")
    # December: the year to date is the year; the to-date target is the year's (said once)
    assert got["2025-12"] == f"Year to date (from 2025-01): €{year:,.2f} · {pct}% of the year's on-target " \
                             "variable (€12,000.00)"


def _text(plan: str, case: str, payee: str, lang: str):
    """The text statement of a payee on a plan test case (plans/tests/PLAN/CASE)."""
    r = run_cli("statement", PLANS / f"{plan}.kam", "--data", PLANS / "tests" / plan / case, "--payee", payee,
                "--format", "text", "--locale", lang)
    assert r.returncode == 0, r.stderr
    return r


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_an_empty_selection_says_no_rows_and_french_labels_take_their_colon(lang):
    r = _text("clawback-cash", "acceptance", "ae-021", lang)
    # ae-021's one deal closes on 2025-03-31 and its invoice is paid in April: January's
    # selections are all empty (deals.csv, invoices.csv)
    assert not re.search(r"\b0 (rows|lignes)\b", r.stdout)
    if lang == "en":
        assert "booked selects no rows" in r.stdout and "the sum over no rows of booked: 0.00 EUR" in r.stdout
    else:
        assert "booked ne retient aucune ligne" in r.stdout
        assert "la somme sur aucune ligne de booked : 0,00\u00a0€" in r.stdout
        assert r.stdout.startswith("Relevé de rémunération variable : ")
        assert "    Comment c’est calculé :\n" in r.stdout and "  booking_commission : 0,00\u00a0€\n" in r.stdout


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_zero_from_an_if_branch_says_the_condition_and_its_values(lang):
    r = _text("team-bonus", "exactly-at-target", "s-1", lang)
    # south's one member booked 49,999.99 against a team target of 50,000 (team_targets.csv):
    # `if team_bookings >= team_target then 1000 EUR else 0 EUR` pays 0
    if lang == "en":
        assert ("`team_bookings >= team_target` is false: team_bookings is 49,999.99 EUR, team_target is "
                "50,000.00 EUR") in r.stdout
    else:
        assert _plain("`team_bookings >= team_target` est faux : team_bookings vaut 49 999,99 €, team_target "
                      "vaut 50 000,00 €") in r.stdout
    assert "pays nothing" not in r.stdout


def test_a_money_curves_axis_is_short_enough_for_390_px():
    r = run_cli("statement", MT_PLAN, "--data", MT_DATA, "--payee", "ben", "--locale", "fr", "--format", "html")
    assert r.returncode == 0, r.stderr
    # the y axis of tiers() runs from 0 to 13,000 and beyond (200,000: 5,000 + 8,000): its ticks
    # are written short, right-aligned 4 px left of the axis at x = 46, so they fit in the svg
    ticks = re.findall(r'<text x="42\.0" y="[\d.]+" font-size="10" text-anchor="end" fill="#555">([^<]*)</text>',
                       r.stdout)
    assert ticks[:4] == ["0\u00a0€", "5\u00a0k\u00a0€", "10\u00a0k\u00a0€", "15\u00a0k\u00a0€"]
    assert max(len(t) for t in ticks) <= 7  # at 10 px, about 6 px a sign: within the 42 px
    # the payee's point is said exactly: 150,000.50 pays 5,000 + 50,000.50 x 8% = 9,000.04
    assert "<desc>Votre point : bookings = 150\u202f000,50\u00a0€ donne 9\u202f000,04\u00a0€</desc>" in r.stdout
