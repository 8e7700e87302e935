"""The columnar engine's ledger (`paid()`) and its key joins, against the interpreter.

- paid(): the plans that read it (media-advance, recoverable-draw; draw-guarantee beside
  them) give the interpreter's payouts byte for byte on every data folder, with and without
  --period (a run of Q2 alone reads April and May), on generated data, and on a generated
  plan whose values read paid() of a component defined after them (the ledger settles
  period by period), over `period.previous`, `period.year_to_date` and `payment quarter`.
- joins: `assignee(accounts[account_id].parent_account_id, ...) == payee.id` is a key join
  (charter-split at a few hundred payees pairs no row with a payee it does not belong to,
  read through the Frame's `pairs` record), a lookup of a missing key is the interpreter's
  KR405, and a join past limits.MAX_JOIN_PAIRS is refused, naming the table.
"""
from __future__ import annotations

import datetime as dt
import io
import sys
from contextlib import redirect_stdout
from decimal import Decimal

import pytest

pl = pytest.importorskip("polars")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from conftest import EXAMPLES, PLANS, ROOT, examples  # noqa: E402
from test_columnar import compare_engines  # noqa: E402
from kamrules.cli.main import main  # noqa: E402
from kamrules.backends.polars import aggregate  # noqa: E402
from kamrules.backends.polars.engine import check_supported, evaluate_frames  # noqa: E402
from kamrules.core.numeric import Fallback  # noqa: E402
from kamrules.backends.polars.values import Unsupported  # noqa: E402
from kamrules.run.columnar import frame_periods, load as load_frames  # noqa: E402
from kamrules.cli.common import load  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
import plans as bench_plans  # noqa: E402

LEDGER = {"media-advance": ["02-media-advance"], "recoverable-draw": ["draws"],
          "draw-guarantee": ["draws"]}
SETTINGS = settings(max_examples=examples(15), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _cli(*args):
    out = io.StringIO()
    with redirect_stdout(out):
        rc = main([str(a) for a in args])
    return rc, out.getvalue()


def _both(plan, folder, *extra):
    rc_i, want = _cli("run", plan, "--data", folder, "--engine", "interpreter", *extra)
    rc_c, got = _cli("run", plan, "--data", folder, "--engine", "columnar", *extra)
    return rc_i, want, rc_c, got


def _cases():
    for stem, examples in LEDGER.items():
        folders = [EXAMPLES / e for e in examples] + sorted(
            p for p in (PLANS / "tests" / stem).glob("*/") if p.is_dir())
        for folder in folders:
            yield pytest.param(stem, folder, id=f"{stem}-{folder.name}")


@pytest.mark.parametrize("stem,folder", list(_cases()))
def test_ledger_plans_give_the_interpreter_payouts(stem, folder, capsys):
    plan = PLANS / f"{stem}.kam"
    assert check_supported(load(plan)[0]) is None
    rc_i, want, rc_c, got = _both(plan, folder)
    capsys.readouterr()
    assert rc_i == 0 and rc_c == 0 and got == want and want.count("\n") > 1


@pytest.mark.parametrize("stem,folder,periods,printed", [
    ("media-advance", EXAMPLES / "02-media-advance", ["2025-Q2"], {"2025-04", "2025-05", "2025-06"}),
    ("media-advance", EXAMPLES / "02-media-advance", ["2025-11"], {"2025-11"}),
    ("media-advance", EXAMPLES / "02-media-advance", ["2025-03", "2025-12"], {"2025-03", "2025-12"}),
    ("recoverable-draw", EXAMPLES / "draws", ["2025-04"], {"2025-04"}),
    ("recoverable-draw", PLANS / "tests" / "recoverable-draw" / "year-end-forgiveness", ["2026-02"],
     {"2026-02"}),
])
def test_a_period_alone_reads_the_earlier_ones(stem, folder, periods, printed, capsys):
    extra = [x for p in periods for x in ("--period", p)]
    rc_i, want, rc_c, got = _both(PLANS / f"{stem}.kam", folder, *extra)
    capsys.readouterr()
    assert rc_i == 0 and rc_c == 0 and got == want
    assert {line.split(",")[1] for line in got.splitlines()[1:]} == printed


# ---------------------------------------------------------------- generated data
def _csv(path, header, rows):
    path.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))


