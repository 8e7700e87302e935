"""Locales of the statements and team pages: numbers, money, percentages and dates
formatted per locale with Babel (CLDR data), and every label translated through the gettext
catalogs in kamrules/report/locale/<lang>/LC_MESSAGES/kamrules.po.

The catalogs are read with Babel's .po reader when first used (no compiled .mo to keep in
step with its source); `en` is the source language: its catalog only lists the messages.
Amounts are rounded half up to the currency's minor unit here, before Babel formats them
(Babel would round half even), so a statement never shows another cent than `run` prints.
"""
from __future__ import annotations

import datetime as dt
import os
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale as _BabelLocale
from babel.dates import format_date
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, get_currency_precision

from kamrules.core.numeric import Money

LOCALES = ("en", "fr")
DEFAULT = "en"
_HERE = os.path.join(os.path.dirname(__file__), "locale")
_CATALOGS: dict = {}


def catalog(lang: str) -> dict:
    """msgid -> translation of `lang` (empty translations left out), read once."""
    if lang not in _CATALOGS:
        path = os.path.join(_HERE, lang, "LC_MESSAGES", "kamrules.po")
        with open(path, "rb") as fh:
            cat = read_po(fh, locale=lang)
        _CATALOGS[lang] = {m.id: m.string for m in cat if m.id and m.string}
    return _CATALOGS[lang]


class Locale:
    """Formatting and translation for one language (`en` or `fr`)."""

    def __init__(self, lang: str = DEFAULT):
        if lang not in LOCALES:
            raise ValueError(f"unknown locale {lang!r}")
        self.lang = lang
        self.babel = _BabelLocale.parse(lang)
        self.messages = catalog(lang)
        self._cache: dict = {}

    def _(self, text: str, **values) -> str:
        """The translation of `text`, with {name} fields filled from `values`."""
        out = self.messages.get(text, text)
        return out.format(**values) if values else out

    def money(self, m, currency: str | None = None) -> str:
        """Money(18600, EUR) -> '18,600.00 €' (en) or '18 600,00 €' (fr)."""
        if isinstance(m, Money):
            amount, currency = m.amount, m.currency
        else:
            amount = m
        digits = get_currency_precision(currency) if currency else 2
        q = Decimal(amount).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
        if q == 0:
            q = abs(q)  # never "-0.00"
        if currency is None:
            return format_decimal(q, format="#,##0.00", locale=self.babel)
        return format_currency(q, currency, locale=self.babel, currency_digits=True)

    def signed(self, m, currency: str) -> str:
        amount = m.amount if isinstance(m, Money) else m
        return ("+" if amount >= 0 else "−") + self.money(abs(amount), currency)

    def number(self, v) -> str:
        return format_decimal(Decimal(v), format="#,##0.######", locale=self.babel)

    def percent(self, v) -> str:
        """0.775 -> '77.5%' (en) or '77,5 %' (fr): up to four decimals of a percent."""
        p = (Decimal(v) * 100).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        text = format_decimal(p, format="#,##0.####", locale=self.babel)
        return f"{text}\u202f%" if self.lang == "fr" else f"{text}%"

    def date(self, d: dt.date) -> str:
        """2025-03-31 -> '31 March 2025' (en) or '31 mars 2025' (fr)."""
        return format_date(d, "long", locale=self.babel)

    def value(self, v, unit: str | None = None) -> str:
        """Any statement value: money, rate, number, date, text."""
        if isinstance(v, Money):
            return self.money(v)
        if isinstance(v, bool):
            return self._("yes") if v else self._("no")
        if isinstance(v, Decimal):
            return self.percent(v) if unit == "rate" else self.number(v)
        if isinstance(v, int):
            return self.number(v)
        if isinstance(v, dt.date):
            return self.date(v)
        if isinstance(v, list):
            return self._("{n} rows", n=len(v)) if len(v) != 1 else self._("1 row")
        return "" if v is None else str(v)


def get(lang: str | None) -> Locale:
    """A shared Locale per language (formatting caches kept)."""
    lang = lang or DEFAULT
    key = ("locale", lang)
    if key not in _CATALOGS:
        _CATALOGS[key] = Locale(lang)
    return _CATALOGS[key]
