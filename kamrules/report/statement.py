"""Payout statements: one payee's pay for one or more periods, explained for that payee.

`build_statement` turns the traced payouts and the checked plan into a `Statement` (plain
data): the total and each component; each step of the derivation in plain words with the
plan line(s) behind it and the data rows (ids and amounts); for every curve or table the
payee's reading (`CurveView`: the row taken, a sampled curve for the chart, the distance
to the next tier, what one more point would pay, and why a tier was missed); what was
already paid (`paid()` ledger); components that did not apply and why; the plan and input
files with their sha256. `render(statement, fmt)` writes it as html, md or text.

Curves are sampled by evaluating the decision over a range of its first numeric
parameter (the others kept at the payee's values) with an untraced Evaluator; "what if"
amounts re-run the component with the decision's argument moved (`_Probe`). Everything is
in Decimal; the same inputs give byte-identical output (no clock, stable order).
"""
from __future__ import annotations

import decimal
import re
from decimal import Decimal

import attrs

from kamrules.version import __version__

from kamrules.syntax import ast
from kamrules.backends.interp.arith import Problem
from kamrules.backends.interp.evaluator import Evaluator
from kamrules.core import ir
from kamrules.core.numeric import CONTEXT, Money
from kamrules.check.tables import describe
from kamrules.trace.tree import Payout, TraceNode, show_value
from kamrules.core.types import TYPE_NAMES
from kamrules.report import words
from kamrules.diagnostics.textsafe import for_html, for_terminal
from kamrules.report.payouts import run_meta

MAX_ROWS = 25
SAMPLES = 80


@attrs.define
class Step:
    name: str
    kind: str
    depth: int
    sentence: str
    lines: list  # [(line number, source text)]
    rows: list  # [RowRef]
    more_rows: int = 0
    notes: list = attrs.Factory(list)
    unit: str | None = None


@attrs.define
class CurveView:
    decision: str
    arg_name: str
    taken: str  # "row 4: | >= 110% |"
    x: str
    y: str
    svg: str
    next_tier: str | None = None
    effort: list = attrs.Factory(list)
    why_not: str | None = None


@attrs.define
class ComponentView:
    name: str
    amount: Money
    steps: list
    curves: list


@attrs.define
class PeriodView:
    period: str
    total: Money
    components: list
    paid: list  # sentences
    absent: list  # sentences: components that did not apply, and why
    not_eligible: str | None = None


@attrs.define
class Statement:
    plan_name: str
    plan_version: str | None
    plan_file: str
    plan_sha256: str
    inputs: list  # [(name, file, sha256)]
    payee_id: str
    payee_name: str | None
    currency: str
    periods: list
    kamrules_version: str = __version__


# ---------------------------------------------------------------- evaluation helpers
class _Probe(Evaluator):
    """An untraced evaluator whose `bump` = (uid of an IR arg node, f) rewrites one operand."""

    def __init__(self, plan, tables, bump=None):
        super().__init__(plan, tables, trace=False)
        self.bump = bump

    def _operand(self, node, ctx, env):
        v = super()._operand(node, ctx, env)
        if self.bump is not None and node.uid == self.bump[0]:
            v = self.bump[1](v)
        return v


def _num(v):
    return v.amount if isinstance(v, Money) else v


def decide_at(ev: Evaluator, d, args: list, ctx):
    """(value, matched row numbers) of decision `d` on `args`, or None when no row matches."""
    dec = ev.plan.definitions[d.name].node  # the lowered decision (core.ir)
    total, matched = ev.match_rows(dec, args, ctx, (), dec, strict=False)
    if not matched:
        return None
    return total, tuple(matched)


def _lines(source, first: int, last: int) -> list:
    lines = source.text.splitlines()
    return [(n, lines[n - 1]) for n in range(first, min(last, len(lines)) + 1) if n >= 1]


# ---------------------------------------------------------------- the statement
def build_statement(plan, tables, payouts: list, payee_id: str, periods: list, plan_path: str,
                    meta: dict | None = None, payee=None) -> Statement:
    """meta (report.payouts.run_meta) and payee (the payee's row), when given, spare the
    statements of many payees hashing the inputs and scanning the payees again."""
    with decimal.localcontext(CONTEXT):
        return _build(plan, tables, payouts, payee_id, periods, plan_path, meta, payee)