ids = st.sampled_from(["a", "b", "c"])
days = st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2025, 12, 31))
amounts = st.decimals(min_value=Decimal("-2000"), max_value=Decimal("60000"), places=2)


@SETTINGS
@given(people=st.lists(st.tuples(ids, st.decimals(min_value=0, max_value=50000, places=2),
                                 st.sampled_from(["100000", "333333.33", "1200000", "7", "", "0"])),
                       min_size=1, max_size=3, unique_by=lambda t: t[0]),
       invoices=st.lists(st.tuples(ids, amounts, days), max_size=20))
def test_media_advance_on_generated_data(tmp_path, people, invoices):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    _csv(data / "people.csv", "payee_id,annual_variable", [(p, v) for p, v, _ in people])
    _csv(data / "invoices.csv", "invoice_id,payee_id,amount,invoice_date",
         [(f"i{n}", *r) for n, r in enumerate(invoices)])
    _csv(data / "targets.csv", "payee_id,period,metric,target",  # "": no target (one() stops)
         [(p, "2025", "billing", t) for p, _, t in people if t])
    compare_engines(PLANS / "media-advance.kam", data)


deals_st = st.lists(st.tuples(ids, amounts, st.dates(min_value=dt.date(2024, 11, 1),
                                                     max_value=dt.date(2025, 8, 31)),
                              st.sampled_from(["won", "lost"])), max_size=20)


@SETTINGS
@given(people=st.lists(ids, min_size=1, max_size=3, unique=True), deals=deals_st)
def test_recoverable_draw_on_generated_data(tmp_path, people, deals):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    _csv(data / "people.csv", "payee_id", [(p,) for p in people])
    _csv(data / "deals.csv", "deal_id,owner_id,amount,close_date,status",
         [(f"d{n}", *r) for n, r in enumerate(deals) if r[0] in people])
    compare_engines(PLANS / "recoverable-draw.kam", data)


# A plan whose `let`s read paid() of components defined after them (settled period by
# period), over the other forms of `within`, paid out per quarter.
LEDGER_PLAN = """plan "ledger"
currency EUR
period month
payment {payment}
payees people
round components to cent {mode}
input people key payee_id {{ payee_id: Text  cap: Money }}
input deals {{ deal_id: Text  owner_id: Text  amount: Money  close_date: Date }}

let earned = sum(amount for deals where owner_id == payee.id and close_date in period)
let before = paid(top_up, period.year_to_date) + paid(bonus, period.year)
let last_quarter = paid(commission, period.quarter.previous) + paid(commission, period.previous)
component commission = earned / 3
component top_up when earned < payee.cap = min(payee.cap - earned, payee.cap * 2 - before)
component bonus = if before > payee.cap then 0 EUR else (earned + last_quarter) / 7
"""


@SETTINGS
@given(people=st.lists(st.tuples(ids, st.decimals(min_value=0, max_value=3000, places=2)),
                       min_size=1, max_size=3, unique_by=lambda t: t[0]),
       deals=st.lists(st.tuples(ids, amounts, st.dates(min_value=dt.date(2025, 1, 1),
                                                       max_value=dt.date(2025, 12, 31))), max_size=15),
       payment=st.sampled_from(["month", "quarter"]),
       mode=st.sampled_from(["half_up", "half_even", "down", "ceiling"]))
def test_a_generated_ledger_plan_settles_to_the_interpreter_payouts(tmp_path, people, deals, payment, mode):
    plan = tmp_path / "l.kam"
    plan.write_text(LEDGER_PLAN.format(payment=payment, mode=mode))
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    _csv(data / "people.csv", "payee_id,cap", people)
    _csv(data / "deals.csv", "deal_id,owner_id,amount,close_date", [(f"d{n}", *r) for n, r in enumerate(deals)])
    compare_engines(plan, data)


