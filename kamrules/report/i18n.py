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
import functools
import os
import re
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from babel import Locale as _BabelLocale
from babel.dates import format_date
from babel.messages.pofile import read_po
from babel.numbers import (format_compact_currency, format_compact_decimal, format_decimal, get_currency_symbol,
                           get_currency_precision)

from kamrules.core.numeric import Money

LOCALES = ("en", "fr")
DEFAULT = "en"
_HERE = os.path.join(os.path.dirname(__file__), "locale")
_CATALOGS: dict = {}
_PLAIN = re.compile(r"(-?)(\d+)(?:\.(\d+))?")
_QUANTUM = {k: Decimal(1).scaleb(-k) for k in range(7)}  # places -> 10**-places


def spaced_currency(value, currency: str, *, locale, **options) -> str:
    """babel's format_currency with CLDR's currency spacing, which babel does not apply: a
    symbol that ends (or starts) with a letter next to a digit gets a no-break space, as
    CLDR writes `CHF 142.50` in English where babel gives `CHF142.50`; `$142.50`, `€15` and
    `142,50 CHF` are unchanged."""
    from babel.numbers import format_currency
    text = format_currency(value, currency, locale=locale, **options)
    symbol = get_currency_symbol(currency, locale=locale)
    at = text.find(symbol)
    if at < 0 or not symbol:
        return text
    after = at + len(symbol)
    if symbol[-1].isalpha() and after < len(text) and text[after].isdigit():
        text = text[:after] + "\u00a0" + text[after:]
    if symbol[0].isalpha() and at > 0 and text[at - 1].isdigit():
        text = text[:at] + "\u00a0" + text[at:]
    return text


def catalog(lang: str) -> dict:
    """msgid -> translation of `lang` (empty translations left out), read once."""
    if lang not in _CATALOGS:
        path = os.path.join(_HERE, lang, "LC_MESSAGES", "kamrules.po")
        with open(path, "rb") as fh:
            cat = read_po(fh, locale=lang)
        _CATALOGS[lang] = {m.id: m.string for m in cat if m.id and m.string}
    return _CATALOGS[lang]


@functools.lru_cache(maxsize=None)
def _precision(currency: str) -> int:
    """The currency's minor digits from CLDR (Babel looks them up on every call)."""
    return get_currency_precision(currency)


def precision(currency: str) -> int:
    """The minor digits of a currency (CLDR): 2 for EUR, 0 for JPY, 3 for KWD."""
    return _precision(currency)


def _plain_pattern(digits: int) -> str:
    return "#,##0" + ("." + "0" * digits if digits else "")


def derivation_digits(amount, currency: str | None) -> tuple:
    """(whole, fraction, negative) of an amount as a derivation shows it: half up to the cent,
    or to the currency's minor unit when it has more digits, then trailing zeros dropped down
    to the currency's digits (JPY 0.50 -> ('0', '5'), 6234.00 -> ('6234', ''); EUR keeps two)."""
    digits = _precision(currency) if currency else 2
    places = max(2, digits)
    q = Decimal(amount).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if q == 0:
        q = abs(q)
    whole, _, frac = format(abs(q), "f").partition(".")
    while len(frac) > digits and frac.endswith("0"):
        frac = frac[:-1]
    return whole, frac, q < 0


