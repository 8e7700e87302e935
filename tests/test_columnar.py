"""The columnar engine against the interpreter: same payouts, byte for byte, on every plan
it runs and every data folder the project has, on generated data, and on data that makes
the interpreter stop (the columnar run must then hand over, never print a number)."""
from __future__ import annotations

import datetime as dt
import io
import os
from contextlib import redirect_stdout
from decimal import Decimal

import pytest

pl = pytest.importorskip("polars")

from hypothesis import HealthCheck, event, given, settings, strategies as st  # noqa: E402

from conftest import EXAMPLES, PLANS, ROOT, serial_runs  # noqa: E402
from constructs_helpers import columnar_or_handed_over  # noqa: E402
from kamrules.cli.main import main  # noqa: E402
from kamrules.backends.polars.engine import check_supported, evaluate_frames, payouts_list  # noqa: E402
from kamrules.core.numeric import Fallback  # noqa: E402
from kamrules.backends.polars.values import DEC, round_expr  # noqa: E402
from kamrules.data.fast import frames_from_tables  # noqa: E402
from kamrules.cli.common import load  # noqa: E402
from kamrules.data.strict import load_data  # noqa: E402
from kamrules.diagnostics.diagnostic import KamError  # noqa: E402
from kamrules.backends.interp import plan_periods  # noqa: E402
from kamrules.backends.interp.run import evaluate  # noqa: E402
from kamrules.core.numeric import quantize  # noqa: E402
from kamrules.report.payouts import to_csv  # noqa: E402

ALL_PLANS = sorted(PLANS.glob("*.kam")) + [ROOT / "bench" / "abtasty-monthly.kam"]
RUNS_COLUMNAR = {"abtasty-kam", "charter-split", "clawback-cash", "draw-guarantee", "fx-commission",
                 "emotion-ai-challenge", "equipment-colour-grid", "kam-capped",
                 "kam-uncapped", "multi-year-booster", "abtasty-monthly", "pharma-rire", "media-advance", "recoverable-draw",
                 "prorated-variable", "split-credit", "team-bonus", "pay-currency"}


def _cli(*args):
    out = io.StringIO()
    with redirect_stdout(out), serial_runs():
        rc = main([str(a) for a in args])
    return rc, out.getvalue()


def _folders(plan):
    own = sorted(p for p in (PLANS / "tests" / plan.stem).glob("*/") if p.is_dir())
    return own + sorted(p for p in EXAMPLES.glob("*/") if p.is_dir())


def test_the_case_plans_the_engine_runs():
    supported = {p.stem for p in ALL_PLANS if check_supported(load(p)[0]) is None}
    assert supported == RUNS_COLUMNAR


@pytest.mark.parametrize("plan", [p for p in ALL_PLANS if p.stem in RUNS_COLUMNAR], ids=lambda p: p.stem)
@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_same_output_as_the_interpreter(plan, fmt, capsys):
    compared = 0
    for folder in _folders(plan):
        rc_i, want = _cli("run", plan, "--data", folder, "--engine", "interpreter", "--format", fmt)
        capsys.readouterr()
        if rc_i != 0:
            continue  # this plan does not read that folder
        rc_c, got = _cli("run", plan, "--data", folder, "--engine", "columnar", "--format", fmt)
        assert rc_c == 0 and got == want, folder
        compared += 1
    assert compared >= 1


def test_unsupported_plan_names_the_construct(tmp_path, capsys):
    plan = tmp_path / "p.kam"
    plan.write_text((PLANS / "recoverable-draw.kam").read_text() + "component over = count(deals where "
                    "owner_id == payee.id and close_date in period and amount > outstanding) * 1 EUR\n")
    checked = load(plan)[0]
    assert "an aggregation of a value that reads paid()" in check_supported(checked)
    rc, _ = _cli("run", plan, "--data", EXAMPLES / "draws", "--engine", "columnar")
    assert rc != 0 and "does not run this plan: an aggregation" in capsys.readouterr().err
    rc, out = _cli("run", plan, "--data", EXAMPLES / "draws")
    assert rc == 0 and out.startswith("payee_id,period,component,amount,currency\n")


