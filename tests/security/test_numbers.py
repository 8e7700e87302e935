"""Issue 13, items 5, 6, 12: no silent wrong number on the way in, and the two engines agree.

- a differential test: example data mutated by hypothesis (padded text cells, long decimals
  inside and beyond the exact range, a second BOM, targets at the attainment threshold) run
  through the CLI on both engines: the same CSV, or the same refusal (same stderr);
- padding: the same payouts with and without padded cells, on both engines;
- the numeric model (kamrules/core/numeric.py) on a table of edge values computed by hand.
"""
from __future__ import annotations

import io
import shutil
from contextlib import redirect_stderr, redirect_stdout
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import examples

from kamrules.cli.main import main
from kamrules.core.numeric import Imprecise, approximate, compute, quantize, snap

ROOT = Path(__file__).resolve().parents[2]
PLANS, EXAMPLES = ROOT / "plans", ROOT / "examples"
CASES = [("abtasty-kam.kam", "01-abtasty-nrr-upsell", "deals.csv", "amount")]


def _run(plan, data, engine):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(["run", str(PLANS / plan), "--data", str(data), "--engine", engine])
    return rc, out.getvalue(), err.getvalue()


def _both(plan, data):
    a, b = _run(plan, data, "interpreter"), _run(plan, data, "columnar")
    assert a == b, f"interpreter {a}\ncolumnar {b}"
    return a


def _rows(path: Path):
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0].split(","), [line.split(",") for line in lines[1:]]


def _write(path: Path, header, rows, bom: str = ""):
    path.write_text(bom + "\n".join(",".join(r) for r in [header] + rows) + "\n", encoding="utf-8")


AMOUNTS = st.one_of(
    st.decimals(min_value=0, max_value=10 ** 6, places=2).map(str),
    st.sampled_from(["0.1", "1.00", "150000", "99999.995", "1.00000000000000001", "12345678901234567890",
                     "123456789012345678", "0.0499999999999999999999999", "33333.333333333333"]),
)
PAD = st.sampled_from(["", " ", "\t", "  ", "\u00a0"])


@pytest.mark.parametrize("plan,folder,table,column", CASES, ids=[c[0] for c in CASES])
@settings(max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, 10 ** 6), AMOUNTS, PAD, PAD), min_size=1, max_size=4),
       boms=st.sampled_from(["", "\ufeff", "\ufeff\ufeff"]))
def test_mutated_data_gives_the_same_outcome_on_both_engines(tmp_path_factory, plan, folder, table, column,
                                                             edits, boms):
    data = tmp_path_factory.mktemp("d")
    shutil.copytree(EXAMPLES / folder, data, dirs_exist_ok=True)
    header, rows = _rows(data / table)
    col = header.index(column)
    for i, amount, left, right in edits:
        row = rows[i % len(rows)]
        row[col] = amount
        row[0] = left + row[0] + right  # the id, a Text key: padding is not part of it
    _write(data / table, header, rows, boms)
    rc, out, err = _both(plan, data)
    if rc:
        assert "error[KR4" in err and table in err and not out


def test_padded_text_cells_pay_as_unpadded(tmp_path):
    plan, folder = "abtasty-kam.kam", "01-abtasty-nrr-upsell"
    want = _both(plan, EXAMPLES / folder)
    assert want[0] == 0
    shutil.copytree(EXAMPLES / folder, tmp_path / "d")
    for name in ("deals.csv", "people.csv", "targets.csv", "assignments.csv"):
        header, rows = _rows(tmp_path / "d" / name)
        rows = [[f" {c}\t" if c and not c[0].isdigit() else c for c in r] for r in rows]
        _write(tmp_path / "d" / name, header, rows)
    assert " won\t" in (tmp_path / "d" / "deals.csv").read_text()
    assert _both(plan, tmp_path / "d") == want


@pytest.mark.parametrize("name,column,cell,code,where", [
    ("targets.csv", "target", "1.00000000000000001", "KR414", "17 digits after the point (at most 12"),
    ("deals.csv", "amount", "1234567890123456789.5", "KR414", "19 digits before the point (at most 18"),
    ("deals.csv", "amount", "1.00000000000000001", "KR403", "more decimal places than EUR"),
])
def test_a_cell_beyond_the_range_is_refused_the_same_way(tmp_path, name, column, cell, code, where):
    shutil.copytree(EXAMPLES / "01-abtasty-nrr-upsell", tmp_path / "d")
    header, rows = _rows(tmp_path / "d" / name)
    rows[2][header.index(column)] = cell
    _write(tmp_path / "d" / name, header, rows)
    rc, out, err = _both("abtasty-kam.kam", tmp_path / "d")
    assert rc == 1 and not out
    assert f"error[{code}]" in err and f"{name} row 4, column `{column}`" in err and where in err


def test_two_boms_are_refused_by_both_engines(tmp_path):
    shutil.copytree(EXAMPLES / "01-abtasty-nrr-upsell", tmp_path / "d")
    path = tmp_path / "d" / "deals.csv"
    path.write_text("\ufeff\ufeff" + path.read_text(encoding="utf-8"), encoding="utf-8")
    rc, out, err = _both("abtasty-kam.kam", tmp_path / "d")
    assert rc == 1 and not out and "error[KR402]" in err and "second byte-order mark" in err