class Locale:
    """Formatting and translation for one language (`en` or `fr`)."""

    def __init__(self, lang: str = DEFAULT):
        if lang not in LOCALES:
            raise ValueError(f"unknown locale {lang!r}")
        self.lang = lang
        self.babel = _BabelLocale.parse(lang)
        self.messages = catalog(lang)
        self._cache: dict = {}
        self._written: dict = {}  # (amount, currency) -> money(): a statement writes its amounts several times
        self.missing: set = set()  # message ids asked for without a translation (tests read it)

    def _(self, text: str, **values) -> str:
        """The translation of `text`, with {name} fields filled from `values`."""
        out = self.messages.get(text)
        if out is None:
            out = text
            if self.lang != DEFAULT:
                self.missing.add(text)
        return out.format(**values) if values else out

    def semicolon(self) -> str:
        """"; " between the parts of a sentence, with French typography's narrow no-break space
        before it ("nrr paie 12 600,00 € ; payout_rate donne ...")."""
        return self._("; ")

    def one(self, n: int) -> bool:
        """Whether `n` takes the singular in this language (CLDR's plural rule, by Babel): 1 in
        English, 0 and 1 in French ("0 bénéficiaire payé")."""
        return self.babel.plural_form(n) == "one"

    def word(self, name: str) -> str:
        """A name of the plan or the data used as a label (a column's: `amount`, `discount`):
        its translation when the catalog has one, else as written."""
        return self.messages.get(name, name)

    def money(self, m, currency: str | None = None) -> str:
        """Money(18600, EUR) -> '18,600.00 €' (en) or '18 600,00 €' (fr)."""
        if isinstance(m, Money):
            amount, currency = m.amount, m.currency
        else:
            amount = m
        key = (amount, currency)  # the text is a function of the value: equal amounts (1.0, 1.00) write the same
        text = self._written.get(key)
        if text is None:
            text = self._money(amount, currency)
            if len(self._written) > 65536:
                self._written.clear()
            self._written[key] = text
        return text

    def amount(self, v, currency: str | None) -> str:
        """An amount without its currency sign, to the currency's minor unit (named once
        elsewhere, as on the team page): 18,600.00 (EUR, en), 18 600,00 (fr), 6,234 (JPY)."""
        key = ("amount", v, currency)
        text = self._written.get(key)
        if text is None:
            if len(self._written) > 65536:
                self._written.clear()
            text = self._written[key] = self._money(v, None, precision(currency) if currency else 2)
        return text

    def paid(self, m, currency: str | None = None, sign: bool = True) -> str:
        """A payout as `run` prints it: to the currency's minor unit (`¥6,234`, `€18,600.00`),
        unless the plan pays finer than that (a yen plan that does not round: 1.50 JPY), then to
        the cent, `¥1.50`, never a rounded `¥2` that the amounts beside it do not add up to.
        sign=False: without the currency's sign (the team page names it once)."""
        if isinstance(m, Money):
            amount, currency = m.amount, m.currency
        else:
            amount = m
        digits = _precision(currency) if currency else 2
        if digits >= 2:
            return self.money(amount, currency) if sign else self.amount(amount, currency)
        cent = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if cent == cent.quantize(Decimal(1).scaleb(-digits)):
            return self.money(amount, currency) if sign else self.amount(amount, currency)
        if not sign:
            return self._money(cent, None, 2)
        shape = self._shape(currency, 2, currency_digits=False)
        if shape is None:
            return spaced_currency(cent, currency, locale=self.babel, currency_digits=False)
        return shape.apply(abs(cent) if cent == 0 else cent)

    def exact_money(self, amount, currency: str) -> str:
        """Money of a derivation, in the locale's signs with the digits the English derivation
        shows (words.money): to the cent half up (to the currency's minor unit when it has more
        digits), trailing zeros dropped down to the currency's digits: 0.50 JPY is '¥0.5' (en
        form) or '0,5 JPY' (fr), never rounded to the yen; 12,600.00 EUR keeps its cents."""
        key = ("exact", amount, currency)
        text = self._written.get(key)
        if text is None:
            whole, frac, negative = derivation_digits(amount, currency)
            shape = self._shape(currency, 2, currency_digits=False)
            if shape is None:
                q = Decimal(("-" if negative else "") + whole + ("." + frac if frac else ""))
                text = spaced_currency(q, currency, locale=self.babel, currency_digits=False,
                                       format_type="standard", decimal_quantization=False)
            else:
                text = shape.compose(negative, whole, frac)
            if len(self._written) > 65536:
                self._written.clear()
            self._written[key] = text
        return text

    def _money(self, amount, currency, digits: int | None = None):
        """amount in `currency` (None: a plain number of `digits` decimals, 2 by default)."""
        if digits is None:
            digits = _precision(currency) if currency else 2
        q = Decimal(amount).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
        if q == 0:
            q = abs(q)  # never "-0.00"
        shape = self._shape(currency, digits)
        if shape is None:  # a currency whose Babel form the fast path does not reproduce
            if currency is None:
                return format_decimal(q, format=_plain_pattern(digits), locale=self.babel)
            return spaced_currency(q, currency, locale=self.babel, currency_digits=True)
        return shape.apply(q)

    def _shape(self, currency, digits: int, currency_digits: bool = True):
        """The Shape of this locale's money in `currency` (None: plain number of `digits`
        decimals), learnt once; currency_digits=False: Babel's form with `digits` decimals."""
        key = ("money", currency, digits, currency_digits)
        if key not in self._cache:
            if currency is None:
                fmt = lambda v: format_decimal(v, format=_plain_pattern(digits), locale=self.babel)  # noqa: E731
            else:
                fmt = lambda v: spaced_currency(v, currency, locale=self.babel,  # noqa: E731
                                                currency_digits=currency_digits)
            self._cache[key] = Shape.learn(fmt, digits)
        return self._cache[key]

    def compact_money(self, v, currency: str | None) -> str:
        """An axis tick of money, short: '€15K' (en), '15 k €' (fr); a chart's exact amounts are
        said in full elsewhere (its threshold labels, the payee's point, its <desc>)."""
        if currency is None:
            return format_compact_decimal(Decimal(v), locale=self.babel, fraction_digits=1)
        return format_compact_currency(Decimal(v), currency, locale=self.babel, fraction_digits=1)

    def signed(self, m, currency: str) -> str:
        amount = m.amount if isinstance(m, Money) else m
        return ("+" if amount >= 0 else "−") + self.money(abs(amount), currency)

    def number(self, v) -> str:
        return self._decimal(Decimal(v), 6)

    def percent(self, v, places: int = 4, rounding: str = ROUND_HALF_UP) -> str:
        """0.775 -> '77.5%' (en) or '77,5 %' (fr): up to `places` decimals of a percent (four:
        a rate of the plan as written)."""
        key = ("%", v, places, rounding)  # a function of the value (rounded to `places`)
        text = self._written.get(key)
        if text is None:
            if len(self._written) > 65536:
                self._written.clear()
            text = self._written[key] = self._percent(v, places, rounding)
        return text

    def _percent(self, v, places: int, rounding: str) -> str:
        p = (Decimal(v) * 100).quantize(_QUANTUM[places], rounding=rounding)
        text = self._decimal(p, places)
        return f"{text}\u202f%" if self.lang == "fr" else f"{text}%"

    def share(self, v) -> str:
        """A share a reader compares (% of the on-target variable, of a budget): at most one
        decimal, half up: 1.125 -> '112.5%', 0.135625 -> '13.6%' (exact in the derivation)."""
        return self.percent(v, 1)

    def attained(self, v) -> str:
        """The payee's value on a curve's rate axis (an attainment): at most one decimal,
        rounded down, so that it never reads as a threshold it has not reached (99.96% is
        '99.9%', not '100%')."""
        return self.percent(v, 1, ROUND_FLOOR)

    def _decimal(self, v: Decimal, places: int) -> str:
        """format_decimal(v, '#,##0.' + '#' * places) (Babel rounds half even to `places`)."""
        key = ("decimal", places)
        if key not in self._cache:
            pattern = "#,##0." + "#" * places
            self._cache[key] = Shape.learn(lambda x: format_decimal(x, format=pattern, locale=self.babel), 1)
        shape = self._cache[key]
        if shape is None or not v.is_finite():
            return format_decimal(v, format="#,##0." + "#" * places, locale=self.babel)
        q = v.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
        text = format(abs(q), "f")
        whole, _, frac = text.partition(".")
        frac = frac.rstrip("0")
        return shape.compose(q < 0 and (whole.strip("0") or frac), whole, frac)

    def exact(self, text: str) -> str:
        """A number as plain digits ('-1234.5678', every digit kept, none added) in this
        locale's signs: '-1,234.5678' (en), '-1 234,5678' (fr); text that is not such a
        number is returned as it is."""
        m = _PLAIN.fullmatch(text)
        if m is None:
            return text
        key = ("decimal", 4)
        if key not in self._cache:
            self._decimal(Decimal(0), 4)  # learns the shape
        shape = self._cache[key]
        if shape is None:
            places = len(m.group(3) or "")
            return format_decimal(Decimal(text), format="#,##0" + ("." + "0" * places if places else ""),
                                  locale=self.babel)
        return shape.compose(bool(m.group(1)), m.group(2), m.group(3) or "")

    def exact_percent(self, text: str) -> str:
        """A percentage as plain digits ('77.5') with this locale's signs: '77.5%', '77,5 %'."""
        text = self.exact(text)
        return f"{text}\u202f%" if self.lang == "fr" else f"{text}%"

    def date(self, d: dt.date) -> str:
        """2025-03-31 -> '31 March 2025' (en) or '31 mars 2025' (fr); each date formatted by
        Babel once (a statement writes the same few dates; about 0.1 ms each)."""
        key = ("date", d)
        text = self._cache.get(key)
        if text is None:
            text = format_date(d, "long", locale=self.babel)
            if len(self._cache) < 20000:
                self._cache[key] = text
        return text

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


