"""The aggregation layer: which input rows a `rows where cond` filter keeps.

Conjuncts `column == value` and `date_column in period` are answered from per-table indexes
(rows grouped by column value, or by the calendar period a date falls in), built once per
run; the other conjuncts are evaluated row by row. This is what keeps a plan over many
payees and periods from rescanning every table for every payee.
"""
from __future__ import annotations

from kamrules.core import ir
from kamrules.core.calendar import period_of
from kamrules.core.ir import Filter


_PERIOD_KEYS: dict = {}


def period_key(kind: str, fiscal: int):
    """The key function date -> Period of `kind`: one function object per (kind, fiscal
    start), so that `Table.index` (cached by key function) builds each index only once."""
    fn = _PERIOD_KEYS.get((kind, fiscal))
    if fn is None:
        fn = _PERIOD_KEYS[(kind, fiscal)] = lambda d: period_of(d, kind, fiscal)
    return fn


def candidates(table, flt: Filter, key_values: list, periods: list):
    """Rows of `table` that satisfy the indexed conjuncts; None if none is indexable.

    key_values: evaluated right-hand sides of flt.eq, in order;
    periods: evaluated Periods of flt.in_period, in order.
    """
    best = None
    for (col, _), value in zip(flt.eq, key_values):
        rows = table.index(col).get(value, ())
        if best is None or len(rows) < len(best):
            best = rows
        if not best:
            return []
    for (col, _), p in zip(flt.in_period, periods):
        if p is None:
            return []
        if p.kind == "range":  # year-to-date and other spans: checked row by row
            continue
        rows = table.index(col, period_key(p.kind, p.fiscal_start)).get(p, ())
        if best is None or len(rows) < len(best):
            best = rows
        if not best:
            return []
    return best


def row_passes_index(row, flt: Filter, key_values: list, periods: list) -> bool:
    """Re-check the indexed conjuncts on one row (the index used covers only one of them)."""
    for (col, _), value in zip(flt.eq, key_values):
        v = row.values[col]
        if v is None or value is None:
            if not (v is None and value is None):
                return False
        elif v != value:
            return False
    for (col, _), p in zip(flt.in_period, periods):
        d = row.values[col]
        if d is None or p is None or not p.contains_date(d):
            return False
    return True


# ------------------------------------------------------------------ per-(filter, period) group-by
# `rows where ... and f(row) == payee_expr` (f reads only the row, the period and constants;
# payee_expr does not read the row), at the top of a definition: the rows that pass the
# payee-independent conjuncts are grouped once by f(row) for each (filter, index keys,
# period) and each payee takes its group by key, instead of filtering the table again for
# every payee. Conjuncts after the grouping one are still evaluated per payee and row, in
# order; rows keep file order; the why-notes of the trace are kept per row.

_PURE_CALLS = frozenset({"assignee", "round", "abs", "money", "default", "present", "between", "days"})
_FREE = frozenset({"row", "period"})
_NO_GROUPING = object()


def reads(plan, expr, ref=None) -> set:
    """What `expr` reads: "row" (the filtered row), "period", "payee", "other" (anything
    this layer does not follow: other definitions, tables, aggregates, decisions);
    ref(node), when given, stands for the nodes' `ref` (the columnar RuleFrame rebases rows)."""
    ref = ref or _ref
    out: set = set()
    stack = [expr]
    while stack:
        x = stack.pop()
        if isinstance(x, ir.LITERALS):
            continue
        if isinstance(x, ir.Name):
            r = ref(x)
            kind = r[0] if r else None
            if kind == "column":
                out.add("row" if r[1] == 0 else "other")
            elif kind == "def":
                d = plan.definitions[r[1]]
                out.add("const" if d.kind == "param" else "payee")
            elif kind in ("payee", "period"):
                out.add(kind)
            else:
                out.add("other")
        elif isinstance(x, ir.Attr):
            r = ref(x)
            if r is not None and r[0] == "column":
                out.add("row" if r[1] == 0 else "other")
            else:
                stack.append(x.obj)
        elif isinstance(x, ir.Call):
            if x.func in _PURE_CALLS and x.decision is None:
                stack.extend(x.args)
            else:
                out.add("other")
        elif isinstance(x, ir.BinOp):
            stack += [x.left, x.right]
        elif isinstance(x, (ir.Not, ir.Neg)):
            stack.append(x.expr)
        elif isinstance(x, ir.IfElse):
            stack += [x.cond, x.then, x.else_]
        elif isinstance(x, ir.ListLit):
            stack.extend(x.items)
        else:
            out.add("other")
    out.discard("const")
    return out


