"""The fast columnar loader (kamrules.data.fast) against the strict one: on every plan and
data folder of the project, on every data error of test_data_errors.py and on generated CSVs,
load_frames gives the strict loader's tables as frames, or raises its exact diagnostics."""
from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal

import attrs
import pytest

pl = pytest.importorskip("polars")

from hypothesis import HealthCheck, event, given, settings, strategies as st  # noqa: E402

import test_data_errors as errors  # noqa: E402
from conftest import EXAMPLES, PLANS  # noqa: E402
from kamrules import load_plan  # noqa: E402
from kamrules.data import strict
from kamrules.data import fast  # noqa: E402
from kamrules.data.fast import WHITESPACE, frames_from_tables, load_frames  # noqa: E402
from kamrules.diagnostics.diagnostic import KamError  # noqa: E402
from kamrules.backends.interp.integrity import check_integrity  # noqa: E402
from kamrules.run.plantest import cases_of, load_case_tables, read_case_settings  # noqa: E402


def strict_outcome(plan, folder, max_rows=None):
    """("ok", frames) or ("error", diagnostics) of load_data + the references check."""
    try:
        tables = strict.load_data(plan, str(folder), max_rows)
        check_integrity(attrs.evolve(plan, requires=[]), tables)
    except KamError as err:
        return "error", err.diagnostics
    return "ok", frames_from_tables(plan, tables)


def fast_outcome(plan, folder, max_rows=None):
    try:
        return "ok", load_frames(plan, str(folder), max_rows)
    except KamError as err:
        return "error", err.diagnostics


def assert_same(plan, folder, max_rows=None):
    want, got = strict_outcome(plan, folder, max_rows), fast_outcome(plan, folder, max_rows)
    assert got[0] == want[0], (want, got)
    if want[0] == "error":
        assert got[1] == want[1]
    else:
        assert list(got[1]) == list(plan.inputs)
        for name, frame in want[1].items():
            assert got[1][name].schema == frame.schema, name
            assert got[1][name].equals(frame), (name, got[1][name], frame)
    return want


def no_strict_loader(monkeypatch):
    """Make the test fail if load_frames hands a file to the strict loader."""
    def refuse(*args, **kwargs):
        raise AssertionError("the fast path doubted a valid file")
    monkeypatch.setattr(strict, "load_table", refuse)
    monkeypatch.setattr(strict, "load_data", refuse)


# ------------------------------------------------------------------ every plan, every folder

def _data_folders():
    folders = sorted(p for p in EXAMPLES.iterdir() if p.is_dir() and any(p.glob("*.csv")))
    folders += sorted(p for p in EXAMPLES.glob("*/*") if p.is_dir() and any(p.glob("*.csv")))
    return folders


PLAN_FILES = sorted(PLANS.glob("*.kam"))


@pytest.mark.parametrize("plan_path", PLAN_FILES, ids=lambda p: p.stem)
def test_every_plan_on_every_example_folder(plan_path):
    plan = load_plan(str(plan_path))
    accepted = 0
    for folder in _data_folders():
        accepted += assert_same(plan, folder)[0] == "ok"
    # the plans run on their examples: the comparison is not only of errors
    assert accepted or not any(f.name in plan_path.stem for f in _data_folders())


def _case_folder(plan, case, tmp_path):
    """The case's inputs (its own files, else those of its `data` folder) in one folder."""
    folder = tmp_path / case.name
    folder.mkdir()
    settings = read_case_settings(case)
    try:
        tables = load_case_tables(plan, case, settings)
    except KamError:
        tables = None
    for name, spec in plan.inputs.items():
        if tables is not None:
            shutil.copy(tables[name].path, folder / spec.file)
    return folder, tables is not None


@pytest.mark.parametrize("plan_path", PLAN_FILES, ids=lambda p: p.stem)
def test_every_plan_test_case(plan_path, tmp_path):
    plan = load_plan(str(plan_path))
    compared = 0
    for case in cases_of(str(plan_path)):
        folder, loaded = _case_folder(plan, case, tmp_path)
        if loaded:
            assert_same(plan, folder)
            compared += 1
    assert compared >= 1


