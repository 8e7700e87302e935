"""Properties (hypothesis) the engine must keep on any data: pools conserve totals, traces
re-add, monotone curves give monotone payouts, components add up to the total row, and money
never meets a float."""
from __future__ import annotations

import csv
import decimal
import io
import re
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import EXAMPLES, PLANS, ROOT, examples
from kamrules import evaluate, load_data, load_plan, plan_periods
from kamrules.core.numeric import allocate
from kamrules.core.numeric import CONTEXT, Money
from kamrules.report.payouts import to_csv

SETTINGS = dict(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------- pools

cents = st.integers(min_value=0, max_value=10**9).map(lambda c: Decimal(c).scaleb(-2))
weights = st.dictionaries(
    st.text(alphabet="abcdefghij-0123456789", min_size=1, max_size=6),
    st.one_of(st.none(), st.integers(-5, 10**6).map(Decimal),
              st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False)),
    min_size=1, max_size=12)


@settings(**{**SETTINGS, "max_examples": examples(150)})
@given(total=cents, w=weights, data=st.data())
def test_share_conserves_the_pool(total, w, data):
    out = allocate(Money(total, "EUR"), w)
    assert set(out) == set(w)
    active = {k: v for k, v in w.items() if v is not None and v > 0}
    if not active:
        assert all(m.amount == 0 for m in out.values())
        return
    assert sum((m.amount for m in out.values()), Decimal(0)) == total
    s = sum(active.values(), Decimal(0))
    with decimal.localcontext(CONTEXT):
        for k, m in out.items():
            exact = total * active[k] / s if k in active else Decimal(0)
            assert abs(m.amount - exact) < Decimal("0.01")
            assert m.amount >= 0 and m.amount == m.amount.quantize(Decimal("0.01"))
    order = data.draw(st.permutations(sorted(w)))
    again = allocate(Money(total, "EUR"), {k: w[k] for k in order})
    assert again == out


# ---------------------------------------------------------------- generated AB Tasty data

CASE = EXAMPLES / "01-abtasty-nrr-upsell"
PLAN = PLANS / "abtasty-kam.kam"
ACCOUNTS = ["acc-101", "acc-102", "acc-103", "acc-104", "acc-105", "acc-201", "acc-202", "acc-203",
            "acc-204", "acc-301", "acc-302", "acc-303"]
HEADER = ("deal_id,account_id,owner_id,type,product,amount,close_date,contract_months,discount,"
          "margin,status,cancel_date\n")

deal = st.tuples(st.sampled_from(ACCOUNTS),
                 st.sampled_from(["expansion", "contraction", "churn", "new_business", "renewal"]),
                 st.integers(0, 300_000),
                 st.integers(1, 90),
                 st.sampled_from(["won", "won", "won", "lost", "open"]))
deals = st.lists(deal, min_size=0, max_size=12)


def deals_csv(rows):
    out = [HEADER]
    for i, (acc, kind, amount, day, status) in enumerate(rows, 1):
        month, dom = 1 + (day - 1) // 30, 1 + (day - 1) % 28
        out.append(f"dl-{i:04d},{acc},x,{kind},abtasty,{amount},2025-{month:02d}-{dom:02d},12,0,,{status},\n")
    return "".join(out)


def run_on(rows, trace=True):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        shutil.copytree(CASE, folder)
        (folder / "deals.csv").write_text(deals_csv(rows))
        checked = load_plan(str(PLAN))
        tables = load_data(checked, str(folder))
        return evaluate(checked, tables, plan_periods(checked, tables, "2025-Q1"), trace=trace)


def amounts(payouts):
    return {(p.payee_id, p.component): p.amount for p in payouts}


def _num(v):
    return v.amount if isinstance(v, Money) else v


@settings(**SETTINGS)
@given(rows=deals)
def test_traces_re_add_and_components_hold_their_amount(rows):
    payouts = run_on(rows)
    assert payouts
    for p in payouts:
        assert _num(p.trace.value) == p.amount
        for node in p.trace.walk():
            if node.kind == "aggregate" and node.name.startswith("sum("):
                assert sum((_num(r.contribution) for r in node.rows), Decimal(0)) == _num(node.value)
            elif node.kind == "aggregate" and node.name.startswith("count("):
                assert Decimal(len(node.rows)) == node.value
            elif node.kind == "component" and node.value is not None:
                assert _num(node.value) == _num(node.value).quantize(Decimal("0.01"))


@settings(**SETTINGS)
@given(rows=deals, extra=st.integers(0, 200_000), which=st.integers(0, 11))
def test_more_expansion_never_pays_less(rows, extra, which):
    """The plan's curve is monotone: more expansion on an account raises NRR and net upsell,
    so no component of any payee goes down."""
    before = amounts(run_on(rows, trace=False))
    after = amounts(run_on(rows + [(ACCOUNTS[which], "expansion", extra, 15, "won")], trace=False))
    assert set(before) == set(after)
    for key, amount in before.items():
        assert after[key] >= amount, key


@settings(**SETTINGS)
@given(rows=deals)
def test_components_add_up_to_the_total_row(rows):
    text = to_csv(run_on(rows, trace=False))
    per_key: dict = {}
    totals = {}
    for r in csv.DictReader(io.StringIO(text)):
        key = (r["payee_id"], r["period"])
        if r["component"] == "total":
            totals[key] = Decimal(r["amount"])
        else:
            per_key[key] = per_key.get(key, Decimal(0)) + Decimal(r["amount"])
    assert totals and set(totals) == set(per_key)
    for key, total in totals.items():
        assert total == per_key[key]


@settings(**SETTINGS)
@given(rows=deals)
def test_money_never_meets_a_float(rows):
    with decimal.localcontext(CONTEXT) as ctx:
        ctx.traps[decimal.FloatOperation] = True
        payouts = run_on(rows)
    for p in payouts:
        assert isinstance(p.amount, Decimal)
        for node in p.trace.walk():
            assert not isinstance(node.value, float)
            assert not isinstance(getattr(node.value, "amount", None), float)
            for r in node.rows:
                assert not isinstance(_num(r.contribution), float)


def test_no_float_in_the_source():
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in (ROOT / "kamrules").rglob("*.py")
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if re.search(r"\bfloat\(", line.split("#")[0])]
    assert offenders == []