class Shape:
    """How a Babel format writes a number (prefix, group and decimal signs, suffix, for
    positive and negative values), learnt from Babel's own output on a probe value, so that
    amounts are written without Babel's per-call parsing; None from `learn` when the output
    is not of that simple form (the caller then asks Babel). tests/test_statement_speed.py
    checks it against Babel on random values."""

    def __init__(self, pos: tuple, neg: tuple, group: str, decimal: str, digits: int):
        self.pos, self.neg, self.group, self.decimal, self.digits = pos, neg, group, decimal, digits

    @classmethod
    def learn(cls, fmt, digits: int) -> "Shape | None":
        probe = Decimal("1234567" + ("." + "8" * digits if digits else ""))
        parts = []
        for v in (probe, -probe):
            text = fmt(v)
            i, j = text.find("1"), text.rfind("8" if digits else "7")
            if i < 0 or j < i:
                return None
            parts.append((text[:i], text[i:j + 1], text[j + 1:]))
        (pp, core, ps), (np_, ncore, ns) = parts
        group = core[1] if len(core) > 1 else ""
        decimal = core[-digits - 1] if digits else "."
        shape = cls((pp, ps), (np_, ns), group, decimal, digits)
        if ncore != core or core != shape.core("1234567", "8" * digits):
            return None
        return shape

    def core(self, whole: str, frac: str) -> str:
        head = len(whole) % 3 or 3
        groups = [whole[:head]] + [whole[k:k + 3] for k in range(head, len(whole), 3)]
        return self.group.join(groups) + (self.decimal + frac if frac else "")

    def compose(self, negative, whole: str, frac: str) -> str:
        pre, post = self.neg if negative else self.pos
        return pre + self.core(whole, frac) + post

    def apply(self, q: Decimal) -> str:
        """q already at the shape's digits."""
        whole, _, frac = format(abs(q), "f").partition(".")
        return self.compose(q < 0, whole, frac)


def get(lang: str | None) -> Locale:
    """A shared Locale per language (formatting caches kept)."""
    lang = lang or DEFAULT
    key = ("locale", lang)
    if key not in _CATALOGS:
        _CATALOGS[key] = Locale(lang)
    return _CATALOGS[key]
