"""The curves and tables a payee's pay read: for each decision of a component, the row
taken, the payee's point, a sampled curve for the chart, the thresholds (each with the row
that starts there) and the next tier above the payee. Values are kept exact (Decimal) and
formatted at rendering, in the statement's locale (report/statement_html.py).

Curves are sampled by evaluating the decision over a range of its first numeric parameter
(the others kept at the payee's values) with an untraced interpreter.
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from kamrules.backends.interp.arith import Problem
from kamrules.backends.interp.evaluator import Evaluator
from kamrules.check.tables import describe
from kamrules.core.numeric import Money
from kamrules.core.types import TYPE_NAMES
from kamrules.core import ir
from kamrules.trace.tree import TraceNode, show_value, span_text
from kamrules.report import words
from kamrules.report.derivation import decision_of, num

SAMPLES = 80
OUTSIDE = 10  # samples between the thresholds' range and a payee's point outside it
_MEMOS: dict = {}  # (decision id, axis, other arguments) -> (decision, {x: decide_at})


def _memo(plan, name: str, i: int, args: list) -> dict | None:
    """The values of decision `name` along argument i, shared by every payee with the same
    other arguments, when its rows read nothing but literals, params and its arguments
    (None otherwise: a row reading the payee or a let is evaluated for each payee)."""
    d = plan.definitions[name].node
    known = _PURE.get(id(d))
    pure = known[1] if known is not None and known[0] is d else None  # ids are kept with their node
    if pure is None:
        def impure(n):
            r = getattr(n, "ref", None) if isinstance(n, ir.Name) else None
            return r is not None and not (r[0] == "param" or (r[0] == "def" and plan.definitions[r[1]].kind == "param"))
        pure = not any(words.find_nodes(x, impure) for row in d.rows for x in (*row.cells, row.output))
        _PURE[id(d)] = (d, pure)
    if not pure:
        return None
    if len(_MEMOS) > 10_000:
        _MEMOS.clear()
    key = (id(d), i, tuple((k, show_value(v)) for k, v in enumerate(args) if k != i))
    got = _MEMOS.get(key)
    if got is None or got[0] is not d:
        got = _MEMOS[key] = (d, {})
    return got[1]


_PURE: dict = {}
_CALLS: dict = {}  # (id(expression), decision) -> (expression, the calls of the decision in it)


def _calls(expr, name: str) -> list:
    known = _CALLS.get((id(expr), name))
    if known is None or known[0] is not expr:
        known = _CALLS[(id(expr), name)] = (expr, words.find_nodes(
            expr, lambda n: isinstance(n, ir.Call) and n.func == name))
    return known[1]


@attrs.define
class CurveView:
    decision: str
    arg_name: str
    taken: str  # "row 4: | >= 110% |"
    x: Decimal
    y: Decimal
    xkind: str
    ykind: str
    xcur: str | None
    points: list  # [(x, y, rows)]
    thresholds: list  # [Decimal]
    next_tier: tuple | None = None  # (threshold, "from"|"above", row number, cells, value)
    top: bool = False  # the top tier is reached
    why_not: tuple | None = None  # (message id, values) why a zero


def decide_at(ev: Evaluator, d, args: list, ctx):
    """(value, matched row numbers) of decision `d` on `args`, or None when no row matches."""
    lowered = ev.plan.definitions[d.name].node  # the decision as the engine evaluates it (core.ir)
    total, matched = ev.match_rows(lowered, args, ctx, (), lowered, strict=False)
    if lowered.hit == "marginal":  # what the curve pays at x (every slice), not the rate of x's row
        return ev.marginal(lowered, args[0], ctx, (), lowered), tuple(matched)
    if not matched:
        return None
    return total, tuple(matched)


def curves(plan, tables, payee, period, payout, ev=None) -> list:
    out, done = [], set()
    ev = ev or Evaluator(plan, tables, trace=False)
    for owner, node in _decision_nodes(payout.trace, None):
        d = decision_of(plan, node)
        if d is None or owner is None or (owner.name, node.name) in done:
            continue
        done.add((owner.name, node.name))
        try:
            view = _curve(plan, ev, payee, period, owner, node, d)
        except (Problem, LookupError, TypeError, AttributeError, ArithmeticError):
            view = None
        if view is not None:
            out.append(view)
    return out


def _decision_nodes(node: TraceNode, owner, seen=None):
    seen = set() if seen is None else seen
    if id(node) in seen:
        return
    seen.add(id(node))
    if node.kind == "decision":
        yield owner, node
    if node.kind == "paid":
        return
    here = node if node.kind in ("component", "let", "param") else owner
    for c in node.children:
        yield from _decision_nodes(c, here, seen)


def _axis(d) -> int | None:
    for i, (_, tref) in enumerate(d.node.params):
        if TYPE_NAMES.get(tref.name) in ("rate", "number", "count", "money"):
            if any(r.cells[i].kind in ("cmp", "range") for r in d.node.rows if len(r.cells) > i):
                return i
    return None


def _curve(plan, ev, payee, period, owner, node, d) -> CurveView | None:
    owner_def = ev.plan.definitions.get(owner.name)  # lowered (core.ir): evaluated below
    if owner_def is None:
        return None
    ctx = ev.context(payee, period)
    call, args = None, None
    for c in _calls(owner_def.node.expr, d.name):
        vals = [ev.ev(a, ctx, ()) for a in c.args]
        if f"{d.name}({', '.join(show_value(v) for v in vals)})" == node.name:
            call, args = c, vals
            break
    i = _axis(d)
    if call is None or i is None:
        return None
    xkind = TYPE_NAMES.get(d.node.params[i][1].name)
    xcur = args[i].currency if isinstance(args[i], Money) else None
    x = num(args[i])
    memo = _memo(ev.plan, d.name, i, args)

    def at(v):
        if memo is not None and v in memo:
            return memo[v]
        a = list(args)
        a[i] = Money(v, xcur) if xcur else v
        try:
            got = decide_at(ev, d, a, ctx)
        except Problem:
            got = None
        if memo is not None:
            memo[v] = got
        return got

    here = at(x)
    if here is None:
        return None
    y, taken = num(here[0]), here[1]
    inner = ({n: v for (n, _), v in zip(d.node.params, args)},)
    thresholds = set()
    for r in ev.plan.definitions[d.name].node.rows:
        cell = r.cells[i]
        for b in (cell.lo, cell.hi):
            if b is not None and cell.kind in ("cmp", "range"):
                thresholds.add(num(ev.ev(b, ctx, inner)))
    thresholds = sorted(thresholds)


    # the samples depend on the thresholds only (every payee reading this curve shares them,
    # and their values: _memo), plus a few between the range and the payee's point if outside
    pts = thresholds or [x]
    lo, hi = min(pts), max(pts)
    unit = Decimal("0.01") if xkind == "rate" else Decimal(1)
    pad = max((hi - lo) * Decimal("0.15"), unit * 10)
    lo_d, hi_d = lo - pad, hi + pad
    if lo >= 0 > lo_d:
        lo_d = Decimal(0)
    inside = lo_d <= x <= hi_d
    # one list per curve (per point when outside the range: attainments rounded to the
    # percent are shared by many payees), drawn once by report/svg.py
    shared = None if memo is None else ("points", lo_d, hi_d) if inside else ("points", lo_d, hi_d, x)
    points = memo.get(shared) if shared is not None else None
    if points is None:
        step = (hi_d - lo_d) / SAMPLES
        tiny = (hi_d - lo_d) / 10000
        xs = {lo_d + step * k for k in range(SAMPLES + 1)}
        for t in thresholds:
            xs |= {t, t - tiny, t + tiny}
        if not inside:
            edge = hi_d if x > hi_d else lo_d
            xs |= {edge + (x - edge) * k / OUTSIDE for k in range(1, OUTSIDE + 1)}
            lo_d, hi_d = min(lo_d, x), max(hi_d, x)
        points = []
        for v in sorted(xs):
            if lo_d <= v <= hi_d:
                r = at(v)
                if r is not None:
                    points.append((v, num(r[0]), r[1]))
        if shared is not None:
            memo[shared] = points  # one list: report/svg.py draws it once for all its payees
    arg_name = span_text(plan.source, call.args[i].span) or d.node.params[i][0]
    view = CurveView(d.name, arg_name, node.branch or "", x, y, xkind or "number", d.type.kind, xcur,
                     points, thresholds)
    for t in thresholds:
        if t <= x:
            continue
        for v, word in ((t, "from"), (t + unit / 100, "above")):
            r = at(v)
            if r is not None and r[1] and r[1] != taken:
                cells = " | ".join(describe(c, lambda n: getattr(n, "text", None) or getattr(n, "id", "…"))
                                   for c in d.node.rows[r[1][0] - 1].cells)
                view.next_tier = (t, word, r[1][0], cells, num(r[0]))
                break
        if view.next_tier:
            break
    if view.next_tier is None:
        view.top = True
    elif y == 0:
        view.why_not = ("{arg} is {x}, under {t}: this tier pays {y}; {word} {t} it would give {next}",
                        {"arg": arg_name, "x": x, "t": view.next_tier[0], "y": y,
                         "word": view.next_tier[1], "next": view.next_tier[4]})
    return view
