"""Bad input data through `kamrules run PLAN --data DIR -o out.csv`: every problem names the
file, the row, the column and the raw value, exits 1, prints no traceback and leaves no
output file. Also what is accepted on purpose (BOM, CRLF, padded cells) and JSON inputs.
"""
from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest

from conftest import EXAMPLES, PLANS, run_cli
from kamrules.cli.main import main

PLAN = """plan "Data errors"
currency EUR
period quarter
payees people

input people key payee_id {
  payee_id: Text
  rate: Rate
}
input deals key deal_id {
  deal_id: Text
  owner_id: Text references people
  amount: Money
  close_date: Date
  margin: optional Rate
}

component commission = payee.rate * sum(amount for deals where owner_id == payee.id
                                                        and close_date in period)
"""

PEOPLE = "payee_id,rate\nkam-1,10%\nkam-2,0.05\n"
DEALS_HEADER = "deal_id,owner_id,amount,close_date,margin\n"
GOOD_DEALS = DEALS_HEADER + "d1,kam-1,1000.00,2025-01-15,\nd2,kam-2,200,2025-02-01,0.3\n"


def setup(tmp_path, deals=GOOD_DEALS, people=PEOPLE, plan=PLAN, deals_name="deals.csv", binary=False):
    (tmp_path / "plan.kam").write_text(plan, encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "people.csv").write_text(people, encoding="utf-8", newline="")
    if binary:
        (data / deals_name).write_bytes(deals)
    else:
        (data / deals_name).write_text(deals, encoding="utf-8", newline="")
    return tmp_path / "plan.kam", data


def run_in_process(capsys, tmp_path, *extra):
    out = tmp_path / "out.csv"
    rc = main(["run", str(tmp_path / "plan.kam"), "--data", str(tmp_path / "data"), "-o", str(out),
               *extra])
    captured = capsys.readouterr()
    return rc, captured.err, out


def expect_error(capsys, tmp_path, *needles):
    rc, err, out = run_in_process(capsys, tmp_path)
    assert rc == 1, err
    assert "Traceback" not in err
    assert not out.exists(), "no partial output file"
    for needle in needles:
        assert needle in err, f"{needle!r} not in:\n{err}"
    return err


def amounts(text):
    return {(r["payee_id"], r["component"]): Decimal(r["amount"]) for r in csv.DictReader(io.StringIO(text))}


# ---------------------------------------------------------------- accepted on purpose

def test_good_data_computes_by_hand(tmp_path, capsys):
    setup(tmp_path)
    rc, err, out = run_in_process(capsys, tmp_path)
    assert rc == 0, err
    got = amounts(out.read_text())
    assert got[("kam-1", "commission")] == Decimal("100.00")  # 10% of 1000
    assert got[("kam-2", "commission")] == Decimal("10.00")   # 5% of 200


def test_bom_and_crlf_are_accepted(tmp_path, capsys):
    deals = ("\ufeff" + GOOD_DEALS).replace("\n", "\r\n").encode("utf-8")
    setup(tmp_path, deals=deals, binary=True)
    rc, err, out = run_in_process(capsys, tmp_path)
    assert rc == 0, err
    assert amounts(out.read_text())[("kam-1", "commission")] == Decimal("100.00")


def test_padded_numbers_and_dates_are_stripped(tmp_path, capsys):
    setup(tmp_path, deals=DEALS_HEADER + "d1,kam-1, 12 , 2025-01-15 ,\n")
    rc, err, out = run_in_process(capsys, tmp_path)
    assert rc == 0, err
    assert amounts(out.read_text())[("kam-1", "commission")] == Decimal("1.20")


# ---------------------------------------------------------------- rejected, with file/row/column/value

@pytest.mark.parametrize("amount, reason", [
    ('"1,000.00"', "comma"),
    ("1_000", "digit separator"),
    ("\u0661\u0662", "U+0661"),          # Arabic-Indic digits
    ("\u0967\u0968", "U+0967"),          # Devanagari digits
    ("NaN", "NaN and Infinity"),
    ("Infinity", "NaN and Infinity"),
    ("-inf", "NaN and Infinity"),
    ("1e999999999", "exponent"),
    ("1.5E3", "exponent"),
    ("12.345", "more decimal places than EUR has (2)"),
    ("12 EUR", "not a decimal number"),
    ("1" * 60, "at most 40"),
])
def test_bad_amounts(tmp_path, capsys, amount, reason):
    setup(tmp_path, deals=DEALS_HEADER + f"d1,kam-1,1.00,2025-01-15,\nd2,kam-1,{amount},2025-01-16,\n")
    raw = amount.strip('"')
    err = expect_error(capsys, tmp_path, "deals.csv:3:3:", "row 3", "column `amount`", reason)
    assert raw[:20] in err


