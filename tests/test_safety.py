"""Safety of the tool itself: limits give diagnostics (never RecursionError, MemoryError or a
hang), CSV output cannot carry a spreadsheet formula, and runs are deterministic (row order,
hash seed) and record what they were computed from."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import shutil

import pytest

from conftest import EXAMPLES, PLANS, run_cli, run_cli_process
from kamrules.core import limits
from kamrules.cli.main import main
from kamrules.data.strict import load_table
from kamrules.diagnostics.diagnostic import CODES, KamError
from kamrules.syntax.parser import parse
from kamrules.report.payouts import safe_cell

HEAD = """plan "Limits"
currency EUR
period quarter
payees people
input people key payee_id {
  payee_id: Text
}
"""


def codes(text):
    with pytest.raises(KamError) as err:
        parse(text, "t.kam")
    return [d.code for d in err.value.diagnostics], err.value.diagnostics


# ---------------------------------------------------------------- plan limits

@pytest.mark.parametrize("expr", [
    "(" * (limits.MAX_NESTING + 5) + "1" + ")" * (limits.MAX_NESTING + 5),
    "[" * (limits.MAX_NESTING + 5) + "1" + "]" * (limits.MAX_NESTING + 5),
    "not " * 2000 + "true",
    "- " * 2000 + "1",
    " + ".join(["1"] * 5000),
])
def test_deep_expressions_are_a_diagnostic(expr):
    found, diags = codes(HEAD + f"let x = {expr}\n")
    assert found == ["KR005"]
    assert diags[0].span.line == 8
    assert "nests more than" in diags[0].message


def test_nesting_within_the_limit_parses():
    depth = limits.MAX_NESTING - 2
    plan = parse(HEAD + "let x = " + "(" * depth + "1" + ")" * depth + "\n", "t.kam")
    assert plan.statements[-1].name == "x"


def test_brackets_in_strings_and_comments_do_not_count():
    n = limits.MAX_NESTING + 10
    plan = parse(HEAD + f'let s = "{"(" * n}"  # {"[" * n}\n', "t.kam")
    assert plan.statements[-1].expr.value == "(" * n


def test_plan_size_limits(monkeypatch):
    monkeypatch.setattr(limits, "MAX_PLAN_BYTES", 200)
    found, diags = codes(HEAD + "# " + "x" * 300 + "\n")
    assert found == ["KR005"] and "bytes" in diags[0].message
    monkeypatch.setattr(limits, "MAX_PLAN_BYTES", 10_000)
    monkeypatch.setattr(limits, "MAX_PLAN_LINES", 20)
    found, diags = codes(HEAD + "\n" * 30)
    assert found == ["KR005"] and "lines" in diags[0].message


def test_number_literal_length():
    found, diags = codes(HEAD + "let n = 1" + "0" * 60 + " EUR\n")
    assert found == ["KR002"] and "at most 40" in diags[0].message
    assert parse(HEAD + "let n = 1" + "0" * 30 + "\n", "t.kam")


def test_long_definition_chain_is_a_diagnostic_not_a_recursion_error(tmp_path, capsys):
    lets = "let a0 = 1\n" + "".join(f"let a{i} = a{i - 1} + 1\n" for i in range(1, 3000))
    (tmp_path / "p.kam").write_text(HEAD + lets + "component c = money(a2999)\n")
    data = tmp_path / "d"
    data.mkdir()
    (data / "people.csv").write_text("payee_id\nkam-1\n")
    rc = main(["run", str(tmp_path / "p.kam"), "--data", str(data), "--period", "2025-Q1",
               "--engine", "interpreter"])
    out, err = capsys.readouterr()
    assert rc == 0 and "kam-1,2025-Q1,c,3000.00,EUR" in out, err  # the chain is evaluated bottom-up
    pytest.importorskip("polars")  # the columnar engine has one column per definition: no depth limit
    rc = main(["run", str(tmp_path / "p.kam"), "--data", str(data), "--period", "2025-Q1"])
    assert rc == 0 and "kam-1,2025-Q1,c,3000.00,EUR" in capsys.readouterr().out


def test_kr005_is_registered():
    assert "KR005" in CODES


# ---------------------------------------------------------------- data limits

def _spec(tmp_path, text):
    from kamrules import load_plan
    (tmp_path / "t.kam").write_text(HEAD + "component c = 1 EUR\n")
    path = tmp_path / "people.csv"
    path.write_text(text)
    return load_plan(str(tmp_path / "t.kam")).inputs["people"], str(path)


def test_rows_per_table_limit(tmp_path):
    spec, path = _spec(tmp_path, "payee_id\n" + "".join(f"p{i}\n" for i in range(6)))
    assert len(load_table(spec, path, max_rows=6).rows) == 6
    with pytest.raises(KamError) as err:
        load_table(spec, path, max_rows=5)
    d = err.value.diagnostics[0]
    assert d.code == "KR408" and "more than 5 rows" in d.message and d.span.line == 7


def test_cell_length_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_CELL_CHARS", 50)
    spec, path = _spec(tmp_path, "payee_id\nok\n" + "x" * 51 + "\n")
    with pytest.raises(KamError) as err:
        load_table(spec, path)
    d = err.value.diagnostics[0]
    assert d.code == "KR408" and d.span.line == 3 and "51 characters" in d.message


# ---------------------------------------------------------------- formula injection

@pytest.mark.parametrize("text, escaped", [
    ("=HYPERLINK(\"http://x\",\"y\")", True), ("+33612", False), ("+33 6 12", True), ("-2+3", True), ("@SUM(A1)", True),
    ("\tx", True), ("\rx", True), ("-12.50", False), ("+3", False), ("kam-001", False), ("", False),
])
def test_safe_cell(text, escaped):
    assert safe_cell(text) == ("'" + text if escaped else text)


def test_formula_payee_id_is_escaped_in_csv_output(tmp_path):
    plan = HEAD + "component c = 10 EUR\n"
    (tmp_path / "p.kam").write_text(plan)
    data = tmp_path / "d"
    data.mkdir()
    (data / "people.csv").write_text('payee_id\n"=HYPERLINK(""http://evil"",""x"")"\n@cmd\nkam-1\n')
    res = run_cli("run", tmp_path / "p.kam", "--data", data, "--period", "2025-Q1")
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    ids = {r["payee_id"] for r in rows}
    assert ids == {"'=HYPERLINK(\"http://evil\",\"x\")", "'@cmd", "kam-1"}
    assert all(r["amount"] == "10.00" for r in rows)


# ---------------------------------------------------------------- determinism

CASE = EXAMPLES / "01-abtasty-nrr-upsell"


def _shuffled_copy(src, dst, seed):
    rng = random.Random(seed)
    dst.mkdir()
    for f in src.iterdir():
        lines = f.read_text().splitlines(keepends=True)
        body = lines[1:]
        rng.shuffle(body)
        (dst / f.name).write_text(lines[0] + "".join(body))


def test_output_does_not_depend_on_row_order(tmp_path):
    base = run_cli("run", PLANS / "abtasty-kam.kam", "--data", CASE)
    assert base.returncode == 0, base.stderr
    for seed in (1, 2):
        folder = tmp_path / f"s{seed}"
        _shuffled_copy(CASE, folder, seed)
        assert (folder / "deals.csv").read_text() != (CASE / "deals.csv").read_text()
        res = run_cli("run", PLANS / "abtasty-kam.kam", "--data", folder)
        assert res.returncode == 0, res.stderr
        assert res.stdout == base.stdout


def test_output_does_not_depend_on_hash_seed():
    outs = set()
    for seed in ("0", "12345"):
        res = run_cli_process("run", PLANS / "charter-split.kam", "--data", EXAMPLES / "08-charter-split",
                              "--format", "json", "--trace", env={"PYTHONHASHSEED": seed})
        assert res.returncode == 0, res.stderr
        outs.add(res.stdout)
    assert len(outs) == 1


def test_json_records_version_and_hashes():
    from kamrules.version import __version__
    res = run_cli("run", PLANS / "abtasty-kam.kam", "--data", CASE, "--format", "json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    meta = doc["meta"]
    assert meta["kamrules_version"] == __version__
    assert meta["plan"]["sha256"] == hashlib.sha256((PLANS / "abtasty-kam.kam").read_bytes()).hexdigest()
    assert meta["plan"]["name"] == "AB Tasty KAM 2025"
    from kamrules import load_plan
    assert set(meta["inputs"]) == set(load_plan(str(PLANS / "abtasty-kam.kam")).inputs)
    assert {"people", "deals", "targets"} <= set(meta["inputs"])
    for name, info in meta["inputs"].items():
        assert info["sha256"] == hashlib.sha256((CASE / info["file"]).read_bytes()).hexdigest()
    rows = {(r["payee_id"], r["component"]): r["amount"] for r in doc["payouts"]}
    assert rows[("kam-001", "nrr")] == "12600.00" and rows[("kam-001", "total")] == "18600.00"


def test_failed_run_leaves_existing_output_untouched(tmp_path):
    data = tmp_path / "d"
    shutil.copytree(CASE, data)
    (data / "deals.csv").write_text((data / "deals.csv").read_text().replace("60000", "6O000", 1))
    out = tmp_path / "out.csv"
    out.write_text("previous\n")
    res = run_cli("run", PLANS / "abtasty-kam.kam", "--data", data, "-o", out)
    assert res.returncode == 1 and "`6O000`" in res.stderr
    assert out.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "out.csv"]