HEAD = """plan "t"
currency EUR
period quarter
payees people
round components to cent half_up
input people key payee_id { payee_id: Text  base: Money }
input deals { deal_id: Text  payee_id: Text  amount: Money  close_date: Date  kind: Text  weight: optional Rate }
"""


def _write(tmp_path, people, deals):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "people.csv").write_text("payee_id,base\n" + "".join(f"{p},{b}\n" for p, b in people))
    (data / "deals.csv").write_text("deal_id,payee_id,amount,close_date,kind,weight\n" + "".join(
        f"d{i},{p},{a},{d},{k},{w}\n" for i, (p, a, d, k, w) in enumerate(deals)))
    return data


def test_a_payee_the_interpreter_stops_on_is_its_diagnostic(tmp_path, capsys):
    plan = tmp_path / "p.kam"
    plan.write_text(HEAD + "let won = sum(amount for deals where payee_id == payee.id and close_date in period)\n"
                    "component c = payee.base * (won / sum(amount for deals where payee_id == payee.id "
                    "and kind == \"target\" and close_date in period))\n")
    data = _write(tmp_path, [("a", "100"), ("b", "100")],
                  [("a", "10", "2025-01-05", "won", ""), ("a", "20", "2025-02-05", "target", ""),
                   ("b", "10", "2025-01-05", "won", "")])
    rc, out = _cli("run", plan, "--data", data)
    err = capsys.readouterr().err
    assert rc == 1 and out == "" and "KR407" in err and "division by zero" in err


# ---------------------------------------------------------------- generated plans and data
PLAN_BODY = """
param rate = 4%
let won = deals where payee_id == payee.id and close_date in period and kind != "lost"
let total = sum(amount for won)
let weighted = sum(amount * default(weight, 100%) for won)
let n = count(won)
let best = if exists(won) then max(amount for won) else 0 EUR
let ratio = if payee.base == 0 EUR then 0 else round(total / payee.base, 1%, {mode})
curve payout(x: Rate) -> Rate {{
  | < 50%         | 0%                     |
  | 50% to < 100% | 40% + 1.2 * (x - 50%)  |
  | >= 100%       | 100% + 0.5 * (x - 100%) |
}}
component commission = weighted * rate
component bonus = payee.base * payout(ratio) / 3
component top = if n >= 2 then min(best, 500 EUR) * 1% else 0 EUR
component seventh = round(total / 7, {step}, {mode})
let late = count(won where close_date - period.start > 30)
component late_fee = if n >= 2 then sum(people[payee_id].base * 1% for deals where close_date in period)
                     else late * 1 EUR
"""

amounts = st.decimals(min_value=Decimal("-500"), max_value=Decimal("5000"), places=2)
days = st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2025, 9, 30))
deals_st = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "zz"]), amounts, days,
                              st.sampled_from(["won", "lost", "renewal"]),
                              st.sampled_from(["", "50%", "0.75", "125%"])), max_size=25)
people_st = st.lists(st.tuples(st.sampled_from(["a", "b", "c"]),
                               st.decimals(min_value=0, max_value=90000, places=2)),
                     min_size=1, max_size=3, unique_by=lambda t: t[0])

_GENERATED_PLANS: dict = {}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=people_st, deals=deals_st, mode=st.sampled_from(
    ["half_up", "half_even", "half_down", "down", "up", "floor", "ceiling"]),
    step=st.sampled_from(["cent", "unit", "0.05", "5"]))