def test_trailing_zeros_beyond_the_currency_are_fine(tmp_path, capsys):
    setup(tmp_path, deals=DEALS_HEADER + "d1,kam-1,12.5000,2025-01-15,\n")
    rc, err, out = run_in_process(capsys, tmp_path)
    assert rc == 0, err
    assert amounts(out.read_text())[("kam-1", "commission")] == Decimal("1.25")


def test_minor_units_follow_the_currency():
    from kamrules.data.strict import parse_value
    assert parse_value("1234", "money", "JPY").amount == Decimal(1234)
    with pytest.raises(ValueError, match="JPY has \\(0\\)"):
        parse_value("12.5", "money", "JPY")
    assert parse_value("1.125", "money", "KWD").amount == Decimal("1.125")
    with pytest.raises(ValueError, match="KWD has \\(3\\)"):
        parse_value("1.1255", "money", "KWD")


def test_impossible_date(tmp_path, capsys):
    setup(tmp_path, deals=DEALS_HEADER + "d1,kam-1,1.00,2025-02-30,\n")
    expect_error(capsys, tmp_path, "deals.csv:2:4:", "column `close_date`", "`2025-02-30`", "exists")


def test_date_in_another_format(tmp_path, capsys):
    setup(tmp_path, deals=DEALS_HEADER + "d1,kam-1,1.00,15/01/2025,\n")
    expect_error(capsys, tmp_path, "deals.csv:2:4:", "`15/01/2025`", "YYYY-MM-DD")


def test_bad_rate_in_optional_column(tmp_path, capsys):
    setup(tmp_path, deals=DEALS_HEADER + "d1,kam-1,1.00,2025-01-15,thirty\n")
    expect_error(capsys, tmp_path, "deals.csv:2:5:", "column `margin`", "`thirty`")


def test_missing_required_column_with_did_you_mean(tmp_path, capsys):
    setup(tmp_path, deals="deal_id,owner_id,amont,close_date,margin\nd1,kam-1,1.00,2025-01-15,\n")
    expect_error(capsys, tmp_path, "deals.csv", "no column `amount`", "did you mean `amont`?")


def test_duplicate_header(tmp_path, capsys):
    setup(tmp_path, deals="deal_id,owner_id,amount,close_date,amount,margin\n"
                          "d1,kam-1,1.00,2025-01-15,2.00,\n")
    expect_error(capsys, tmp_path, "deals.csv:1:5:", "column `amount` twice")


@pytest.mark.parametrize("line, count", [("d1,kam-1,1.00\n", 3), ("d1,kam-1,1.00,2025-01-15,,x\n", 6)])
def test_wrong_number_of_cells(tmp_path, capsys, line, count):
    setup(tmp_path, deals=DEALS_HEADER + line)
    expect_error(capsys, tmp_path, "deals.csv:2:1:", f"row 2 has {count} cells but the header has 5",
                 line.strip()[:20])


def test_empty_required_cell(tmp_path, capsys):
    setup(tmp_path, deals=DEALS_HEADER + "d1,kam-1,,2025-01-15,\n")
    expect_error(capsys, tmp_path, "deals.csv:2:3:", "column `amount`", "required")


def test_duplicate_key(tmp_path, capsys):
    setup(tmp_path, deals=DEALS_HEADER + "d1,kam-1,1.00,2025-01-15,\nd1,kam-2,2.00,2025-01-16,\n")
    expect_error(capsys, tmp_path, "deals.csv:3:1:", "column `deal_id`", "`d1` appears twice (rows 2 and 3)")


def test_duplicate_unique_column(tmp_path, capsys):
    plan = PLAN.replace("  rate: Rate\n", "  rate: Rate\n  email: Text unique\n")
    setup(tmp_path, plan=plan, people="payee_id,rate,email\nkam-1,1%,a@x.fr\nkam-2,1%,a@x.fr\n")
    expect_error(capsys, tmp_path, "people.csv:3:3:", "`a@x.fr` appears twice", "unique")