def test_bench_size_xs_takes_the_fast_path(monkeypatch):
    import sys
    sys.path.insert(0, str(PLANS.parent / "bench"))
    from workload import data_folder
    folder = data_folder("XS", 7)
    plan = load_plan(str(PLANS.parent / "bench" / "abtasty-monthly.kam"))
    want = strict_outcome(plan, folder)
    assert want[0] == "ok"
    no_strict_loader(monkeypatch)
    got = load_frames(plan, folder)
    for name, frame in want[1].items():
        assert got[name].equals(frame)
    assert got["deals"]["amount"].dtype == fast.DECIMAL


# ------------------------------------------------------------------ what the fast path accepts

PLAN = errors.PLAN


def write(tmp_path, deals, people=errors.PEOPLE, plan=PLAN, binary=False, name="deals.csv"):
    errors.setup(tmp_path, deals=deals, people=people, plan=plan, deals_name=name, binary=binary)
    return load_plan(str(tmp_path / "plan.kam")), tmp_path / "data"


def test_good_data_by_hand(tmp_path, monkeypatch):
    plan, folder = write(tmp_path, errors.GOOD_DEALS)
    no_strict_loader(monkeypatch)
    frames = load_frames(plan, str(folder))
    deals = frames["deals"]
    assert deals.columns == ["deal_id", "owner_id", "amount", "close_date", "margin", "__row", "__id"]
    assert deals.rows() == [
        ("d1", "kam-1", Decimal("1000.00"), dt.date(2025, 1, 15), None, 2, "d1"),
        ("d2", "kam-2", Decimal("200"), dt.date(2025, 2, 1), Decimal("0.3"), 3, "d2")]
    assert frames["people"]["rate"].to_list() == [Decimal("0.1"), Decimal("0.05")]  # 10% is 0.1


@pytest.mark.parametrize("deals", [
    ("\ufeff" + errors.GOOD_DEALS).replace("\n", "\r\n"),              # BOM and CRLF
    errors.DEALS_HEADER + "d1,kam-1, 12 , 2025-01-15 ,\n",              # padded cells
    errors.DEALS_HEADER + "\n d1 ,kam-1,12,2025-01-15,\n\n  ,,\n,,,,\nd2,kam-1,1,2025-01-15,\n\n",  # blanks
    errors.DEALS_HEADER + 'd1,kam-1,"1000.50",2025-01-15,\n"d,2","kam-1",3,2025-01-15,"12.5 %"\n',  # quotes
    errors.DEALS_HEADER + 'd1,kam-1,1,2025-01-15,\n"d\n2",kam-1,3,2025-01-15,\nd3,kam-1,4,2025-01-16,\n',
    "margin,close_date,amount,extra,owner_id,deal_id\n,2025-01-15,1,x,kam-1,d1\n",  # column order
    errors.DEALS_HEADER + "d1,kam-1,-0012.50,2025-01-15,+.5\nd2,kam-1,7.,2025-01-16,-3%\n",
    errors.GOOD_DEALS.replace("\n", "\r"),                                # CR line ends
    errors.DEALS_HEADER + "d1,kam-1,1,2025-01-15,\n ,,,,,,,, \n\nd2,kam-1,2,2025-01-16,\n",  # a blank line of 9 cells
    errors.DEALS_HEADER + '"d\r\n1",kam-1,1,2025-01-15,\r\n\r\n"d""2",kam-1,"2",2025-01-16,"3 %"\r\n',  # quoted CRLF
])
def test_accepted_files_take_the_fast_path(tmp_path, monkeypatch, deals):
    plan, folder = write(tmp_path, deals.encode("utf-8"), binary=True)
    want = assert_same(plan, folder)
    assert want[0] == "ok"
    no_strict_loader(monkeypatch)
    got = load_frames(plan, str(folder))
    assert got["deals"].equals(want[1]["deals"])


