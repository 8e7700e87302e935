"""The cell grammar (kamrules.data.cells) is the one both loaders follow: for random cells,
valid and near-valid (padding, signs, exponents, too many digits, Unicode digits and spaces,
`%`), the strict loader (kamrules.data.strict.parse_value) and the fast loader's polars checks
(kamrules.data.fast.typed_cells) accept exactly the same cells and give the same values; and
the grammar accepts exactly what the strict loader's own wording accepts (no check weakened)."""
from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal

import pytest

pl = pytest.importorskip("polars")

from hypothesis import given, settings, strategies as st  # noqa: E402

from kamrules.core.numeric import Money  # noqa: E402
from kamrules.data import cells, fast, strict  # noqa: E402

KINDS = [("number", None), ("rate", None), ("count", None), ("money", "EUR"), ("money", "JPY"),
         ("money", "KWD"), ("date", None), ("bool", None), ("period", None), ("text", None)]
PAD = st.sampled_from(["", "", "", " ", "\t", "\u00a0", "\u3000", "\x1c", "  "])
DIGIT = st.sampled_from("0123456789")
ODD_DIGIT = st.sampled_from("0123456789" * 3 + "\u0663\uff11\u0e51")  # Arabic-Indic, fullwidth, Thai


@st.composite
def number_cells(draw):
    at_limit = st.integers(-1, 1)  # one digit under, at and over a limit
    whole = draw(st.one_of(st.text(DIGIT, max_size=3), st.text(ODD_DIGIT, max_size=22),
                           st.just("0" * draw(st.integers(0, 25)) + "1"),
                           at_limit.map(lambda d: "9" * (18 + d)), at_limit.map(lambda d: "1" + "0" * (13 + d))))
    frac = draw(st.one_of(st.none(), st.text(DIGIT, max_size=4), st.text(ODD_DIGIT, max_size=14),
                          st.just("5" + "0" * draw(st.integers(0, 30))),
                          st.sampled_from([2, 3, 4, 10, 12]).flatmap(
                              lambda n: at_limit.map(lambda d: "0" * (n + d - 1) + "7"))))
    body = draw(st.sampled_from(["", "", "+", "-", "--", "+-"])) + whole
    if frac is not None:
        body += "." + frac
    body += draw(st.sampled_from(["", "", "", "e5", "E-2", "%", " %", "%%", ",000", "_000", "x"]))
    return draw(PAD) + body + draw(PAD)


@st.composite
def date_cells(draw):
    y = draw(st.sampled_from(["2025", "2024", "0000", "0001", "9998", "9999", "25", "\u0662025"]))
    m = draw(st.sampled_from(["01", "02", "12", "13", "00", "1"]))
    d = draw(st.sampled_from(["01", "28", "29", "30", "31", "32", "1"]))
    sep = draw(st.sampled_from(["-", "-", "-", "/"]))
    return draw(PAD) + f"{y}{sep}{m}{sep}{d}" + draw(PAD)


WORDS = st.sampled_from(["true", "TRUE", "Yes", "y", "1", "0", "n", "No", "fAlse", "t", "ja", "ſ", "\u212a",
                         "2025", "2025-Q1", "2025-Q5", "2025-03", "2025-13", "0000", "9998", "9999",
                         "9998-Q4", "2025-3", "\u0662025"])
CELLS = st.one_of(number_cells(), date_cells(), st.tuples(PAD, WORDS, PAD).map("".join),
                  st.text(max_size=8), st.text(" 0123456789.+-%eE", max_size=12))


def strict_cell(cell: str, kind: str, currency, fiscal: int):
    """("ok", value) or ("refused", None) by the strict loader's rules, value as a frame holds it."""
    if not cell.strip():
        return "ok", None
    try:
        value = strict.parse_value(cell, kind, currency, fiscal)
    except ValueError:
        return "refused", None
    if isinstance(value, Money):
        value = value.amount
    if kind == "period":
        value = fast.period_key(value)
    return "ok", value


def old_strict_accepts(cell: str, kind: str, currency, fiscal: int) -> bool:
    """The strict loader's wording alone (strict._refuse): whether it finds nothing to say."""
    s = cell.strip()
    try:
        strict._refuse(cell, s, kind, currency, fiscal)
    except ValueError:
        return False
    return True