def test_an_aggregation_of_a_paid_value_is_not_translated(tmp_path):
    plan = tmp_path / "p.kam"
    plan.write_text((PLANS / "recoverable-draw.kam").read_text()
                    + "component over = sum(amount for deals where amount > outstanding) * 1%\n")
    assert "an aggregation of a value that reads paid()" in check_supported(load(plan)[0])


# ---------------------------------------------------------------- key joins
def _frame_run(plan, folder):
    checked = load(plan)[0]
    frames = load_frames(checked, str(folder))
    return checked, evaluate_frames(checked, frames, frame_periods(checked, frames, None))


def test_charter_split_joins_on_keys_not_across_payees(tmp_path, capsys):
    plan = PLANS / "charter-split.kam"
    folder, copies, payees = bench_plans.plan_data(str(plan), 200, str(tmp_path))
    deals = pl.read_csv(f"{folder}/deals.csv").height
    assignments = pl.read_csv(f"{folder}/assignments.csv").height
    checked, (table, frame) = _frame_run(plan, folder)
    assert check_supported(checked) is None and payees >= 200
    assert frame.pairs and max(n for _, n in frame.pairs) <= deals + assignments
    # the cross join the plan used to make: every won deal with every payee-period
    assert frame.df.height * deals > 50 * max(n for _, n in frame.pairs)
    rc_i, want, rc_c, got = _both(plan, folder)
    capsys.readouterr()
    assert rc_i == 0 and rc_c == 0 and got == want


def test_a_lookup_of_a_missing_key_is_the_interpreter_diagnostic(tmp_path, capsys):
    src = PLANS / "tests" / "charter-split" / "acceptance"
    data = tmp_path / "data"
    data.mkdir()
    for f in src.glob("*.csv"):
        (data / f.name).write_text(f.read_text())
    accounts = (data / "accounts.csv").read_text().splitlines()
    kept = [a for a in accounts if not a.startswith("sub-11,")]  # a deal's account gone
    (data / "accounts.csv").write_text("\n".join(kept) + "\n")
    rc_i, _, rc_c, _ = _both(PLANS / "charter-split.kam", data)
    err = capsys.readouterr().err
    assert rc_i == 1 and rc_c == 1 and err.count("error[KR405]") == 2 and "no row of `accounts`" in err
    with pytest.raises(Fallback):
        _frame_run(PLANS / "charter-split.kam", data)


def test_a_join_past_the_bound_is_refused_naming_the_table(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(aggregate, "MAX_JOIN_PAIRS", 3)
    with pytest.raises(Unsupported, match=r"pairs of `assignments` rows and payee-periods that "
                                          r"share a key \(more than 3: the join is refused\)"):
        _frame_run(PLANS / "charter-split.kam", PLANS / "tests" / "charter-split" / "acceptance")
    monkeypatch.setattr(aggregate, "MAX_JOIN_PAIRS", 10)
    plan = tmp_path / "p.kam"
    plan.write_text('''plan "x"
currency EUR
period month
payees people
input people key payee_id { payee_id: Text }
input deals key deal_id { deal_id: Text  owner_id: Text  amount: Money  close_date: Date  status: Text }
let floor = 100 EUR
component n = count(deals where owner_id == payee.id and close_date in period) * 1 EUR
component c = sum(amount for deals where amount > floor) * 1%
''')
    with pytest.raises(Unsupported, match=r"pairs of `deals` rows and payee-periods with no link"):
        _frame_run(plan, EXAMPLES / "draws")
    rc_c, _ = _cli("run", plan, "--data", EXAMPLES / "draws", "--engine", "columnar")
    err = capsys.readouterr().err
    assert rc_c == 1 and "KR002" in err and "the join is refused" in err and "`deals` rows" in err
    rc, out = _cli("run", plan, "--data", EXAMPLES / "draws")  # the interpreter runs it
    assert rc == 0 and out.startswith("payee_id,period,component,amount,currency\n")
