"""Decision tables and curves: static coverage checks and row matching.

Cells with constant bounds (numbers, percentages, money) are analysed before any data is read:
for every combination of boundary points and the points between them, exactly one row must
match (`hit unique`), at least one (`hit first`, which also flags rows that can never be
first). Cells with computed bounds are matched at run time only.
"""
from __future__ import annotations

import itertools
from decimal import Decimal

from . import ast
from .diagnostics import Diagnostic

_OPS = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


def constant(node) -> Decimal | str | None:
    """The value of a literal bound, or None when it must be computed."""
    while isinstance(node, ast.Paren):
        node = node.expr
    if isinstance(node, (ast.Number, ast.MoneyLit)):
        return node.value
    if isinstance(node, ast.Neg):
        v = constant(node.expr)
        return -v if isinstance(v, Decimal) else None
    if isinstance(node, ast.String):
        return node.value
    return None


def cell_matches(cell: ast.Cell, x, lo, hi) -> bool:
    """Does value x satisfy the cell, given its evaluated bounds?"""
    if cell.kind == "any":
        return True
    if cell.kind == "eq":
        return x == lo
    if cell.kind == "cmp":
        return _OPS[cell.op](x, lo)
    return lo <= x and _OPS[cell.op](x, hi)


def describe(cell: ast.Cell, fmt=str) -> str:
    if cell.kind == "any":
        return "any"
    if cell.kind == "eq":
        return fmt(cell.lo)
    if cell.kind == "cmp":
        return f"{cell.op} {fmt(cell.lo)}"
    return f"{fmt(cell.lo)} to {cell.op} {fmt(cell.hi)}"


def _label(v, kind=None) -> str:
    if isinstance(v, Decimal):
        return format((v * 100 if kind == "rate" else v).normalize(), "f") + ("%" if kind == "rate" else "")
    return repr(v)


def check_decision(node: ast.Decision, params: dict) -> list[Diagnostic]:
    rows = [r for r in node.rows if len(r.cells) == len(params)]
    if not rows or len(rows) != len(node.rows):
        return []  # a row with the wrong cell count (KR304) would show as a false gap
    consts = []
    for r in rows:
        vals = []
        for c in r.cells:
            lo = constant(c.lo) if c.lo is not None else None
            hi = constant(c.hi) if c.hi is not None else None
            if (c.lo is not None and lo is None) or (c.hi is not None and hi is None):
                return []  # computed bounds: checked at run time
            vals.append((lo, hi))
        consts.append(vals)
    axes = []
    for i in range(len(params)):
        points = set()
        for vals in consts:
            for v in vals[i]:
                if v is not None:
                    points.add(v)
        if any(isinstance(p, str) for p in points):
            if not all(isinstance(p, str) for p in points):
                return []
            axes.append(sorted(points) + [None])  # None stands for "any other text"
            continue
        pts = sorted(points)
        if not pts:
            axes.append([Decimal(0)])
            continue
        samples = [pts[0] - 1]
        for a, b in zip(pts, pts[1:]):
            samples += [a, (a + b) / 2]
        samples += [pts[-1], pts[-1] + 1]
        axes.append(samples)
    diags = []
    names = list(params)
    first_hits = [0] * len(rows)
    gaps, overlaps = [], []
    for point in itertools.product(*axes):
        hits = [k for k, (r, vals) in enumerate(zip(rows, consts))
                if all(x is not None and cell_matches(c, x, lo, hi) or c.kind == "any"
                       for c, x, (lo, hi) in zip(r.cells, point, vals))]
        if not hits:
            gaps.append(point)
        else:
            first_hits[hits[0]] += 1
            if len(hits) > 1 and node.hit == "unique":
                overlaps.append((point, hits))
    if gaps and node.hit != "collect_sum":  # collect_sum: no matching row adds nothing
        p = gaps[0]
        where = ", ".join(f"{n} = {_label(v, params[n].kind) if v is not None else 'other text'}"
                          for n, v in zip(names, p))
        more = len(gaps) - 1
        diags.append(Diagnostic(
            "KR301", f"`{node.name}` has no row for {where}" + (f" (and {more} more point{'s' * (more > 1)})" if more else ""),
            node.span, "add a row for the missing values, or a last row with `any`"))
    if overlaps:
        p, hits = overlaps[0]
        where = ", ".join(f"{n} = {_label(v, params[n].kind)}" for n, v in zip(names, p))
        diags.append(Diagnostic(
            "KR302", f"rows {hits[0] + 1} and {hits[1] + 1} of `{node.name}` both match {where}",
            rows[hits[1]].span, "make the ranges disjoint (`80% to < 100%`) or declare `hit first`",
            related=((rows[hits[0]].span, "this row matches too"),)))
    if node.hit == "first":
        for k, n in enumerate(first_hits):
            if n == 0:
                diags.append(Diagnostic("KR303", f"row {k + 1} of `{node.name}` can never match: "
                                        "earlier rows take all its values", rows[k].span,
                                        "remove it or move it up"))
    return diags
