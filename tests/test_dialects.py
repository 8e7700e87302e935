"""Spreadsheet dialects declared on an input (`with delimiter ";" decimal "," ...`): the
grammar, fmt, the checker's validation of the options (KR425-KR427), and both loaders
reading a dialect file as the same canonical cells (KR428 for a cell that does not fit,
KR429 for a file not in the declared encoding), every check of the CSV contract still on.

examples/french-export (cp1252, `;`, decimal comma, NBSP or space thousands, DD/MM/YYYY),
by hand, 2,5 % for c1 and 3 % for c2, won deals only, rounded half up per quarter:
  c1 Q1: 12 345,67 * 2,5 % + 1 000,00 * 2,5 % = 308.64175 + 25 = 333.64175 -> 333.64
  c2 Q1: 250 000,50 * 3 % = 7500.015 -> 7500.02 (A-004 is lost)
  c1 Q2: 40 000 * 2,5 % = 1000.00; c2 Q2: nothing -> 0.00
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from conftest import EXAMPLES, examples
from kamrules.data import fast
from kamrules.check.checker import check
from kamrules.data import strict
from kamrules.data.strict import load_data
from kamrules.diagnostics.source import SourceFile
from kamrules.syntax.fmt import format_text
from kamrules.syntax.parser import parse

FRENCH = EXAMPLES / "french-export"
HEAD = '''plan "d"
currency EUR
period month
payees kams
input kams key payee_id {
  payee_id: Text
}
'''
DEALS = '''input deals from "deals.csv" with {options} key deal_id {{
  deal_id: Text
  amount: Money
  rate: optional Rate
  day: Date
  note: optional Text
}}
'''
FR = 'delimiter ";" decimal "," thousands " " date "DD/MM/YYYY"'


def _checked(text):
    plan = parse(text, "p.kam")
    return check(plan, SourceFile("p.kam", text))


def _codes(text):
    return [(d.code, d.message) for d in _checked(text)[1] if d.is_error]


@pytest.mark.parametrize("engine", ["columnar", "interpreter"])
def test_french_export_matches_by_hand(cli, engine):
    r = cli("run", FRENCH / "plan.kam", "--data", FRENCH, "--engine", engine)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (FRENCH / "expected.csv").read_text(encoding="utf-8")


def test_fast_loader_reads_dialect_files_without_the_strict_one(monkeypatch):
    plan = _checked((FRENCH / "plan.kam").read_text(encoding="utf-8"))[0]
    tables = load_data(plan, str(FRENCH))

    def refuse(*args, **kwargs):
        raise AssertionError("the fast path doubted a valid dialect file")
    monkeypatch.setattr(strict, "load_table", refuse)
    frames = fast.load_frames(plan, str(FRENCH))
    ventes = frames["ventes"]
    assert ventes["montant"].to_list() == [Decimal("12345.67"), Decimal("1000.00"), Decimal("250000.50"),
                                           Decimal("9999.99"), Decimal("40000")]
    assert ventes["taux"].to_list()[0] == Decimal("0.025")
    assert ventes["date_signature"].to_list()[0] == dt.date(2025, 1, 21)
    assert frames["commerciaux"]["nom"].to_list() == ["Chloé Lefèvre", "Jérôme Dupré"]
    assert [r.values["montant"].amount for r in tables["ventes"].rows] == ventes["montant"].to_list()
    assert ventes["__row"].to_list() == [r.number for r in tables["ventes"].rows] == [2, 3, 4, 5, 6]


def test_fmt_round_trips_the_input_head():
    text = HEAD + DEALS.format(options='delimiter "tab" encoding "latin-1" decimal ","') + \
        'input q from sql "SELECT \\"a\\" FROM t\\nWHERE x = 1" key a {\n  a: Text\n}\n'
    once = format_text(text)
    assert format_text(once) == once
    assert parse(once, "p") == parse(text, "p")
    assert 'with delimiter "tab" encoding "latin-1" decimal ","' in once
    assert parse(text, "p").statements[-1].sql == 'SELECT "a" FROM t\nWHERE x = 1'


@pytest.mark.parametrize("options, code, words", [
    ('delimitr ";"', "KR425", "did you mean `delimiter`"),
    ('delimiter ";" decimal "," decimal ","', "KR425", "given twice"),
    ('date "YY/MM/DD"', "KR426", "two-digit year"),
    ('date "DD/MM"', "KR426", "no YYYY part"),
    ('date "DMYYYY"', "KR426", "no separator"),
    ('delimiter "," decimal ","', "KR426", "the delimiter and the decimal are both"),
    ('delimiter ";" decimal "," thousands ","', "KR426", "the decimal and the thousands are both"),
    ('delimiter ";;"', "KR426", "one character"),
    ('encoding "klingon"', "KR426", "not a text encoding"),
    ('encoding "hex"', "KR426", "not a text encoding"),
    ('delimiter ";" decimal "·"', "KR426", 'the decimal mark is "." or ","'),
])
def test_checker_refuses_bad_options(options, code, words):
    found = _codes(HEAD + DEALS.format(options=options))
    assert [c for c, _ in found] == [code], found
    assert words in found[0][1] or words in str(_checked(HEAD + DEALS.format(options=options))[1][0].hint)


def test_options_only_on_csv_files():
    text = HEAD + DEALS.format(options=FR).replace('"deals.csv"', '"deals.json"')
    assert [c for c, _ in _codes(text)] == ["KR427"]
    text = HEAD + DEALS.format(options=FR).replace('"deals.csv"', 'sql "SELECT 1"')
    assert [c for c, _ in _codes(text)] == ["KR427"]
    assert [c for c, _ in _codes(HEAD + DEALS.format(options=FR).replace('"deals.csv"', 'sql " "'))] == \
        ["KR427", "KR427"]


def _folder(tmp_path, deals: str, options: str = FR, encoding: str = "utf-8"):
    (tmp_path / "kams.csv").write_text("payee_id\nk1\n", encoding="utf-8")
    (tmp_path / "deals.csv").write_bytes(deals.encode(encoding))
    plan = tmp_path / "p.kam"
    plan.write_text(HEAD + DEALS.format(options=options) + "component c = sum(amount for deals)\n",
                    encoding="utf-8")
    return plan


@pytest.mark.parametrize("engine", ["columnar", "interpreter"])
def test_misfit_cells_name_file_row_and_column(cli, tmp_path, engine):
    plan = _folder(tmp_path, "deal_id;amount;rate;day;note\n"
                   "d1;12.345,67;1;21/01/2025;\n"               # a dot, decimal "," and thousands " "
                   "\n"                                           # a blank line: rows keep their numbers
                   'd2;1 00,5;1;21/01/2025;"two\nlines; quoted"\n'  # bad grouping, on line 4
                   "d3;10;2,5 %;2025-01-21;x\n"                   # ISO date in a DD/MM/YYYY file
                   "d4;10;abc;31/02/2025;\n")                      # not a number; no 31 February
    r = cli("run", plan, "--data", tmp_path, "--engine", engine)
    assert r.returncode == 1
    lines = [x for x in r.stderr.splitlines() if "error[" in x]
    assert lines == [
        f"{tmp_path}/deals.csv:2:2: error[KR428]: deals.csv row 2, column `amount`: (Money[EUR]) `12.345,67` "
        'has a `.`, but the input declares decimal "," and thousands " "',
        f"{tmp_path}/deals.csv:5:2: error[KR428]: deals.csv row 5, column `amount`: (Money[EUR]) `1 00,5` has a "
        'thousands separator " " that does not group three digits',
        f"{tmp_path}/deals.csv:6:4: error[KR428]: deals.csv row 6, column `day`: (Date) `2025-01-21` is not a "
        "date written DD/MM/YYYY",
        f"{tmp_path}/deals.csv:7:3: error[KR428]: deals.csv row 7, column `rate`: (Rate) `abc` is not a number "
        "written as 1 234,56",
        f"{tmp_path}/deals.csv:7:4: error[KR428]: deals.csv row 7, column `day`: (Date) `31/02/2025` is not a "
        "date that exists (day is out of range for month)",
    ]


def test_the_csv_contract_still_applies_after_the_dialect(cli, tmp_path):
    plan = _folder(tmp_path, "deal_id;amount;rate;day;note\nd1;12,345;1;21/01/2025;\nd1;1;1;01/01/2025;\n")
    r = cli("run", plan, "--data", tmp_path)
    assert r.returncode == 1
    assert "deals.csv row 2, column `amount`: (Money[EUR]) `12.345` has more decimal places than EUR" in r.stderr
    assert "KR404" in r.stderr and "rows 2 and 3" in r.stderr


def test_wrong_encoding_names_the_row(cli, tmp_path):
    plan = _folder(tmp_path, "deal_id;amount;rate;day;note\nd1;1;1;21/01/2025;é\n", encoding="latin-1",
                   options=FR + ' encoding "utf-8"')
    r = cli("run", plan, "--data", tmp_path)
    assert r.returncode == 1
    assert "error[KR429]: deals.csv row 2 is not utf-8 text (byte 0xE9)" in r.stderr


@settings(max_examples=examples(40), deadline=None)
@given(amounts=st.lists(st.decimals(min_value=Decimal("-999999999.99"), max_value=Decimal("999999999.99"),
                                    places=2, allow_nan=False), min_size=1, max_size=5),
       days=st.lists(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31)),
                     min_size=5, max_size=5),
       sep=st.sampled_from([" ", "\u00a0", "\u202f", ""]))
def test_a_dialect_file_reads_as_its_canonical_twin(tmp_path_factory, amounts, days, sep):
    """The same rows written canonically and in the French dialect load to the same values,
    by both loaders."""
    def french(d: Decimal) -> str:
        sign, body = ("-", -d) if d < 0 else ("", d)
        whole, frac = f"{body:.2f}".split(".")
        groups = []
        while whole:
            groups.insert(0, whole[-3:])
            whole = whole[:-3]
        return sign + sep.join(groups) + "," + frac
    folder = tmp_path_factory.mktemp("twin")
    rows = [(f"d{i}", a, days[i]) for i, a in enumerate(amounts)]
    fr = "deal_id;amount;rate;day;note\n" + "".join(
        f"{i};{french(a)};;{d:%d/%m/%Y};\n" for i, a, d in rows)
    plan = _folder(folder, fr)
    canonical = folder / "canon"
    canonical.mkdir()
    (canonical / "kams.csv").write_text("payee_id\nk1\n", encoding="utf-8")
    (canonical / "deals.csv").write_text("deal_id,amount,rate,day,note\n" + "".join(
        f"{i},{a},,{d.isoformat()},\n" for i, a, d in rows), encoding="utf-8")
    dialect_plan = _checked(plan.read_text(encoding="utf-8"))[0]
    plain_plan = _checked(plan.read_text(encoding="utf-8").replace(f"with {FR} ", ""))[0]
    got = load_data(dialect_plan, str(folder))["deals"]
    want = load_data(plain_plan, str(canonical))["deals"]
    assert [r.values for r in got.rows] == [r.values for r in want.rows]
    assert [r.values["amount"].amount for r in got.rows] == amounts
    frames = fast.load_frames(dialect_plan, str(folder))["deals"]
    assert frames["amount"].to_list() == amounts
    assert frames["day"].to_list() == days[:len(amounts)]