def _build(plan, tables, payouts, payee_id, periods, plan_path, meta, payee):
    if meta is None:
        meta = run_meta(plan_path, plan.name, plan.version, tables, __version__)
    if payee is None:
        payee = next(r for r in tables[plan.payees_table].rows if r.id == payee_id)
    name = payee.values.get("name")
    views = []
    for period in periods:
        items = [p for p in payouts if p.payee_id == payee_id and p.period == period]
        views.append(_period_view(plan, tables, payee, period, items))
    inputs = [(k, v["file"], v["sha256"]) for k, v in meta["inputs"].items()]
    return Statement(plan.name, plan.version, meta["plan"]["file"], meta["plan"]["sha256"], inputs,
                     payee_id, name if isinstance(name, str) else None, plan.currency, views)


def _period_view(plan, tables, payee, period, items: list[Payout]) -> PeriodView:
    total = Money(sum((p.amount for p in items), Decimal(0)), plan.currency)
    calc = period.kind == plan.period_kind  # one calculation period: what-ifs make sense
    comps, paid = [], {}
    where = (_Probe(plan, tables), payee, period) if calc else None
    for p in items:
        steps, curves = [], []
        if p.trace is not None:
            _steps(plan, p.trace, 0, steps, set(), paid, where)
            if calc:
                curves = _curves(plan, tables, payee, period, p)
        comps.append(ComponentView(p.component, Money(p.amount, p.currency), steps, curves))
    absent, not_eligible = [], None
    if calc:
        probe = _Probe(plan, tables)
        ctx = probe.context(payee, period)
        try:
            if not probe.is_eligible(ctx):
                el = plan.eligible
                not_eligible = (f"not eligible in {period}: `eligible when {words.span_text(plan.source, el.span)}` "
                                f"(line {el.span.line}) is false")
            else:
                shown = {p.component for p in items}
                for name in plan.components:
                    if name not in shown and not probe.component_exists(ctx, name):
                        absent.append(_absent_reason(plan, probe, ctx, name))
        except Problem:
            pass
    return PeriodView(str(period), total, comps, [paid[k] for k in sorted(paid)], absent, not_eligible)


def _absent_reason(plan, probe, ctx, name) -> str:
    comp = probe.plan.definitions[name].node
    if comp.valid_from is not None or comp.valid_to is not None:
        lo = probe.constant(comp.valid_from) if comp.valid_from is not None else None
        hi = probe.constant(comp.valid_to) if comp.valid_to is not None else None
        if (lo is not None and ctx.period.end < lo) or (hi is not None and ctx.period.start > hi):
            return f"{name}: runs from {lo or '…'} to {hi or '…'} only (line {comp.span.line})"
    if comp.when is not None:
        return (f"{name}: not paid this period: `when {words.span_text(plan.source, comp.when.span)}` "
                f"(line {comp.when.span.line}) is false")
    return f"{name}: not paid this period"


def _decision_of(plan, node: TraceNode):
    name = node.name.split("(", 1)[0]
    d = plan.definitions.get(name)
    return d if d is not None and d.kind == "decision" else None