def test_reference_to_unknown_payee(tmp_path, capsys):
    setup(tmp_path, deals=DEALS_HEADER + "d1,kam-9,1.00,2025-01-15,\n")
    expect_error(capsys, tmp_path, "KR409", "deals.csv row 2", "'kam-9'", "people")


def test_empty_payees_table(tmp_path, capsys):
    setup(tmp_path, people="payee_id,rate\n")
    expect_error(capsys, tmp_path, "people.csv", "no rows")


def test_not_utf8(tmp_path, capsys):
    setup(tmp_path, deals=(DEALS_HEADER + "d1,kam-1,1.00,2025-01-15,\n").encode("utf-8")
          + "d2,kam-1,2.00,2025-01-16,caf\xe9\n".encode("latin-1"), binary=True)
    expect_error(capsys, tmp_path, "deals.csv", "not UTF-8")


def test_bad_quotes(tmp_path, capsys):
    setup(tmp_path, deals=DEALS_HEADER + 'd1,kam-1,"1.00,2025-01-15,\n')
    expect_error(capsys, tmp_path, "deals.csv", "not valid CSV")


def test_errors_across_rows_are_all_listed(tmp_path, capsys):
    setup(tmp_path, deals=DEALS_HEADER + "d1,kam-1,1.0.0,2025-01-15,\nd2,kam-1,2.00,2025-13-01,\n")
    err = expect_error(capsys, tmp_path, "deals.csv:2:3:", "deals.csv:3:4:")
    assert err.count("error[KR403]") == 2


def test_through_a_real_process_no_traceback(tmp_path):
    setup(tmp_path, deals=DEALS_HEADER + "d1,kam-1,NaN,2025-01-15,\n")
    out = tmp_path / "out.csv"
    res = run_cli("run", tmp_path / "plan.kam", "--data", tmp_path / "data", "-o", out)
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert "deals.csv:2:3: error[KR403]" in res.stderr and "`NaN`" in res.stderr
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".kamrules-")]


# ---------------------------------------------------------------- JSON inputs

JSON_PLAN = PLAN.replace('input deals key deal_id {', 'input deals from "deals.json" key deal_id {')


def json_setup(tmp_path, text):
    setup(tmp_path, plan=JSON_PLAN, deals=text, deals_name="deals.json")


def test_json_input_computes_like_csv(tmp_path, capsys):
    json_setup(tmp_path, json.dumps([
        {"deal_id": "d1", "owner_id": "kam-1", "amount": "1000.00", "close_date": "2025-01-15"},
        {"deal_id": "d2", "owner_id": "kam-2", "amount": 200, "close_date": "2025-02-01", "margin": None},
        {"deal_id": "d3", "owner_id": "kam-1", "amount": 0.10, "close_date": "2025-03-01",
         "ignored": [1, 2]},
    ], indent=1))
    rc, err, out = run_in_process(capsys, tmp_path)
    assert rc == 0, err
    got = amounts(out.read_text())
    assert got[("kam-1", "commission")] == Decimal("100.01")  # 10% of 1000.10 = 100.010
    assert got[("kam-2", "commission")] == Decimal("10.00")


