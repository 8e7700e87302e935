"""A columnar run that lets go of what it no longer reads (backends/polars/lean.py, `kamrules
run`): the same payouts as a run that keeps every column, on every plan of plans/; what it
keeps and drops, worked out by hand on small plans; the payout CSV written a slice of
payee-periods at a time, byte for byte the report's writer; the fast loader's frames in one
chunk per column; a let's error bound computed only when read."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

pl = pytest.importorskip("polars")

from hypothesis import given, settings, strategies as st  # noqa: E402

from kamrules.backends.polars import lean  # noqa: E402
from kamrules.backends.polars.engine import evaluate_frames, payouts_list  # noqa: E402
from kamrules.backends.polars.values import period_key  # noqa: E402
from kamrules.check.lower import ir_of  # noqa: E402
from kamrules.cli.common import load  # noqa: E402
from kamrules.cli.main import main  # noqa: E402
from kamrules.report.payouts import to_csv as report_csv  # noqa: E402
from kamrules.run import columnar  # noqa: E402
from kamrules.run.session import Session  # noqa: E402
from test_payout_csv_frame import PERIODS, PLAN as THREE, tables  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "plans"
CASES = ("acceptance", "acceptance-scenario-a", "example")  # as bench/plans.py picks them


def _case(plan: Path) -> Path | None:
    for name in CASES:
        folder = PLANS / "tests" / plan.stem / name
        if folder.is_dir():
            return folder
    return None


PLAN_CASES = [(p, _case(p)) for p in sorted(PLANS.glob("*.kam")) if _case(p) is not None]


def _run(plan: Path, data: Path, lean_run: bool):
    session = Session(str(plan), str(data))
    session.keep_values = not lean_run  # keep_values: the engine keeps every column
    session.keep_frames = not lean_run  # `kamrules run`: the input frames handed to the engine
    result = session.execute(quiet=True)
    return session, result


@pytest.mark.parametrize("plan,data", PLAN_CASES, ids=[p.stem for p, _ in PLAN_CASES])
def test_a_lean_run_pays_what_a_full_run_pays(plan, data):
    full_session, full = _run(plan, data, lean_run=False)
    _, lean_result = _run(plan, data, lean_run=True)
    assert lean_result.engine == full.engine
    if full.engine != "columnar":  # (the interpreter ran both: nothing lean to compare)
        return
    checked = full_session.check()
    assert lean_result.table.equals(full.table)
    assert columnar.to_csv(checked, lean_result.table, lean_result.periods) == \
        columnar.to_csv(checked, full.table, full.periods)


# the people input and the header of test_payout_csv_frame's plan, then deals and the definitions
PLAN = THREE.split("component a")[0].replace('"three"', '"lean"') + """input deals {
  deal_id: Text
  payee_id: Text
  amount: Money
  note: Text
  date: Date
}

