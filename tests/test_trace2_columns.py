"""The column a data error points at, in a file read through a declared dialect (`with
delimiter ";"`): KR409 (a `references` value that is no key) and KR420 (a bad fx rate) name
the cell's real column, found in the header read with the file's delimiter and encoding
(data.references.header), not column 1 as a comma-read header of a `;` file gave (audit 5,
the follow-up of findings 11-13). Positions are counted here by hand from the files written."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import ROOT, examples, run_cli
from kamrules.data.references import header
from kamrules.run.session import Session

FRENCH = ROOT / "tests" / "data" / "audit5" / "french-paycurrency"


@pytest.mark.parametrize("engine", ["auto", "interpreter"])
def test_an_unknown_seller_in_the_french_export_is_placed_at_its_cell(tmp_path, engine):
    """ventes.csv is `;`-separated cp1252: `ref;vendeur;montant;...`; V2 (line 3) sold by `zz`,
    no key of commerciaux: the cell is line 3, column 2 (`vendeur`, the 2nd name of the
    header), not 3:1 (a comma-read header is one name, `ref;vendeur;...`, so no `vendeur`)."""
    shutil.copytree(FRENCH, tmp_path / "fp")
    ventes = tmp_path / "fp" / "data" / "ventes.csv"
    blob = ventes.read_bytes()
    assert blob.splitlines()[2].startswith(b"V2;c1;")
    ventes.write_bytes(blob.replace(b"V2;c1;", b"V2;zz;"))
    res = run_cli("run", tmp_path / "fp" / "plan.kam", "--data", tmp_path / "fp" / "data", "--engine", engine)
    assert res.returncode == 1
    assert res.stderr.splitlines()[0] == (
        f"{ventes}:3:2: error[KR409]: `vendeur` = 'zz' in {ventes} row 3 is not a key of `commerciaux` "
        "(column `id`)")


FX = "fx-commission"  # plans/fx-commission.kam with its rates declared `;`-separated, decimal comma


def _fx_folder(tmp_path: Path, rates: str) -> Path:
    plan = (ROOT / "plans" / f"{FX}.kam").read_text(encoding="utf-8")
    assert plan.count("input fx_rates {") == 1
    (tmp_path / "plan.kam").write_text(plan.replace("input fx_rates {", 'input fx_rates with delimiter ";" '
                                                    'decimal "," {'), encoding="utf-8")
    for name in ("people.csv", "deals.csv"):
        shutil.copy(ROOT / "examples" / FX / name, tmp_path / name)
    (tmp_path / "fx_rates.csv").write_text(rates, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("engine", ["auto", "interpreter", "columnar", "duckdb"])
def test_a_zero_rate_in_a_semicolon_file_is_placed_at_the_rate_cell(tmp_path, engine):
    """fx_rates.csv `date;from;to;rate`, line 3 USD->EUR at 0: the rate's cell is 3:4 (the
    columnar and SQL engines hand a bad rate to the interpreter, which reports it)."""
    if engine == "duckdb":
        pytest.importorskip("duckdb", reason="the duckdb extra is not installed")
    data = _fx_folder(tmp_path, "date;from;to;rate\n2025-01-01;USD;EUR;0,92\n2025-01-15;USD;EUR;0\n")
    res = run_cli("run", data / "plan.kam", "--data", data, "--engine", engine)
    assert res.returncode == 1
    assert res.stderr.splitlines()[0] == (f"{data / 'fx_rates.csv'}:3:4: error[KR420]: fx_rates row 3 of "
                                          "fx_rates.csv: the rate USD->EUR on 2025-01-15 is 0")


def test_two_rates_a_day_point_at_both_rate_cells_wherever_the_rate_column_is(tmp_path):
    """`rate;date;to;from` (rate first): two USD->EUR rates on 2025-01-01, lines 2 and 3, so
    the error is at 3:1 and its note at 2:1 (the rate is column 1 here, by the header)."""
    data = _fx_folder(tmp_path, "rate;date;to;from\n0,92;2025-01-01;EUR;USD\n0,93;2025-01-01;EUR;USD\n")
    res = run_cli("run", data / "plan.kam", "--data", data)
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    assert lines[0].startswith(f"{data / 'fx_rates.csv'}:3:1: error[KR420]: fx_rates rows 2 and 3 ")
    assert lines[1] == f"  note: {data / 'fx_rates.csv'}:2:1: the first rate of that day"
    data = _fx_folder(tmp_path, "date;from;rate;to\n2025-01-01;USD;0,92;EUR\n2025-01-01;USD;0,93;EUR\n")
    lines = run_cli("run", data / "plan.kam", "--data", data).stderr.splitlines()
    assert lines[0].startswith(f"{data / 'fx_rates.csv'}:3:3: error[KR420]")
    assert lines[1] == f"  note: {data / 'fx_rates.csv'}:2:3: the first rate of that day"


DIALECT_PLAN = """plan "Header"
currency EUR
period month
payees people