def test_generated_data_gives_the_interpreter_payouts(tmp_path, people, deals, mode, step):
    if (mode, step) not in _GENERATED_PLANS:  # 28 plans, each parsed and checked once
        plan_path = tmp_path / f"g-{mode}-{step}.kam"
        plan_path.write_text(HEAD + PLAN_BODY.format(mode=mode, step=step))
        _GENERATED_PLANS[mode, step] = load(plan_path)[0]
    compare_engines(_GENERATED_PLANS[mode, step], _write(tmp_path, people, deals))


def compare_engines(plan, data):
    """Both engines on one data folder: the same payout CSV, or the interpreter stops and
    the columnar engine hands over (Fallback). `plan` is a checked plan or a plan's path.
    Also used by test_columnar_paid.py."""
    checked = load(plan)[0] if isinstance(plan, (str, os.PathLike)) else plan
    assert checked is not None and check_supported(checked) is None
    try:
        tables = load_data(checked, str(data))
        periods = plan_periods(checked, tables)
    except KamError:
        event("no period")
        return  # no row places the run in a period: nothing to compare
    try:
        want = to_csv(evaluate(checked, tables, periods, trace=False))
    except KamError:
        event("the interpreter stops")
        with pytest.raises(Fallback):
            evaluate_frames(checked, frames_from_tables(checked, tables), periods)
        return
    want, got = columnar_or_handed_over(checked, tables, periods, want)
    assert got == want
    event("compared")


@settings(max_examples=200, deadline=None)
@given(x=st.decimals(min_value=Decimal("-99999"), max_value=Decimal("99999"), places=6),
       step=st.sampled_from([Decimal("0.01"), Decimal(1), Decimal("0.05"), Decimal(5), Decimal("0.001")]),
       mode=st.sampled_from(["half_up", "half_even", "half_down", "down", "up", "floor", "ceiling"]))
def test_rounding_matches_money_quantize(x, step, mode):
    got = pl.DataFrame({"x": [x]}, schema={"x": DEC}).select(round_expr(pl.col("x"), step, mode)).item()
    assert got == quantize(x, step, mode)


@pytest.mark.parametrize("extra", [["--period", "2025"], ["--period", "2025-Q1", "--payee", "kam-002"],
                                   ["--payee", "nobody"]], ids=["year", "quarter-payee", "no-payee"])
def test_period_and_payee_options_match(extra, capsys):
    args = ["run", PLANS / "abtasty-kam.kam", "--data", EXAMPLES / "01-abtasty-nrr-upsell", *extra]
    rc_i, want = _cli(*args, "--engine", "interpreter")
    rc_c, got = _cli(*args, "--engine", "columnar")
    assert (rc_c, got) == (rc_i, want) and rc_i == (1 if "nobody" in extra else 0)


def test_trace_dir_has_every_definition_and_the_rows_behind_each_sum(tmp_path, capsys):
    rc, _ = _cli("run", PLANS / "abtasty-kam.kam", "--data", EXAMPLES / "01-abtasty-nrr-upsell",
                 "--trace-dir", tmp_path / "t")
    assert rc == 0
    values = pl.read_parquet(tmp_path / "t" / "values.parquet")
    lineage = pl.read_parquet(tmp_path / "t" / "lineage.parquet")
    checked = load(PLANS / "abtasty-kam.kam")[0]
    lets = [n for n, d in checked.definitions.items() if d.kind in ("let", "component") and d.type.kind != "rows"]
    assert set(lets) <= set(values.columns)
    # each payee's sums re-add from the rows the lineage names
    checked_sums = 0
    expansion = lineage.filter(pl.col("definition").cast(pl.String).str.starts_with("expansion"))
    for (frame_row,), rows in expansion.group_by(["frame_row"]):
        total = sum(rows["value"].to_list(), Decimal(0))
        assert values.filter(pl.col("frame_row") == frame_row)["expansion"].item() == total
        checked_sums += 1
    assert checked_sums >= 1
    assert sorted(lineage["table"].cast(pl.String).unique().to_list()) == ["arr", "deals", "targets"]
