"""The lowered plan (core.ir, check.lower): every plan in plans/ lowers to nodes that pickle
and come back equal, whose uids are a pre-order numbering stable across lowerings, with no
syntax-only node and every name resolved; the backends keep no table keyed by `id()`;
the interpreter runs an unpickled IR plan to the same payouts as the checked plan."""
from __future__ import annotations

import ast as pyast
import pickle

import attrs
import pytest

from conftest import EXAMPLES, PLANS, ROOT
from kamrules.backends.interp import plan_periods
from kamrules.backends.interp.run import evaluate
from kamrules.check.checker import check
from kamrules.check.lower import ir_of, lower
from kamrules.core import ir
from kamrules.data.strict import load_data
from kamrules.diagnostics.source import SourceFile
from kamrules.run.session import Session
from kamrules.syntax import ast as syntax
from kamrules.syntax.parser import parse

PLAN_FILES = sorted(PLANS.glob("*.kam"))
SYNTAX_CLASSES = tuple(c for c in vars(syntax).values()
                       if isinstance(c, type) and attrs.has(c) and c.__module__ == syntax.__name__)


def _checked(path, text=None):
    text = path.read_text() if text is None else text
    checked, diags = check(parse(text, str(path)), SourceFile(str(path), text))
    assert not [d for d in diags if d.is_error], diags
    return checked


def _distinct(plan):
    """Every node of the plan once (a node shared by a `where` and its filter counts once)."""
    out = {}
    for n in ir.nodes(plan):
        out.setdefault(n.uid, []).append(n)
    return out


@pytest.mark.parametrize("path", PLAN_FILES, ids=lambda p: p.stem)
def test_ir_pickles_and_uids_are_a_stable_preorder(path):
    a, b = lower(_checked(path)), lower(_checked(path))
    assert a == b  # two lowerings of the same text: the same nodes, the same uids
    back = pickle.loads(pickle.dumps(a))
    assert back == a and back.definitions.keys() == a.definitions.keys()
    by_uid = _distinct(a)
    # each uid names one node (shared nodes are the same object), and uids are 0 .. size-1
    assert all(all(x is ns[0] for x in ns) for ns in by_uid.values())
    assert sorted(by_uid) == list(range(a.size))
    # pre-order: a node is numbered before every node under it
    for n in by_uid.values():
        for c in ir.children(n[0]):
            assert c.uid > n[0].uid, (n[0], c)


@pytest.mark.parametrize("path", PLAN_FILES, ids=lambda p: p.stem)
def test_ir_has_no_syntax_node_and_every_name_is_resolved(path):
    checked = _checked(path)
    plan = lower(checked)
    seen, stack = set(), [plan]
    while stack:  # every value reachable from the plan: no syntax node, no parentheses
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
        elif attrs.has(type(x)) and not isinstance(x, SourceFile):
            assert not isinstance(x, SYNTAX_CLASSES), x
            key = (type(x).__name__, getattr(x, "uid", None), getattr(x, "span", None), repr(x)[:80])
            if key in seen:
                continue
            seen.add(key)
            stack.extend(getattr(x, f.name) for f in attrs.fields(type(x)))
    names = [n for n in ir.nodes(plan) if isinstance(n, ir.Name)]
    assert names and all(isinstance(n.ref, tuple) and n.ref for n in names)
    for n in names:  # the refs say what the checker found, checked against the plan itself
        kind = n.ref[0]
        if kind == "def":
            assert n.ref[1] == n.id and n.id in plan.definitions
        elif kind == "column":
            assert n.id in plan.inputs[n.ref[2]].columns and n.ref[3] == n.id
        elif kind == "table":
            assert n.id in plan.inputs
        else:
            assert kind in ("payee", "period", "param", "component", "row", "word"), n.ref
    for n in ir.nodes(plan):
        if isinstance(n, ir.Call):
            assert (n.builtin is None) != (n.decision is None)
            assert n.decision is None or plan.definitions[n.decision].kind == "decision"
        if isinstance(n, ir.Where):  # the filter's links and residuals are nodes of the condition
            under = {x.uid for x in ir.walk(n.cond)}
            f = n.filter
            linked = [e for _, e in f.eq + f.in_period] + list(f.rest) + [x for _, r, w in f.assigned for x in (r, w)]
            assert all(e.uid in under for e in linked)