input people key id {
  id: Text
}
input sales with delimiter "DELIM" encoding "ENCODING" key ref {
  ref: Text
  note: Text
  seller: Text references people
  amount: Money
}

component c = money(0)
"""


def _spec(tmp_path: Path, delimiter: str, encoding: str):
    text = DIALECT_PLAN.replace("DELIM", delimiter).replace("ENCODING", encoding)
    (tmp_path / "plan.kam").write_text(text, encoding="utf-8")
    return Session(str(tmp_path / "plan.kam"), str(tmp_path), ["2025-01"], "interpreter").check().inputs["sales"]


def test_the_header_is_read_in_the_declared_encoding_without_its_bom(tmp_path):
    """A cp1252 header with `é` and a UTF-8 one with a byte order mark: the names as written."""
    spec = _spec(tmp_path, ";", "cp1252")
    (tmp_path / "sales.csv").write_bytes("réf;note;seller;amount\n".encode("cp1252"))
    assert header(str(tmp_path / "sales.csv"), spec) == ["réf", "note", "seller", "amount"]
    spec = _spec(tmp_path, ";", "utf-8")
    (tmp_path / "sales.csv").write_bytes(b"\xef\xbb\xbfref ; note;seller;amount\r\n")
    assert header(str(tmp_path / "sales.csv"), spec) == ["ref", "note", "seller", "amount"]
    assert header(str(tmp_path / "sales.csv")) == ["ref ; note;seller;amount"]  # no spec: commas
    assert header(str(tmp_path / "missing.csv"), spec) == [] and header(None, spec) == []


ORDERS = st.permutations(["ref", "note", "seller", "amount"])


@settings(max_examples=examples(8), deadline=None, suppress_health_check=list(HealthCheck))
@given(order=ORDERS, delimiter=st.sampled_from([";", "|", "\t"]), bad_row=st.integers(2, 4))
def test_kr409_names_the_column_where_the_file_has_it(tmp_path_factory, order, delimiter, bad_row):
    """Columns in any order, any delimiter: the unknown seller's cell is (its line, the
    position of `seller` in the order written + 1)."""
    folder = tmp_path_factory.mktemp("order")
    text = DIALECT_PLAN.replace("DELIM", "tab" if delimiter == "\t" else delimiter)
    (folder / "plan.kam").write_text(text.replace(' encoding "ENCODING"', ""), encoding="utf-8")
    (folder / "people.csv").write_text("id\na\n", encoding="utf-8")
    cells = {2: {"ref": "r1", "note": "n", "seller": "a", "amount": "1"},
             3: {"ref": "r2", "note": "n", "seller": "a", "amount": "2"},
             4: {"ref": "r3", "note": "n", "seller": "a", "amount": "3"}}
    cells[bad_row]["seller"] = "nobody"
    lines = [delimiter.join(order)] + [delimiter.join(cells[n][c] for c in order) for n in (2, 3, 4)]
    (folder / "sales.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = run_cli("run", folder / "plan.kam", "--data", folder, "--engine", "interpreter", "--period", "2025-01")
    assert res.returncode == 1, res.stdout
    assert res.stderr.startswith(f"{folder / 'sales.csv'}:{bad_row}:{order.index('seller') + 1}: error[KR409]")