@pytest.mark.parametrize("deals, splitter", [
    (errors.DEALS_HEADER + '"d1","kam-1","1,000.00"\n', "csv module"),   # 3 cells: not one record of 5
    (errors.DEALS_HEADER + '"d,1","kam-1","1000.00","2025-01-15",""\n"d""2",kam-1,2,2025-01-16,\n', "polars"),
    (errors.DEALS_HEADER + '"d\n1","kam-1","1000.00","2025-01-15",""\n', "polars"),  # quoted newline
    (errors.DEALS_HEADER.replace("\n", "\r\n") + '"d\r\n1","kam-1","1\r2",2025-01-15,\r\n', "polars"),
    (errors.DEALS_HEADER + '"d1",kam-1,1,2025-01-15,\r"d2",kam-1,2,2025-01-15,\n', "csv module"),  # a CR alone
    (errors.DEALS_HEADER + 'd1,kam-1,1,2025-01-15,a"b\n', "csv module"),  # a quote inside an unquoted cell
])
def test_quoted_files_are_split_by_polars_when_every_line_is_one_record(tmp_path, monkeypatch, deals, splitter):
    plan, folder = write(tmp_path, deals)
    real = fast._split_quoted
    used = []
    monkeypatch.setattr(fast, "_split_quoted", lambda *a: used.append("csv module") or real(*a))
    assert_same(plan, folder)
    assert (used[:1] or ["polars"])[0] == splitter


def test_line_numbers_count_blank_lines_and_quoted_newlines(tmp_path):
    deals = errors.DEALS_HEADER + '\nd1,kam-1,1,2025-01-15,\n"d\n2",kam-1,3,2025-01-15,\n\nd3,kam-1,4,2025-01-16,\n'
    plan, folder = write(tmp_path, deals)
    deals = load_frames(plan, str(folder))["deals"]
    assert deals["__row"].to_list() == [3, 5, 7]
    assert deals["deal_id"].to_list() == ["d1", "d\n2", "d3"]
    # line 1 header, 2 blank, 3-5 "d1" (two quoted line breaks: CRLF and CR), 6 "d2" (LF inside quotes at 7), 8 blank
    deals = errors.DEALS_HEADER + '\n"d\r\n\r1",kam-1,1,2025-01-15,\n"d2",kam-1,"2\n",2025-01-15,\n\nd3,kam-1,4,2025-01-16,'
    plan, folder = write(tmp_path, deals)
    assert load_frames(plan, str(folder))["deals"]["__row"].to_list() == [5, 7, 9]


def test_every_kind_of_column(tmp_path, monkeypatch):
    plan = PLAN.replace("  rate: Rate\n", "  rate: Rate\n  start: optional Date\n  active: Bool\n"
                        "  quarter: Period\n  seats: Count\n  note: optional Text\n  level: optional Number\n")
    people = ("payee_id,rate,start,active,quarter,seats,note,level\n"
              "kam-1,10%,2025-01-01,Yes,2025-Q2,3,  a note ,1.5\n"
              "kam-2,0.05,,n,2025-03,4.0,,\n")
    plan, folder = write(tmp_path, errors.GOOD_DEALS, people=people, plan=plan)
    want = assert_same(plan, folder)
    no_strict_loader(monkeypatch)
    people = load_frames(plan, str(folder))["people"]
    assert people.equals(want[1]["people"])
    assert people.row(0) == ("kam-1", Decimal("0.1"), dt.date(2025, 1, 1), True, "quarter:2025-04-01",
                             Decimal(3), "a note", Decimal("1.5"), 2, "kam-1")
    assert people.row(1)[2:8] == (None, False, "month:2025-03-01", Decimal(4), None, None)


def test_id_of_a_number_key_is_the_value_as_the_strict_loader_shows_it(tmp_path):
    plan = PLAN.replace("input deals key deal_id {\n  deal_id: Text", "input deals key deal_id {\n  deal_id: Count")
    plan, folder = write(tmp_path, errors.DEALS_HEADER + " 7 ,kam-1,1,2025-01-15,\n12.0,kam-1,1,2025-01-15,\n",
                         plan=plan)
    want = assert_same(plan, folder)
    assert want[1]["deals"]["__id"].to_list() == ["7", "12.0"]


