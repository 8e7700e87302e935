"""CLDR's currency spacing, which babel does not apply (report/i18n.spaced_currency): a
currency symbol written with letters next to the amount's digits is kept apart by a no-break
space (`CHF 142.50` in English, as CLDR and Xactly-style statements write it); symbols that
are signs (`$`, `€`, `£`, `CA$`) and the French order (`142,50 CHF`) are unchanged."""
from __future__ import annotations

from decimal import Decimal

import pytest

from kamrules.report.i18n import get, spaced_currency

NB = "\u00a0"


@pytest.mark.parametrize("value, currency, locale, want", [
    (Decimal("142.50"), "CHF", "en", f"CHF{NB}142.50"),
    (Decimal("-142.50"), "CHF", "en", f"-CHF{NB}142.50"),
    (Decimal("1234.5"), "SEK", "en", f"SEK{NB}1,234.50"),
    (Decimal("142.50"), "USD", "en", "$142.50"),
    (Decimal("142.50"), "EUR", "en", "€142.50"),
    (Decimal("142.50"), "CAD", "en", "CA$142.50"),
    (Decimal("142.50"), "CHF", "fr", f"142,50{NB}CHF"),
    (Decimal("142.50"), "EUR", "fr", f"142,50{NB}€"),
])
def test_spacing_by_hand(value, currency, locale, want):
    assert spaced_currency(value, currency, locale=locale) == want


def test_statement_money_keeps_the_code_apart():
    # the locale's learnt shape (the fast path of every statement) writes the same
    assert get("en").money(Decimal("142.5"), "CHF") == f"CHF{NB}142.50"
    assert get("en").money(Decimal("-0.004"), "CHF") == f"CHF{NB}0.00"  # never "-0.00"
    assert get("fr").money(Decimal("142.5"), "CHF") == f"142,50{NB}CHF"