def _steps(plan, node: TraceNode, depth: int, out: list, seen: set, paid: dict, where=None):
    if id(node) in seen:
        return
    seen.add(id(node))
    unit = node.unit
    lines = []
    notes = []
    d = plan.definitions.get(node.name)
    if node.kind in ("component", "let", "param") and node.span is not None and d is not None:
        lines = _lines(plan.source, node.span.line, node.span.end_line)
        for part in (node.branch or "").split("; "):
            m = re.match(r"line (\d+): (then|else)$", part)
            if m:
                for f in words.find_nodes(d.node.expr, lambda n: isinstance(n, ast.IfElse)):
                    if f.span.line == int(m.group(1)):
                        cond = words.span_text(plan.source, f.cond.span)
                        truth = "true" if m.group(2) == "then" else "false"
                        notes.append(f"line {f.span.line}: `{cond}` is {truth}, so the `{m.group(2)}` "
                                     "branch applies")
                        break
            elif part.startswith("prorated"):
                notes.append(part)
        if where is not None:
            notes += _caps(plan, d, where)
    elif node.kind == "decision":
        dd = _decision_of(plan, node)
        if dd is not None:
            unit = dd.type.kind
            m = re.match(r"rows? (\d+)", node.branch or "")
            first = [(dd.span.line, plan.source.line_text(dd.span.line))]
            if m and 1 <= int(m.group(1)) <= len(dd.node.rows):
                row = dd.node.rows[int(m.group(1)) - 1]
                lines = first + _lines(plan.source, row.span.line, row.span.line)
            else:
                lines = first
    elif node.kind == "paid":
        paid[node.name] = words.sentence(node)
        if node.span is not None:
            lines = _lines(plan.source, node.span.line, node.span.line)
    out.append(Step(node.name, node.kind, depth, words.sentence(node, unit), lines,
                    list(node.rows[:MAX_ROWS]), max(0, len(node.rows) - MAX_ROWS), notes, unit))
    if node.kind == "paid":
        return  # earlier periods: their own statements explain them
    for c in node.children:
        _steps(plan, c, depth + 1, out, seen, paid, where)


def _caps(plan, d, where) -> list:
    """Why-not notes for two-argument min/max in a definition: which side won (a cap, a floor)."""
    probe, payee, period = where
    out = []
    for call in words.find_nodes(probe.plan.definitions[d.name].node.expr,
                                 lambda n: isinstance(n, ir.Call) and n.func in ("min", "max")
                                 and len(n.args) == 2):
        try:
            ctx = probe.context(payee, period)
            a, b = (probe.ev(x, ctx, ()) for x in call.args)
        except (Problem, LookupError, TypeError, AttributeError, ArithmeticError):
            continue
        if a is None or b is None or _num(a) == _num(b):
            continue
        units = [x.type for x in call.args]
        shown = [words.value(v, t.kind if t is not None else None) for v, t in zip((a, b), units)]
        texts = [words.span_text(plan.source, x.span) for x in call.args]
        keep = 0 if (_num(a) < _num(b)) == (call.func == "min") else 1
        what = "cap" if call.func == "min" else "floor"
        limits = [_is_limit(plan, x) for x in call.args]
        line = f"line {call.span.line}: "
        if limits[0] == limits[1]:
            out.append(line + f"{call.func}() keeps {shown[keep]} (`{texts[0]}` = {shown[0]}, "
                       f"`{texts[1]}` = {shown[1]})")
            continue
        lim = 0 if limits[0] else 1
        if keep == lim:
            out.append(line + f"the {what} `{texts[lim]}` = {shown[lim]} applies: `{texts[1 - lim]}` is "
                       f"{shown[1 - lim]}")
        else:
            side = "under" if call.func == "min" else "above"
            out.append(line + f"`{texts[1 - lim]}` = {shown[1 - lim]} is {side} the {what} "
                       f"`{texts[lim]}` = {shown[lim]}")
    return out


def _is_limit(plan, node) -> bool:
    """A literal or a param: the fixed side of a cap or a floor."""
    while isinstance(node, ir.Neg):
        node = node.expr
    if isinstance(node, (ir.Number, ir.MoneyLit)):
        return True
    r = node.ref if isinstance(node, ir.Name) else None
    return r is not None and r[0] == "def" and plan.definitions[r[1]].kind == "param"


# ---------------------------------------------------------------- curves
def _curves(plan, tables, payee, period, payout: Payout) -> list:
    out, done = [], set()
    for owner, node in _decision_nodes(payout.trace, None):
        d = _decision_of(plan, node)
        if d is None or owner is None or (owner.name, node.name) in done:
            continue
        done.add((owner.name, node.name))
        try:
            view = _curve(plan, tables, payee, period, payout, owner, node, d)
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


def _fmt(kind, currency):
    if kind == "rate":
        return words.percent
    if kind == "money":
        return lambda v: f"{words.amount(v)} {currency}"
    return lambda v: words.value(v)