@pytest.mark.parametrize("people, accepted", [
    ("payee_id,rate,active\nkam-1,1%,yeſ\nkam-2,1%,no\n", False),   # Unicode folds ſ to s, Python's lower() does not
    ("payee_id,rate,active\nkam-1,1%,YES\nkam-2,1%,  n \n", True),
    ("payee_id,rate,active\nkam-1,1.000000000000000000000000,1\nkam-2,1%,0\n", True),  # zeros past 20 places
    ("payee_id,rate,active\nkam-1,\u0661%,1\nkam-2,1%,0\n", False),
])
def test_bools_and_rates_at_the_edges(tmp_path, people, accepted):
    plan = PLAN.replace("  rate: Rate\n", "  rate: Rate\n  active: Bool\n")
    plan, folder = write(tmp_path, errors.GOOD_DEALS, people=people, plan=plan)
    assert (assert_same(plan, folder)[0] == "ok") == accepted


def test_python_whitespace_is_the_loader_whitespace():
    assert set(WHITESPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}


# ------------------------------------------------------------------ the errors of test_data_errors.py

def _param_values(test, index):
    return [p.values[index] if hasattr(p, "values") else p[index] for p in test.pytestmark[0].args[1]]


D = errors.DEALS_HEADER
ERROR_CASES = {
    **{f"bad-amount-{i}": dict(deals=D + f"d1,kam-1,1.00,2025-01-15,\nd2,kam-1,{a},2025-01-16,\n")
       for i, a in enumerate(_param_values(errors.test_bad_amounts, 0))},
    "impossible-date": dict(deals=D + "d1,kam-1,1.00,2025-02-30,\n"),
    "date-format": dict(deals=D + "d1,kam-1,1.00,15/01/2025,\n"),
    "bad-rate": dict(deals=D + "d1,kam-1,1.00,2025-01-15,thirty\n"),
    "missing-column": dict(deals="deal_id,owner_id,amont,close_date,margin\nd1,kam-1,1.00,2025-01-15,\n"),
    "duplicate-header": dict(deals="deal_id,owner_id,amount,close_date,amount,margin\nd1,kam-1,1.00,2025-01-15,2.00,\n"),
    "too-few-cells": dict(deals=D + "d1,kam-1,1.00\n"),
    "too-many-cells": dict(deals=D + "d1,kam-1,1.00,2025-01-15,,x\n"),
    "empty-required": dict(deals=D + "d1,kam-1,,2025-01-15,\n"),
    "duplicate-key": dict(deals=D + "d1,kam-1,1.00,2025-01-15,\nd1,kam-2,2.00,2025-01-16,\n"),
    "duplicate-unique": dict(plan=PLAN.replace("  rate: Rate\n", "  rate: Rate\n  email: Text unique\n"),
                             people="payee_id,rate,email\nkam-1,1%,a@x.fr\nkam-2,1%,a@x.fr\n"),
    "unknown-payee": dict(deals=D + "d1,kam-9,1.00,2025-01-15,\n"),
    "empty-payees": dict(people="payee_id,rate\n"),
    "not-utf8": dict(deals=(D + "d1,kam-1,1.00,2025-01-15,\n").encode("utf-8")
                     + "d2,kam-1,2.00,2025-01-16,caf\xe9\n".encode("latin-1"), binary=True),
    "bad-quotes": dict(deals=D + 'd1,kam-1,"1.00,2025-01-15,\n'),
    "errors-across-rows": dict(deals=D + "d1,kam-1,1.0.0,2025-01-15,\nd2,kam-1,2.00,2025-13-01,\n"),
    "nan": dict(deals=D + "d1,kam-1,NaN,2025-01-15,\n"),
    "blank-text": dict(deals=D + "d1,   ,1.00,2025-01-15,\n"),
    "unknown-account": dict(
        plan=PLAN.replace("  owner_id: Text references people\n",
                          "  owner_id: Text references people\n  account_id: Text references accounts\n")
        + "input accounts key account_id {\n  account_id: Text\n}\n",
        deals="deal_id,owner_id,account_id,amount,close_date,margin\n"
              "d1,kam-1,acc-1,1.00,2025-01-15,\nd2,kam-1,acc-404,2.00,2025-01-16,\n",
        accounts="account_id\nacc-1\n"),
    **{f"json-{i}": dict(plan=errors.JSON_PLAN, deals=text, name="deals.json")
       for i, text in enumerate(_param_values(errors.test_json_rejections, 0))},
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_data_errors_give_the_strict_diagnostics(tmp_path, case):
    spec = dict(ERROR_CASES[case])
    accounts = spec.pop("accounts", None)
    plan, folder = write(tmp_path, spec.pop("deals", errors.GOOD_DEALS), **spec)
    if accounts is not None:
        (folder / "accounts.csv").write_text(accounts)
    want = assert_same(plan, folder)
    assert want[0] == "error"


def test_input_that_is_a_folder_and_missing_folder(tmp_path):
    plan, folder = write(tmp_path, errors.GOOD_DEALS)
    (folder / "deals.csv").unlink()
    (folder / "deals.csv").mkdir()
    assert assert_same(plan, folder)[1][0].code == "KR401"
    assert assert_same(plan, tmp_path / "nowhere")[1][0].code == "KR401"


def test_row_limit(tmp_path):
    plan, folder = write(tmp_path, errors.GOOD_DEALS)
    assert assert_same(plan, folder, max_rows=2)[0] == "ok"
    assert assert_same(plan, folder, max_rows=1)[1][0].code == "KR408"


def test_cell_length_limit(tmp_path, monkeypatch):
    monkeypatch.setattr("kamrules.core.limits.MAX_CELL_CHARS", 5)
    plan, folder = write(tmp_path, errors.DEALS_HEADER + "d1,kam-1,1.00,2025-01-15,\nd2,kam-1-long,1.00,2025-01-15,\n")
    assert assert_same(plan, folder)[0] == "error"


def test_json_input_is_the_strict_tables(tmp_path):
    plan, folder = write(tmp_path, '[{"deal_id": "d1", "owner_id": "kam-1", "amount": 10.5, '
                         '"close_date": "2025-01-15"}]', plan=errors.JSON_PLAN, name="deals.json")
    assert assert_same(plan, folder)[0] == "ok"


def test_amount_beyond_the_decimal_range_hands_over(tmp_path):
    # 18 digits before the point: inside the exact range, beyond Decimal(38, 24)
    plan, folder = write(tmp_path, errors.DEALS_HEADER + "d1,kam-1,123456789012345678.5,2025-01-15,\n")
    with pytest.raises(fast.Fallback):
        load_frames(plan, str(folder))


def test_amount_beyond_the_exact_range_is_kr414(tmp_path):
    plan, folder = write(tmp_path, errors.DEALS_HEADER + "d1,kam-1,1234567890123456789012.5,2025-01-15,\n")
    with pytest.raises(KamError) as err:
        load_frames(plan, str(folder))
    assert [d.code for d in err.value.diagnostics] == ["KR414"]


# ------------------------------------------------------------------ generated files

PROP_PLAN = """plan "Generated data"
currency EUR
period quarter
payees people

input people key payee_id {
  payee_id: Text
  rate: Rate
  seats: optional Count
  active: optional Bool
  quarter: optional Period
  note: optional Text
}
input deals key deal_id {
  deal_id: Text
  owner_id: Text references people
  amount: Money
  close_date: Date
  margin: optional Number
}

component commission = payee.rate * sum(amount for deals where owner_id == payee.id
                                                        and close_date in period)
"""

_pad = st.sampled_from(["", "", "", " ", "\t", "\u00a0"])
_BAD = st.sampled_from(["1.005", "1,000", "1e3", "NaN", "-inf", "", "  ", "x", "\u0661", "1 000", "12%", "3.5",
                        "2025-02-30", "2025-1-5", "0000-01-01", "2025-13", "Q1", "maybe", "kam-9", "d1",
                        "1" * 45, "\"q\"", "a\rb"])


def _decimals(places):
    return st.decimals(allow_nan=False, allow_infinity=False, places=places, min_value=-10**6,
                       max_value=10**6).map(str)


_GOOD = {
    "rate": st.one_of(_decimals(4), st.sampled_from(["10%", "12.5 %", "0%", "-3%", ".5"])),
    "seats": st.sampled_from(["", "3", "3.0", " 4 ", "+2", "-0"]),
    "active": st.sampled_from(["", "yes", "N", "TRUE", "0", "y"]),
    "quarter": st.sampled_from(["", "2025-Q1", "2025-03", "2025", " 2025-Q2 "]),
    "note": st.text(alphabet="ab ,\"\n\r\u00a0", max_size=5),
    "owner_id": st.sampled_from(["kam-0", "kam-1", "kam-2"]),
    "amount": st.one_of(_decimals(2), st.sampled_from(["12.500", "-0", "7.", ".5", "+3"])),
    "close_date": st.dates(dt.date(1990, 1, 1), dt.date(2040, 12, 31)).map(str),
    "margin": st.one_of(_decimals(6), st.just("")),
}


@st.composite
def cells(draw, column, row, bad_odds):
    if bad_odds and draw(st.integers(0, bad_odds)) == 0:
        cell = draw(_BAD)
    elif column in ("payee_id", "deal_id"):
        cell = f"{'kam' if column == 'payee_id' else 'd'}-{row}"
    else:
        cell = draw(_GOOD[column])
    if column in ("payee_id", "deal_id", "owner_id"):
        return cell
    return draw(_pad) + cell + draw(_pad)


def _quote(cell, always):
    if always or any(ch in cell for ch in ',"\n\r'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


@st.composite
def csv_files(draw, columns):
    order = draw(st.permutations(columns))
    quoting = draw(st.sampled_from(["needed", "needed", "all", "some"]))
    bad_odds = draw(st.sampled_from([0, 0, 10, 40]))
    lines = [",".join(order)]
    for row in range(draw(st.integers(0, 5))):
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from(["", "", "  ", ",,", ",,,,,,,", "x", ",,,,,,,x", " ,\t,,,,,, "])))
        lines.append(",".join(_quote(draw(cells(c, row, bad_odds)),
                                     quoting == "all" or (quoting == "some" and draw(st.booleans())))
                              for c in order))
    text = draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))
    return (draw(st.sampled_from(["", "\ufeff"])) + text).encode("utf-8")


PEOPLE_COLUMNS = ["payee_id", "rate", "seats", "active", "quarter", "note"]
DEALS_COLUMNS = ["deal_id", "owner_id", "amount", "close_date", "margin"]


@pytest.fixture(scope="module")
def prop_plan(tmp_path_factory):
    """PROP_PLAN parsed and checked once: every example loads its own CSVs with it."""
    path = tmp_path_factory.mktemp("plan") / "plan.kam"
    path.write_text(PROP_PLAN)
    return load_plan(str(path))


@settings(max_examples=int(__import__("os").environ.get("LOAD_EXAMPLES", 150)), deadline=None, suppress_health_check=list(HealthCheck))
@given(people=csv_files(PEOPLE_COLUMNS), deals=csv_files(DEALS_COLUMNS), max_rows=st.sampled_from([None, None, 2]))
def test_generated_csvs_give_the_same_outcome(tmp_path_factory, prop_plan, people, deals, max_rows):
    tmp = tmp_path_factory.mktemp("gen")
    plan = prop_plan
    (tmp / "people.csv").write_bytes(people)
    (tmp / "deals.csv").write_bytes(deals)
    event(assert_same(plan, tmp, max_rows)[0])