def test_parentheses_are_gone_and_the_value_stays():
    text = ('plan "P"\ncurrency EUR\nperiod month\npayees people\n'
            'input people key payee_id {\n  payee_id: Text\n}\n'
            'let x = ((1 + 2)) * 3\ncomponent c = money(x) * (2)\n')
    plan = lower(_checked(PLANS / "inline.kam", text))
    x = plan.definitions["x"].node.expr
    assert isinstance(x, ir.BinOp) and x.op == "*" and isinstance(x.left, ir.BinOp) and x.left.op == "+"
    c = plan.definitions["c"].node.expr
    assert isinstance(c.right, ir.Number) and c.right.value == 2
    assert c.type.kind == "money" and x.type.kind == "number"


def test_backends_keep_no_table_keyed_by_id():
    """No call of the builtin `id` anywhere in kamrules/backends (types, names and filters
    are fields of the IR nodes; caches key by uid)."""
    found = []
    for path in sorted((ROOT / "kamrules" / "backends").rglob("*.py")):
        for node in pyast.walk(pyast.parse(path.read_text())):
            if isinstance(node, pyast.Call) and isinstance(node.func, pyast.Name) and node.func.id == "id":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_session_lowers_once_and_an_unpickled_ir_gives_the_same_payouts():
    plan_path, data = PLANS / "media-advance.kam", EXAMPLES / "02-media-advance"
    s = Session(str(plan_path), str(data), engine="interpreter")
    checked = s.check()
    assert checked.ir is not None and s.lower() is checked.ir and ir_of(checked) is checked.ir
    changed = attrs.evolve(checked, components=checked.components[:1])  # a changed plan: lowered afresh
    assert changed.ir is None and ir_of(changed).components == checked.components[:1]
    tables = load_data(checked, str(data))
    periods = plan_periods(checked, tables)
    want = evaluate(checked, tables, periods, trace=False)
    got = evaluate(pickle.loads(pickle.dumps(checked.ir)), tables, periods, trace=False)
    key = [(p.payee_id, str(p.period), p.component, p.amount) for p in want]
    assert key == [(p.payee_id, str(p.period), p.component, p.amount) for p in got]
    assert any(p.amount != 0 for p in want)


def test_filters_say_which_links_tie_a_row_to_the_payee():
    """fx-commission filters deals by `owner_id == payee.id and close_date in period`;
    abtasty-kam reads arr `where assignee(account_id, "kam", ...) == payee.id and ...`."""
    fx = lower(_checked(PLANS / "fx-commission.kam"))
    (w,) = [n for n in ir.nodes(fx) if isinstance(n, ir.Where)]
    assert w.filter.payee_links == (("eq", "owner_id"),)
    assert [c for c, _ in w.filter.in_period] == ["close_date"] and w.filter.rest == ()
    ab = lower(_checked(PLANS / "abtasty-kam.kam"))
    arr = [n.filter for n in ir.nodes(ab) if isinstance(n, ir.Where) and n.filter.table == "arr"]
    assert arr and all(f.payee_links == (("assigned", "account_id"),) for f in arr)
    # the assignment link is checked on the day by the conjunct itself, kept as a residual
    assert all(any(isinstance(c, ir.BinOp) and isinstance(c.left, ir.Call) and c.left.builtin == "assignee"
                   for c in f.rest) for f in arr)


def test_a_worker_runs_the_pickled_ir_without_checking_again(monkeypatch):
    """run --jobs: a spawned worker gets (IR plan, tables, periods, trace) pickled and runs
    its slice; here the worker's two steps run in this process, with the checker disabled."""
    import multiprocessing as mp
    from kamrules.check import checker
    from kamrules.run import parallel
    data = EXAMPLES / "01-abtasty-nrr-upsell"
    checked = _checked(PLANS / "abtasty-kam.kam")
    tables = load_data(checked, str(data))
    periods = plan_periods(checked, tables)
    want = evaluate(checked, tables, periods, trace=False)
    bare = {name: type(t)(t.spec, t.path, t.rows) for name, t in tables.items()}
    job = pickle.loads(pickle.dumps((ir_of(checked), bare, periods, False)))
    monkeypatch.setattr(checker, "check", None)  # a worker that re-checked would fail here
    parallel._start(job, mp.get_context("spawn").Value("q", 0))
    ids = sorted({p.payee_id for p in want})
    kind, rows = parallel._work(ids)
    assert kind == "rows"
    assert rows == [(p.payee_id, periods.index(p.period), p.component, p.amount, p.currency) for p in want]