def _curve(plan, tables, payee, period, payout, owner, node, d) -> CurveView | None:
    probe = _Probe(plan, tables)
    owner_def = probe.plan.definitions.get(owner.name)  # the lowered definition (core.ir)
    if owner_def is None:
        return None
    ctx = probe.context(payee, period)
    call, args = None, None
    for c in words.find_nodes(owner_def.node.expr, lambda n: isinstance(n, ir.Call) and n.func == d.name):
        vals = [probe.ev(a, ctx, ()) for a in c.args]
        if f"{d.name}({', '.join(show_value(v) for v in vals)})" == node.name:
            call, args = c, vals
            break
    i = _axis(d)
    if call is None or i is None:
        return None
    xkind = TYPE_NAMES.get(d.node.params[i][1].name)
    xcur = args[i].currency if isinstance(args[i], Money) else None
    xfmt, yfmt = _fmt(xkind, xcur), _fmt(d.type.kind, plan.currency)
    x = _num(args[i])
    here = decide_at(probe, d, args, ctx)
    if here is None:
        return None
    y, taken = _num(here[0]), here[1]
    inner = ({n: v for (n, _), v in zip(d.node.params, args)},)
    thresholds = set()
    for r in probe.plan.definitions[d.name].node.rows:
        cell = r.cells[i]
        for b in (cell.lo, cell.hi):
            if b is not None and cell.kind in ("cmp", "range"):
                thresholds.add(_num(probe.ev(b, ctx, inner)))
    thresholds = sorted(thresholds)

    def with_x(v):
        a = list(args)
        a[i] = Money(v, xcur) if xcur else v
        return a

    def at(v):
        try:
            return decide_at(probe, d, with_x(v), ctx)
        except Problem:
            return None

    pts = thresholds + [x]
    lo, hi = min(pts), max(pts)
    unit = Decimal("0.01") if xkind == "rate" else Decimal(1)
    pad = max((hi - lo) * Decimal("0.15"), unit * 10)
    lo_d, hi_d = lo - pad, hi + pad
    if lo >= 0 > lo_d:
        lo_d = Decimal(0)
    step = (hi_d - lo_d) / SAMPLES
    tiny = (hi_d - lo_d) / 10000
    xs = {lo_d + step * k for k in range(SAMPLES + 1)} | {x}
    for t in thresholds:
        xs |= {t, t - tiny, t + tiny}
    points = []
    for v in sorted(xs):
        if lo_d <= v <= hi_d:
            r = at(v)
            if r is not None:
                points.append((v, _num(r[0]), r[1]))
    arg_node = call.args[i]
    arg_name = words.span_text(plan.source, arg_node.span) or d.node.params[i][0]
    svg_title = f"{d.name}: {arg_name} against {d.name}"
    from kamrules.report.svg import curve_svg
    svg = curve_svg(points, (x, y), xfmt, yfmt, svg_title, thresholds)
    view = CurveView(d.name, arg_name, node.branch or "", xfmt(x), yfmt(y), svg)
    # next tier: the first threshold above x where another row takes over
    nxt = None
    for t in thresholds:
        if t <= x:
            continue
        for v, word in ((t, "from"), (t + unit / 100, "above")):
            r = at(v)
            if r is not None and r[1] != taken:
                nxt = (t, v, word, r)
                break
        if nxt:
            break
    comp_now = payout.amount

    def what_if(f) -> Decimal | None:
        p2 = _Probe(probe.plan, tables, bump=(arg_node.uid, f))
        try:
            v = p2.component(p2.context(payee, period), payout.component)
        except Problem:
            return None
        return None if v is None else v.amount - comp_now

    cur = plan.currency
    if nxt is not None:
        t, v, word, r = nxt
        dist = words.points(t - x) if xkind == "rate" else xfmt(t - x)
        cells = " | ".join(describe(c, lambda n: getattr(n, "text", None) or getattr(n, "id", "…"))
                           for c in d.node.rows[r[1][0] - 1].cells)
        view.next_tier = (f"next tier: {word} {xfmt(t)} ({dist} away), row {r[1][0]} "
                          f"(| {cells} |) gives {yfmt(_num(r[0]))}")
        gain = what_if(lambda old: Money(v, old.currency) if isinstance(old, Money) else v)
        if gain is not None:
            view.effort.append(f"reaching {xfmt(t)} would pay {_signed(gain, cur)} on {payout.component}")
        if y == 0:
            first = "the first tier" if taken == (1,) else f"row {taken[0]}"
            view.why_not = (f"why not more: {arg_name} is {xfmt(x)} < {xfmt(t)}: {first} pays "
                            f"{yfmt(y)}; {word} {xfmt(t)} it would give {yfmt(_num(r[0]))}")
    else:
        view.next_tier = "top tier reached: no further threshold"
    if xkind == "rate":
        delta, label = Decimal("0.01"), f"one more point of {arg_name} ({xfmt(x)} → {xfmt(x + Decimal('0.01'))})"
    elif x != 0:
        delta, label = abs(x) / 100, f"1% more {arg_name} ({xfmt(x)} → {xfmt(x + abs(x) / 100)})"
    else:
        delta = None
    if delta is not None:
        gain = what_if(lambda old: Money(old.amount + delta, old.currency) if isinstance(old, Money)
                       else old + delta)
        if gain is not None:
            view.effort.insert(0, f"{label} would pay {_signed(gain, cur)} on {payout.component}")
    return view


