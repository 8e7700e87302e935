"""Decision tables on the polars frame (the columnar backend's lowering of a call of a
`table` or `curve`): each row's cells tested on the arguments, the output of the row that
matches, by the table's hit policy (first, unique, collect_sum; marginal in builtins.py), and
the error mask that hands a payee-period to the interpreter, the reference, where no row or
several match, where an approximate argument is within its error bound of a cell's end, or
where the chosen output stops. Called by frame.Frame for each call of a decision.
"""
from __future__ import annotations

import attrs
import polars as pl

from kamrules.core import ir

from kamrules.backends.polars.values import (Col, Unsupported, any_error, bound_of, bound_sum, dec, error_when,
                                             most_places, null_error, snap, undecided)


def decide(frame, d, node, ctx):
    """A call of decision table `d` (its node `node`) as a Col on the frame: each row's cells
    tested on the arguments (computed once on the frame), the row's output where it matches;
    the interpreter's to decide where no row or several match (by the table's hit policy),
    where an approximate argument lies within its bound of a cell's end, or where the chosen
    output stops."""
    dec_node = d.node
    args = [frame.ev(a, ctx) for a in node.args]
    if any(not isinstance(a, Col) for a in args):
        raise Unsupported("a decision table on rows or periods", node)
    if ctx.table is None:  # on the frame: each argument computed once, not once per row test
        args = [frame.materialize(a) for a in args]
        if dec_node.hit != "marginal" and pure(frame.plan, dec_node):
            done = _on_distinct(frame, d, args, ctx)
            if done is not None:
                return done
    return _decide(frame, d, args, ctx)


def pure(plan, dec_node) -> bool:
    """The table's cells and outputs read nothing but its parameters, the plan's params and
    literals: its value is a function of its arguments alone."""
    for row in dec_node.rows:
        for top in [row.output] + [e for c in row.cells for e in (c.lo, c.hi) if e is not None]:
            for n in ir.walk(top):
                if isinstance(n, (ir.Call, ir.Attr, ir.Index, ir.Where, ir.Each)):
                    return False
                if isinstance(n, ir.Name):
                    r = n.ref
                    if not (r[0] == "param" or r[0] == "def" and plan.definitions[r[1]].kind == "param"):
                        return False
    return True


def _on_distinct(frame, d, args, ctx):
    """A call of a pure decision table decided once per distinct arguments (with their
    errors and bounds) and joined back onto the frame: a curve of an attainment rounded to
    1% meets a few hundred values among a million payee-periods. The same Col as deciding
    on every row (the same tests and outputs, on fewer rows); None when the arguments are
    not mostly repeated (or read no column)."""
    cols = sorted({n for a in args for e in (a.expr, a.err, a.bound) if e is not None for n in e.meta.root_names()})
    if not cols:
        return None
    keys = frame.df.select(cols)
    distinct = keys.unique()
    if distinct.height * DISTINCT_SHARE > keys.height:
        return None
    small = frame.on(distinct)
    res = _decide(small, d, args, ctx)
    parts = {"__dv": res.expr, "__de": res.err, "__db": res.bound}
    parts = {k: e for k, e in parts.items() if e is not None}
    values = small.df.select(*cols, *[e.alias(k) for k, e in parts.items()])
    back = keys.join(values, on=cols, how="left", maintain_order="left", nulls_equal=True)
    name = frame.fresh("t.")
    names = {"__dv": name, "__de": name + "!", "__db": name + "~"}
    first, *more = parts  # (waiting columns: computed with the next ones, backends/polars/columns.py)
    frame.add(names[first], pl.lit(back[first]), **{names[k]: pl.lit(back[k]) for k in more})
    return attrs.evolve(res, expr=pl.col(name), err=pl.col(name + "!") if "__de" in parts else None,
                        bound=pl.col(name + "~") if "__db" in parts else None)


DISTINCT_SHARE = 8  # decided on distinct arguments when they are at most an eighth of the rows