TIE_PLAN = """plan "ties"
currency EUR
period quarter
payees people

input people key payee_id {
  payee_id: Text
  done: Money
  target: Money
  rate: Rate
}

let attainment = payee.done / payee.target
let thirds = payee.done / (payee.target * 3) * 3
component at_target = if attainment >= 100% then 100 EUR else 0 EUR
component thirds_at_target = if thirds >= 100% then 10 EUR else 0 EUR
component above = if payee.rate > 5% then 1 EUR else 0 EUR
component part = payee.done / 3
"""


@pytest.mark.parametrize("done,target,rate,want", [
    ("150000", "150000", "5%", ["100.00", "10.00", "0.00", "50000.00"]),          # exactly 100%
    ("1", "3", "5.0000000001%", ["0.00", "0.00", "1.00", "0.33"]),                 # 1/3 < 100%; > 5%
    ("100", "100", "0.0500000000", ["100.00", "10.00", "0.00", "33.33"]),          # trailing zeros
    ("99999999999999.99", "99999999999999.99", "5%", ["100.00", "10.00", "0.00", "33333333333333.33"]),
])
def test_threshold_ties_give_the_same_tier_on_both_engines(tmp_path, done, target, rate, want):
    (tmp_path / "p.kam").write_text(TIE_PLAN)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "people.csv").write_text(f"payee_id,done,target,rate\nkam-1,{done},{target},{rate}\n")
    runs = []
    for engine in ("interpreter", "columnar"):
        out = io.StringIO()
        with redirect_stdout(out):
            rc = main(["run", str(tmp_path / "p.kam"), "--data", str(tmp_path / "d"), "--period", "2025-Q1",
                       "--engine", engine])
        runs.append((rc, out.getvalue()))
    assert runs[0] == runs[1]
    rc, out = runs[0]
    assert rc == 0
    amounts = [line.rsplit(",", 2)[-2] for line in out.splitlines()[1:] if line and "total" not in line]
    assert amounts == want


# ------------------------------------------------------------------ the numeric model

MODES = ["half_up", "half_even", "half_down", "down", "up", "floor", "ceiling"]


@pytest.mark.parametrize("x,step,want", [
    # a half-way tie at the cent: 0.125 -> .12/.13 by mode; -0.125 mirrors it
    ("0.125", "0.01", ["0.13", "0.12", "0.12", "0.12", "0.13", "0.12", "0.13"]),
    ("-0.125", "0.01", ["-0.13", "-0.12", "-0.12", "-0.12", "-0.13", "-0.13", "-0.12"]),
    # 2.5 at the unit: half_up 3, half_even 2, half_down 2, down 2, up 3, floor 2, ceiling 3
    ("2.5", "1", ["3", "2", "2", "2", "3", "2", "3"]),
    # an exact value with 24 places just above a tie is never snapped: 0.125 + 1e-24 -> up in half modes
    ("0.125000000000000000000001", "0.01", ["0.13", "0.13", "0.13", "0.12", "0.13", "0.12", "0.13"]),
    # -0 stays a zero in every mode
    ("-0", "0.01", ["0.00"] * 7),
])
def test_rounding_edges_in_all_seven_modes(x, step, want):
    got = [quantize(D(x), D(step), m) for m in MODES]
    assert [str(g if g != 0 else abs(g)) for g in got] == want


def test_quotients_and_exact_values():
    third = compute("/", D(1), D(3))
    assert approximate(third) and not approximate(D("0.125"))
    # 1/3 * 3 = 0.999...9 (80 digits): approximate, compared as 1 (snapped to 16 places)
    back = compute("*", third, D(3))
    assert back != 1 and snap(back) == 1
    # 48793.5 / 12 = 4066.125 exactly: a terminating quotient is exact, rounds half up to .13
    assert compute("/", D("48793.5"), D(12)) == D("4066.125")
    assert quantize(compute("/", D("48793.5"), D(12)), D("0.01"), "half_up") == D("4066.13")
    # 17 places, exact: never snapped (1.00000000000000001 > 1 holds)
    assert snap(D("1.00000000000000001")) > 1
    # the ends of the range: 18 digits . 12 digits, added and multiplied exactly
    big = D("999999999999999999.999999999999")
    assert compute("+", big, big) == D("1999999999999999999.999999999998")
    assert compute("*", big, D("0.000000000001")) == D("999999.999999999999999999999999")
    # 12 places x 12 places = 24 places: exact; one more place is refused, never rounded
    assert compute("*", D("1.000000000001"), D("1.000000000001")) == D("1.000000000002000000000001")
    with pytest.raises(Imprecise):
        compute("*", D("1.000000000001"), D("0.1000000000001"))
    # an approximate operand may round: 1/3 x 150000.25 is kept to 80 digits, no refusal
    assert approximate(compute("*", third, D("150000.25")))


def test_a_product_beyond_24_places_is_kr415_on_both_engines(tmp_path):
    (tmp_path / "p.kam").write_text(TIE_PLAN.replace("component part = payee.done / 3",
                                                     "component part = payee.done * payee.rate * payee.rate * payee.rate"))
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "people.csv").write_text("payee_id,done,target,rate\nkam-1,100.01,100,0.123456789012\n")
    errs = []
    for engine in ("interpreter", "columnar"):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            rc = main(["run", str(tmp_path / "p.kam"), "--data", str(tmp_path / "d"), "--period", "2025-Q1",
                       "--engine", engine])
        assert rc == 1 and not out.getvalue()
        errs.append(err.getvalue())
    assert errs[0] == errs[1] and "error[KR415]" in errs[0]