let sold = sum(amount for deals where payee_id == payee.id and date in period)
let third = sold / 3
let doubled = sold * 2
component a = round(third, cent, half_up)
component b = doubled + payee.base
"""

PEOPLE = "payee_id,base\np1,100.00\np2,0.50\n"
DEALS = ("deal_id,payee_id,amount,note,date\n"
         "d1,p1,10.00,x,2025-01-05\nd2,p1,0.01,y,2025-01-20\nd3,p2,7.00,z,2025-02-01\n")


@pytest.fixture()
def small(tmp_path):
    (tmp_path / "plan.kam").write_text(PLAN)
    data = tmp_path / "data"
    data.mkdir()
    (data / "people.csv").write_text(PEOPLE)
    (data / "deals.csv").write_text(DEALS)
    checked, diags, _ = load(tmp_path / "plan.kam")
    assert checked is not None, diags
    return tmp_path / "plan.kam", data, checked


def test_liveness_by_hand(small):
    _, _, checked = small
    live = lean.Liveness(ir_of(checked))
    # every definition to compute: all of them read, `deals` read by `sold`
    defs, _, tables = live.live(["sold", "third", "doubled", "a", "b"])
    assert {"sold", "third", "doubled", "a", "b"} <= defs and tables == {"deals"}
    # after `sold`: third and doubled read sold's column, no table is read any more
    defs, uids, tables = live.live(["third", "doubled", "a", "b"])
    assert "sold" in defs and tables == set()
    # after `doubled`: a reads third, b reads doubled; sold is read by nobody
    defs, _, tables = live.live(["a", "b"])
    assert defs == {"third", "doubled", "a", "b"} and tables == set()
    # all done: the components alone (the payouts)
    assert live.live([])[0] == {"a", "b"}


def test_a_lean_frame_keeps_the_payouts_columns_only(small):
    plan_path, data, checked = small
    session = Session(str(plan_path), str(data))
    frames = dict(session.frames())
    periods = session.periods()
    table, fr = evaluate_frames(checked, frames, periods, lean=True)
    own = sorted(c for c in fr.df.columns if not c.startswith(lean.KEPT_PREFIXES))
    # by hand: a and b's value, error and existence; no let, no aggregate, no temporary
    assert own == ["d.a", "d.b", "e.a", "e.b", "x.a", "x.b"]
    assert sorted(frames) == ["people"]  # deals let go of once `sold` was computed
    assert fr.aggs == {} and fr.joins == {}
    # the payouts: p1 in 2025-01 sold 10.01: a = 10.01 / 3 = 3.34 (half up), b = 20.02 + 100;
    # p2 in 2025-02 sold 7.00: a = 2.33, b = 14.50; the months without deals: 0 and base
    got = {(r["payee_id"], r["period"], r["__c"]): r["amount"] for r in table.iter_rows(named=True)}
    jan, feb = period_key(periods[0]), period_key(periods[1])
    assert got[("p1", jan, 0)] == Decimal("3.34") and got[("p1", jan, 1)] == Decimal("120.02")
    assert got[("p2", feb, 0)] == Decimal("2.33") and got[("p2", feb, 1)] == Decimal("14.50")
    assert got[("p1", feb, 0)] == 0 and got[("p1", feb, 1)] == Decimal("100.00")


def test_a_full_frame_keeps_everything(small):
    plan_path, data, checked = small
    session = Session(str(plan_path), str(data))
    frames = session.frames()
    _, fr = evaluate_frames(checked, frames, session.periods())
    assert {"d.sold", "d.third", "d.doubled"} <= set(fr.df.columns)
    assert sorted(frames) == ["deals", "people"]  # the caller's tables untouched


def test_projection_keeps_the_columns_read(small):
    _, _, checked = small
    frames = {"people": pl.DataFrame({"payee_id": ["p"], "base": [1], "__row": [2], "__id": ["p"]}),
              "deals": pl.DataFrame({c: [1] for c in ("deal_id", "payee_id", "amount", "note", "date",
                                                       "__row", "__id")})}
    lean.project(ir_of(checked), frames)
    # deals: the plan reads payee_id, amount and date (and __row stays); people whole
    assert frames["deals"].columns == ["payee_id", "amount", "date", "__row"]
    assert frames["people"].columns == ["payee_id", "base", "__row", "__id"]


def test_no_projection_with_a_lookup(tmp_path):
    path = tmp_path / "p.kam"
    path.write_text(PLAN.replace("component b = doubled + payee.base",
                                 "component b = doubled + people[payee.id].base"))
    checked, diags, _ = load(path)
    assert checked is not None, diags
    frames = {"deals": pl.DataFrame({c: [1] for c in ("deal_id", "payee_id", "amount", "note", "date",
                                                       "__row", "__id")})}
    lean.project(ir_of(checked), frames)
    assert frames["deals"].width == 7


def test_the_cli_run_is_the_full_run(small, tmp_path, capsys):
    plan_path, data, _ = small
    out = tmp_path / "out.csv"
    assert main(["run", str(plan_path), "--data", str(data), "-q", "-o", str(out)]) == 0
    _, full = _run(plan_path, data, lean_run=False)
    assert out.read_text() == columnar.to_csv(Session(str(plan_path), str(data)).check(), full.table,
                                              full.periods)


def test_loaded_frames_are_one_chunk_per_column(small):
    plan_path, data, _ = small
    for name, frame in Session(str(plan_path), str(data)).frames().items():
        assert set(frame.n_chunks("all")) == {1}, name


# ------------------------------------------------------------------ the CSV in slices

@pytest.fixture(scope="module")
def three(tmp_path_factory):
    path = tmp_path_factory.mktemp("plan") / "three.kam"
    path.write_text(THREE)
    return load(path)[0]


@settings(max_examples=40, deadline=None)
@given(table=tables(), rows=st.integers(1, 8))
def test_the_csv_in_slices_is_the_report_csv(three, table, rows):
    parts = columnar._csv_parts(three, table, PERIODS, rows=rows)
    buf = [",".join(columnar.COLUMNS) + "\n"]
    for part in parts:
        buf.append(part.write_csv(include_header=False, quote_style="never", line_terminator="\n"))
    # the second method: the report's writer over Payout objects (a total after each payee-period)
    assert "".join(buf) == report_csv(payouts_list(three, table, PERIODS))


@settings(max_examples=40, deadline=None)
@given(o=st.lists(st.integers(0, 6), min_size=1, max_size=30), rows=st.integers(1, 10))
def test_slices_end_on_payee_periods(o, rows):
    table = pl.DataFrame({"__o": sorted(o)}, schema={"__o": pl.UInt32})
    parts = list(columnar._slices(table, rows))
    assert pl.concat(parts)["__o"].to_list() == sorted(o)  # every row once, in order
    for left, right in zip(parts, parts[1:]):
        assert left["__o"][-1] != right["__o"][0]  # no payee-period cut in two
        assert left.height >= rows


# ------------------------------------------------------------------ a let's bound, when read

READ = PLAN.replace("component b = doubled + payee.base", """component b = doubled + payee.base
component c = third * 3
component d = if third > 3.3366 EUR then payee.base else 0 EUR
component e = round(third / 7, cent, down)""")
UNREAD = PLAN.replace("component a = round(third, cent, half_up)", "component a = round(third / 2, cent, half_up)")


@pytest.mark.parametrize("text,bound_read", [(READ, True), (UNREAD, False)], ids=["read", "unread"])
def test_a_lets_bound_is_computed_when_read(tmp_path, small, text, bound_read):
    _, data, _ = small
    path = tmp_path / "bounds.kam"
    path.write_text(text)
    outs = {}
    for engine in ("interpreter", "columnar"):  # the interpreter, the reference
        outs[engine] = tmp_path / f"{engine}.csv"
        assert main(["run", str(path), "--data", str(data), "-q", "--engine", engine,
                     "-o", str(outs[engine])]) == 0
    got = outs["columnar"].read_text()
    assert got == outs["interpreter"].read_text()
    if bound_read:  # by hand, p1 in January: third = 10.01 / 3 = 3.3366..., c = 10.01,
        # d = 100.00 (3.3366... > 3.3366), e = 3.3366... / 7 = 0.4766... -> 0.47 (down)
        assert "p1,2025-01,c,10.01,EUR" in got and "p1,2025-01,d,100.00,EUR" in got
        assert "p1,2025-01,e,0.47,EUR" in got
    else:  # a = 10.01 / 3 / 2 = 1.66833... -> 1.67
        assert "p1,2025-01,a,1.67,EUR" in got
    session = Session(str(path), str(data))
    _, fr = evaluate_frames(session.check(), session.frames(), session.periods())
    # `third`'s error bound: a column when c, d or e read it; never computed when only the
    # quotient rounded on whole numbers reads `third`
    assert ("b.third" in fr.df.columns) == bound_read