def _decide(frame, d, args, ctx):
    """decide() on arguments evaluated (and, on the frame, materialized)."""
    dec_node = d.node
    arg_err = any_error(*(null_error(a) for a in args))
    inner = ctx.with_params({name: a for (name, _), a in zip(dec_node.params, args)})
    if dec_node.hit == "marginal":
        from kamrules.backends.polars.builtins import marginal
        return marginal(frame, dec_node, args[0], inner, arg_err)
    matches, outputs = [], []
    for row in dec_node.rows:
        cond = pl.lit(True)
        cell_errs = []
        for cell, a in zip(row.cells, args):
            c, e = _cell(frame, cell, snap(a), inner)
            cond = cond & c
            cell_errs.append(e)
            fuzzy = _cell_near(frame, cell, a, inner)
            if fuzzy is not None:
                arg_err = any_error(arg_err, fuzzy)
        if any(e is not None for e in cell_errs):
            raise Unsupported("a decision cell that can fail", row)
        out = frame.ev(row.output, inner)
        cond = cond.fill_null(False)
        if ctx.table is None:
            name = frame.fresh("t.")
            frame.add(name, cond)
            cond = pl.col(name)
        matches.append(cond)
        outputs.append(out)
    kind = d.type.kind if d.type.kind != "unknown" else (outputs[0].kind if outputs else "number")
    fuzzy = any(o.approx for o in outputs)
    out_bounds = [bound_of(o) for o in outputs if o.approx]
    count = pl.sum_horizontal(*[m.cast(pl.Int32) for m in matches]) if matches else pl.lit(0)
    if dec_node.hit == "collect_sum":
        total = dec(0)
        errs = []
        for m, o in zip(matches, outputs):
            total = total + pl.when(m).then(o.expr).otherwise(dec(0))
            errs.append(error_when(m, null_error(o)))
        return Col(total, any_error(arg_err, *errs), kind, approx=fuzzy, bound=bound_sum(*out_bounds),
                   places=most_places(*outputs))
    expr = None
    out_errs = []
    for m, o in zip(matches, outputs):
        expr = pl.when(m).then(o.expr) if expr is None else expr.when(m).then(o.expr)
        out_errs.append(o.err)
    expr = expr.otherwise(None) if expr is not None else pl.lit(None)
    chosen_err = None
    if any(e is not None for e in out_errs):
        chosen = None
        for m, e in zip(matches, out_errs):
            e = e if e is not None else pl.lit(False)
            chosen = pl.when(m).then(e) if chosen is None else chosen.when(m).then(e)
        chosen_err = chosen.otherwise(False)
    bad = count == 0 if dec_node.hit == "first" else count != 1
    return Col(expr, any_error(arg_err, bad, chosen_err), kind, any(o.nullable for o in outputs), fuzzy,
               bound=pl.max_horizontal(*out_bounds) if out_bounds else None, places=most_places(*outputs))

def _cell_near(frame, cell, a: Col, ctx):
    """Where an approximate argument (or cell end) is within its error bound of this
    cell's ends (values.undecided): the interpreter's to decide."""
    if cell.kind == "any":
        return None
    ends = [frame.ev(b, ctx) for b in (cell.lo, cell.hi) if b is not None]
    if not (a.approx or any(b.approx for b in ends)):
        return None
    return any_error(*(undecided((a.expr - b.expr).abs(), bound_sum(bound_of(a), bound_of(b))) for b in ends))

def _cell(frame, cell, x: pl.Expr, ctx):
    """(the test of one cell on x, the error of computing its ends)."""
    if cell.kind == "any":
        return pl.lit(True), None
    lo = frame.ev(cell.lo, ctx) if cell.lo is not None else None
    hi = frame.ev(cell.hi, ctx) if cell.hi is not None else None
    err = any_error(lo.err if lo else None, hi.err if hi else None)
    lo = Col(snap(lo), lo.err, lo.kind) if lo is not None else None
    hi = Col(snap(hi), hi.err, hi.kind) if hi is not None else None
    if cell.kind == "eq":
        return x == lo.expr, err
    ops = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
           ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}
    if cell.kind == "cmp":
        return ops[cell.op](x, lo.expr), err
    return (lo.expr <= x) & ops[cell.op](x, hi.expr), err