def _signed(v: Decimal, cur: str) -> str:
    return ("+" if v >= 0 else "-") + f"{words.amount(abs(v))} {cur}"


__all__ = ["Statement", "build_statement", "decide_at", "render"]


# ---------------------------------------------------------------- html
CSS = """
*{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
margin:0;color:#1f2328;background:#f6f8fa}main{max-width:52rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.2rem;margin:1.2rem 0 .4rem}h3{font-size:1.05rem;
margin:.2rem 0 .6rem;display:flex;justify-content:space-between;gap:.5rem;flex-wrap:wrap}
section,.component{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:.8rem;margin:.8rem 0}
.component{border-color:#e6e9ed}.amount{font-variant-numeric:tabular-nums;white-space:nowrap;font-weight:600}
.total{font-size:1.25rem}table{border-collapse:collapse;width:100%}td,th{padding:.3rem .4rem;
border-bottom:1px solid #eee;text-align:left}td.num,th.num{text-align:right}
pre{background:#f6f8fa;padding:.4rem .5rem;border-radius:6px;overflow-x:auto;margin:.3rem 0;font-size:.85rem}
.ln{color:#8c959f;user-select:none}svg.chart{width:100%;max-width:480px;height:auto;display:block}
.curve{border-left:3px solid #1f6feb;padding-left:.6rem;margin:.6rem 0}.why{color:#9a6700}
ul.rows{margin:.2rem 0 .4rem;padding-left:1.2rem;font-size:.9rem}ol.steps{list-style:none;padding:0;margin:0}
ol.steps>li{margin:.35rem 0}.note{color:#57606a;font-size:.9rem}.meta{font-size:.8rem;color:#57606a;
word-break:break-all}details summary{cursor:pointer;font-weight:600}
@media (max-width:600px){body{font-size:14px}main{padding:.5rem}section,.component{padding:.6rem}
pre{white-space:pre-wrap;overflow-wrap:anywhere}}
"""


def _code_html(lines: list) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter

    from kamrules.syntax.highlight import KamLexer
    if not lines:
        return ""
    code = highlight("\n".join(for_terminal(t) for _, t in lines), KamLexer(), HtmlFormatter(noclasses=True, nowrap=True))
    out = []
    for (n, _), h in zip(lines, code.rstrip("\n").split("\n")):
        out.append(f'<span class="ln">{n:>4} </span>{h}')
    return "<pre>" + "\n".join(out) + "</pre>"


def _amount_html(m: Money, component: str, period: str) -> str:
    e = html_escape
    return (f'<span class="amount" data-component="{e(component)}" data-period="{e(period)}">'
            f"{e(words.money(m))}</span>")