def _ref(node):
    return node.ref


def _analyse(plan, flt):
    """(conjuncts before, row-side key, payee-side expr, conjuncts after) or None."""
    for _, e in flt.eq + flt.in_period:
        if not reads(plan, e) <= {"period"}:
            return None
    for i, c in enumerate(flt.rest):
        what = reads(plan, c)
        if what <= _FREE:
            continue
        if isinstance(c, ir.BinOp) and c.op == "==":
            for key, who in ((c.left, c.right), (c.right, c.left)):
                wr = reads(plan, who)
                if reads(plan, key) <= _FREE and "payee" in wr and wr <= {"payee", "period"}:
                    return flt.rest[:i], key, who, flt.rest[i + 1:]
        return None
    return None


def grouped_rows(ev, node, flt, table, ctx, env, keys: list, periods: list):
    """The rows of a top-level `table where ...` for ctx's payee through the group-by, or
    None when the filter does not have the shape (the caller then filters as usual).

    Any error while grouping makes this filter fall back for good, so that errors are
    raised where and as the row-by-row filter raises them.
    """
    if env or ctx is None:
        return None
    plan = ev.plan
    key = ("kamrules.select.analysis", node.uid)
    if key not in plan.cache:
        plan.cache[key] = _analyse(plan, flt)
    shape = plan.cache[key]
    if shape is None:
        return None
    before, key_expr, who_expr, after = shape
    try:
        cache_key = ("kamrules.select.grouped", plan.token, node.uid, tuple(keys), tuple(periods),
                     ctx.period, bool(ev.tracing))
        groups = table._indexes.get(cache_key)
    except TypeError:  # an unhashable key (a list): no grouping
        return None
    if groups is None:
        groups = _group(ev, flt, table, ctx, keys, periods, before, key_expr)
        table._indexes[cache_key] = groups
    if groups is _NO_GROUPING:
        return None
    who = ev.ev(who_expr, ctx, env)
    bucket = groups.get(who, ())
    if who is not None and bucket and type(bucket[0][2]) is not type(who):
        return None  # 1 == Decimal(1) style cross-type keys: let the evaluator compare
    out = []
    payee_id = ctx.payee.id
    saved = ev.notes
    try:
        for row, notes, _ in bucket:
            if after:
                ev.notes = list(notes) if ev.tracing else None
                if not all(ev.ev(c, ctx, (row,)) for c in after):
                    continue
                notes = tuple(ev.notes) if ev.tracing else ()
            out.append(row)
            if notes:
                ev.why[(row.table, row.number, payee_id)] = tuple(notes)
    finally:
        ev.notes = saved
    return out


def _group(ev, flt, table, ctx, keys, periods, before, key_expr):
    rows = candidates(table, flt, keys, periods)
    if rows is None:
        rows = table.rows
    groups: dict = {}
    saved = ev.notes
    try:
        for row in rows:
            if not row_passes_index(row, flt, keys, periods):
                continue
            inner = (row,)
            ev.notes = [] if ev.tracing else None
            if all(ev.ev(c, ctx, inner) for c in before):
                k = ev.ev(key_expr, ctx, inner)
                groups.setdefault(k, []).append((row, tuple(ev.notes) if ev.notes else (), k))
    except Exception:  # noqa: BLE001 - the row-by-row filter will raise it, where it should
        return _NO_GROUPING
    finally:
        ev.notes = saved
    return groups