@settings(max_examples=100, deadline=None)
@given(raw=st.lists(CELLS, min_size=1, max_size=40), fiscal=st.sampled_from([1, 4]))
def test_both_loaders_accept_the_same_cells_with_the_same_values(raw, fiscal):
    for kind, currency in KINDS:
        got = fast.typed_cells(raw, kind, currency, fiscal)
        for cell, (outcome, value) in zip(raw, got):
            want = strict_cell(cell, kind, currency, fiscal)
            if outcome == "beyond":  # valid, but more digits before the point than the columns hold
                assert want[0] == "ok" and abs(want[1]) >= Decimal(10) ** fast.INT_DIGITS, (cell, kind)
                continue
            assert outcome == want[0], (cell, kind, currency, want, value)
            if kind in cells.NUMERIC and value is not None:
                assert value == want[1], (cell, kind, value, want)
            else:
                assert value == want[1], (cell, kind, value, want)


@settings(max_examples=300, deadline=None)
@given(cell=CELLS, fiscal=st.sampled_from([1, 4]))
def test_the_grammar_accepts_what_the_strict_wording_accepts(cell, fiscal):
    s = cell.strip()
    for kind, currency in KINDS:
        if not s:
            continue
        form = cells.form(kind, currency)
        accepted = form.accepts(s)
        if accepted:
            try:
                form.convert(s, fiscal)
            except ValueError:
                accepted = False
        assert accepted == old_strict_accepts(cell, kind, currency, fiscal), (cell, kind, currency)


def test_examples_by_hand():
    # each line: cell, kind, currency -> the value both loaders give (None: refused)
    table = [
        (" 12.50 ", "money", "EUR", Decimal("12.50")), ("12.505", "money", "EUR", None),
        ("12.500", "money", "EUR", Decimal("12.5")), ("12.", "money", "JPY", Decimal(12)),
        ("1.5", "money", "JPY", None), ("1.234", "money", "KWD", Decimal("1.234")),
        ("5 %", "rate", None, Decimal("0.05")), ("5%", "number", None, None), ("1e5", "number", None, None),
        ("1,000", "number", None, None), ("\u0661", "number", None, None), (".5", "number", None, Decimal("0.5")),
        ("0.0000000001%", "rate", None, Decimal("1E-12")), ("0.00000000001%", "rate", None, None),
        ("3.0", "count", None, Decimal(3)), ("3.5", "count", None, None),
        ("0.000000000001", "number", None, Decimal("1E-12")), ("0.0000000000010", "number", None, Decimal("1E-12")),
        ("0.0000000000001", "number", None, None), ("-" + "9" * 14, "number", None, Decimal("-" + "9" * 14)),
        ("2024-02-29", "date", None, dt.date(2024, 2, 29)), ("2025-02-29", "date", None, None),
        ("9998-12-31", "date", None, dt.date(9998, 12, 31)), ("9999-01-01", "date", None, None),
        ("0000-01-01", "date", None, None), ("YES", "bool", None, True), ("\u212a", "bool", None, None),
        ("2025-Q2", "period", None, "quarter:2025-04-01"), ("2025-13", "period", None, None),
    ]
    raw = [row[0] for row in table]
    for kind, currency in KINDS:
        got = fast.typed_cells(raw, kind, currency)
        for (cell, k, c, value), (outcome, v) in zip(table, got):
            if (k, c) == (kind, currency):
                assert (v if outcome == "ok" else None) == value, cell
                assert strict_cell(cell, kind, currency, 1) == (("ok", value) if value is not None else ("refused", None))


def test_trim_is_what_str_strip_removes():
    spaces = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    assert cells.TRIM == spaces
    assert fast.WHITESPACE == spaces


def test_polars_default_trim_lacks_only_four_separators():
    """fast.RUST_LACKS: a file without them is trimmed by polars' default strip_chars()."""
    chars = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000]
    stripped = pl.Series(chars).str.strip_chars().to_list()
    rust = {c for c, t in zip(chars, stripped) if t == ""}
    assert set(cells.TRIM) - rust == {c.decode() for c in fast.RUST_LACKS}
    assert rust <= set(cells.TRIM)


def test_a_percent_rate_with_more_digits_than_the_columns_before_dividing():
    """`100000000000000%` is 1e12 (13 digits, which the columns hold) although its body has 15:
    found by hypothesis; the fast loader read the body into the columns before dividing by 100
    and handed the valid file over. Both loaders now give 1e12; 1e18% stays `beyond` (>= 1e14)."""
    raw = ["100000000000000%", "999999999999999999%"]
    got = fast.typed_cells(raw, "rate", None, 1)
    assert got[0] == ("ok", Decimal("1000000000000")) == strict_cell(raw[0], "rate", None, 1)
    assert got[1][0] == "beyond" and strict_cell(raw[1], "rate", None, 1) == ("ok", Decimal("9999999999999999.99"))