def html_escape(text) -> str:
    """Text for HTML: controls shown escaped (invalid in HTML), &<>"' as entities."""
    return for_html(text)


def render_html(st: Statement) -> str:
    e = html_escape
    who = st.payee_id + (f" · {st.payee_name}" if st.payee_name else "")
    out = ['<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>Statement {e(st.payee_id)} · {e(st.plan_name)}</title><style>{CSS}</style></head>",
           "<body><main>", f"<h1>Payout statement: {e(who)}</h1>",
           f"<p>Plan <b>{e(st.plan_name)}</b>" + (f", version {e(st.plan_version)}" if st.plan_version else "")
           + "</p>"]
    for pv in st.periods:
        out.append(f'<section class="period" data-period="{e(pv.period)}"><h2>{e(pv.period)}</h2>')
        out.append(f'<p class="total">Total {_amount_html(pv.total, "total", pv.period)}</p>')
        if pv.not_eligible:
            out.append(f'<p class="why">{e(pv.not_eligible)}</p>')
        if pv.components:
            out.append('<table class="summary"><tr><th>component</th><th class="num">amount</th></tr>')
            for c in pv.components:
                out.append(f'<tr><td>{e(c.name)}</td><td class="num">{_amount_html(c.amount, c.name, pv.period)}'
                           "</td></tr>")
            out.append("</table>")
        for line in pv.absent:
            out.append(f'<p class="why">{e(line)}</p>')
        if pv.paid:
            out.append("<h3>Paid earlier (ledger)</h3><ul>" + "".join(f"<li>{e(x)}</li>" for x in pv.paid)
                       + "</ul>")
        for c in pv.components:
            out.append(f'<div class="component"><h3><span>{e(c.name)}</span>'
                       f"{_amount_html(c.amount, c.name, pv.period)}</h3>")
            for cv in c.curves:
                out.append(f'<div class="curve"><p><b>{e(cv.decision)}</b> at {e(cv.arg_name)} = {e(cv.x)}: '
                           f"{e(cv.taken)} → {e(cv.y)}</p>{cv.svg}<ul>")
                if cv.next_tier:
                    out.append(f"<li>{e(cv.next_tier)}</li>")
                for x in cv.effort:
                    out.append(f"<li>Where to put the effort: {e(x)}</li>")
                if cv.why_not:
                    out.append(f'<li class="why">{e(cv.why_not)}</li>')
                out.append("</ul></div>")
            out.append("<details open><summary>How it is computed</summary><ol class=\"steps\">")
            for s in c.steps:
                out.append(f'<li style="margin-left:{min(s.depth, 6) * 10}px"><div>{e(s.sentence)}</div>')
                out.append(_code_html(s.lines))
                for n in s.notes:
                    out.append(f'<div class="note">{e(n)}</div>')
                if s.rows:
                    out.append('<ul class="rows">' + "".join(
                        f"<li>{e(words.row_line(r))}" + "".join(f'<div class="note">because {e(w)}</div>'
                                                                for w in r.why) + "</li>"
                        for r in s.rows) + (f"<li>… {s.more_rows} more rows</li>" if s.more_rows else "")
                        + "</ul>")
                out.append("</li>")
            out.append("</ol></details></div>")
        out.append("</section>")
    out.append(_provenance_html(st))
    out.append("</main></body></html>\n")
    return "".join(out)


def _provenance_html(st: Statement) -> str:
    e = html_escape
    rows = [f"<tr><td>plan</td><td>{e(st.plan_file)}</td><td>{e(st.plan_sha256)}</td></tr>"]
    rows += [f"<tr><td>{e(n)}</td><td>{e(f)}</td><td>{e(h)}</td></tr>" for n, f, h in st.inputs]
    return (f'<section class="meta"><b>Computed from</b> (kamrules {e(st.kamrules_version)}, sha256)'
            f"<table>{''.join(rows)}</table></section>")


def render(st: Statement, fmt: str) -> str:
    if fmt == "html":
        return render_html(st)
    if fmt == "md":
        return words.render_md(st)
    return words.render_text(st)
