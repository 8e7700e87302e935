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