@pytest.mark.parametrize("text, needles", [
    ('[{"deal_id": "d1", "owner_id": "kam-1", "amount": 1.005, "close_date": "2025-01-15"}]',
     ["deals.json:1:2:", "`1.005`", "decimal places"]),
    ('[{"deal_id": "d1", "owner_id": "kam-1", "amount": 1e3, "close_date": "2025-01-15"}]',
     ["`1e3`", "exponent"]),
    ('[{"deal_id": "d1", "owner_id": "kam-1", "amount": NaN, "close_date": "2025-01-15"}]',
     ["`NaN` is not a number"]),
    ('[{"deal_id": "d1", "owner_id": "kam-1", "amount": -Infinity, "close_date": "2025-01-15"}]',
     ["`-Infinity` is not a number"]),
    ('[{"deal_id": "d1", "owner_id": "kam-1", "amount": "1", "amount": "2", "close_date": "2025-01-15"}]',
     ["`amount` appears twice"]),
    ('[\n {"deal_id": "d1", "owner_id": "kam-1", "amount": "1", "close_date": "2025-01-15"},\n'
     ' {"deal_id": 7, "owner_id": "kam-1", "amount": "1", "close_date": "2025-01-15"}\n]',
     ["deals.json:3:2:", "row 3", "column `deal_id`", "the number `7` is not a Text"]),
    ('[{"deal_id": "d1", "owner_id": "kam-1", "amount": {"v": 1}, "close_date": "2025-01-15"}]',
     ["column `amount`", "nested"]),
    ('[{"deal_id": "d1", "owner_id": "kam-1", "amount": true, "close_date": "2025-01-15"}]',
     ["`true` is not a Money"]),
    ('[{"deal_id": "d1", "owner_id": "kam-1", "close_date": "2025-01-15"}]',
     ["no column `amount`"]),
    ('{"deal_id": "d1"}', ["is not a JSON array"]),
    ('[{"deal_id": "d1",}]', ["is not valid JSON"]),
    ('[{"deal_id": "d1", "owner_id": "kam-1", "amount": "1", "close_date": "2025-02-30"}] x',
     ["text after the closing"]),
    ('[1, 2]', ["is not an object"]),
])
def test_json_rejections(tmp_path, capsys, text, needles):
    json_setup(tmp_path, text)
    expect_error(capsys, tmp_path, *needles)


def test_json_numbers_never_become_floats(tmp_path):
    from kamrules.data.strict import _JSON
    obj, _ = _JSON.raw_decode('{"a": 0.1, "b": 12345678901234567890.123}')
    assert not any(isinstance(v, float) for v in obj.values())
    assert Decimal(obj["a"]) == Decimal("0.1")


def test_blank_cells_are_empty_even_in_text_columns(tmp_path, capsys):
    setup(tmp_path, deals=DEALS_HEADER + "d1,   ,1.00,2025-01-15,\n")
    expect_error(capsys, tmp_path, "deals.csv:2:2:", "column `owner_id`", "required")


def test_input_path_that_is_a_folder(tmp_path, capsys):
    setup(tmp_path)
    (tmp_path / "data" / "deals.csv").unlink()
    (tmp_path / "data" / "deals.csv").mkdir()
    expect_error(capsys, tmp_path, "KR401", "deals.csv, which is a folder")


def test_reference_to_unknown_account(tmp_path, capsys):
    plan = PLAN.replace("  owner_id: Text references people\n",
                        "  owner_id: Text references people\n  account_id: Text references accounts\n")
    plan += "input accounts key account_id {\n  account_id: Text\n}\n"
    setup(tmp_path, plan=plan, deals="deal_id,owner_id,account_id,amount,close_date,margin\n"
                                     "d1,kam-1,acc-1,1.00,2025-01-15,\nd2,kam-1,acc-404,2.00,2025-01-16,\n")
    (tmp_path / "data" / "accounts.csv").write_text("account_id\nacc-1\n")
    expect_error(capsys, tmp_path, "KR409", "deals.csv:3:3:", "'acc-404'", "row 3", "accounts")


def test_a_refused_number_or_date_cell_comes_with_a_hint(tmp_path):
    """A date the calendar lacks (2025-02-30), a date in another format and a number with an
    exponent: KR403 at the cell's row and column, with a hint saying how to fix it (the audit
    found them without one)."""
    import shutil
    data = tmp_path / "data"
    shutil.copytree(EXAMPLES / "01-abtasty-nrr-upsell", data)
    lines = (data / "deals.csv").read_text().splitlines()
    head = lines[0].split(",")
    for value, column, words in (("2025-02-30", "close_date", "no such day"),
                                 ("30/01/2025", "close_date", "YYYY-MM-DD"),
                                 ("6e4", "amount", "no exponent")):
        cells = lines[1].split(",")
        cells[head.index(column)] = value
        (data / "deals.csv").write_text("\n".join([lines[0], ",".join(cells)] + lines[2:]) + "\n")
        r = run_cli("run", PLANS / "abtasty-kam.kam", "--data", data)
        assert r.returncode == 1 and r.stdout == ""
        first = r.stderr.splitlines()
        assert f"deals.csv:2:{head.index(column) + 1}: error[KR403]" in first[0], r.stderr
        assert first[1].startswith("  hint: ") and words in first[1], r.stderr
