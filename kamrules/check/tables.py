"""Decision tables and curves: static coverage checks and row matching.

Cells with constant bounds (numbers, percentages, money) are analysed before any data is read:
for every combination of boundary points and the points between them, exactly one row must
match (`hit unique`), at least one (`hit first`, which also flags rows that can never be
first). Cells with computed bounds are matched at run time only.
"""
from __future__ import annotations

import bisect
import heapq
import itertools
import math
from decimal import Decimal

from kamrules.syntax import ast

from kamrules.core import limits
from kamrules.core.numeric import compare
from kamrules.diagnostics.diagnostic import Diagnostic

_MAX_BITS = 400_000_000  # sample points x rows kept as bit sets for a multi-input table (~50 MB)

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
    """Does value x satisfy the cell, given its evaluated bounds? Numbers compare under the
    numeric model (core.numeric.compare: an approximate value is snapped), like `<`... do."""
    if cell.kind == "any":
        return True
    if cell.kind == "eq":
        return compare("==", x, lo)
    if cell.kind == "cmp":
        return compare(cell.op, x, lo)
    return compare("<=", lo, x) and compare(cell.op, x, hi)


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


def _axis(consts, i):
    """The sample points of input i: every constant bound, a point between two neighbours,
    one below and one above (numbers); or the texts named and None for "any other text".
    None when the bounds mix texts and numbers (not analysed)."""
    points = set()
    for vals in consts:
        for v in vals[i]:
            if v is not None:
                points.add(v)
    if any(isinstance(p, str) for p in points):
        if not all(isinstance(p, str) for p in points):
            return None
        return sorted(points) + [None]  # None stands for "any other text"
    pts = sorted(points)
    if not pts:
        return [Decimal(0)]
    samples = [pts[0] - 1]
    for a, b in zip(pts, pts[1:]):
        samples += [a, (a + b) / 2]
    samples += [pts[-1], pts[-1] + 1]
    return samples


def _spans(cell: ast.Cell, lo, hi, axis: list, keys: list) -> list:
    """The sample indexes of `axis` (sorted, None last for text) the cell matches, as
    half-open index ranges [(start, stop), ...]: by bisection, since a cell matches an
    interval of the sorted samples (or all but one value, for `!=`)."""
    m = len(keys)  # keys: the sorted, comparable samples (axis without its None)
    if cell.kind == "any":
        return [(0, len(axis))]
    left = lambda v: bisect.bisect_left(keys, v)  # noqa: E731
    right = lambda v: bisect.bisect_right(keys, v)  # noqa: E731
    op = "==" if cell.kind == "eq" else cell.op
    if cell.kind in ("eq", "cmp"):
        got = {"==": [(left(lo), right(lo))], "!=": [(0, left(lo)), (right(lo), len(axis))],  # other text too
               "<": [(0, left(lo))], "<=": [(0, right(lo))], ">": [(right(lo), m)],
               ">=": [(left(lo), m)]}.get(op)
        if got is not None:
            return got
    elif cell.op in ("<", "<="):
        return [(left(lo), left(hi) if cell.op == "<" else right(hi))]
    # any other shape: test each sample (rare, still linear)
    return [(k, k + 1) for k, x in enumerate(keys) if cell_matches(cell, x, lo, hi)]


def _row_sets(rows, consts, i, axis):
    """For each sample of axis i, the rows matching it there, as a bit set (bit k = row k),
    by a sweep over the rows' index ranges: O((samples + rows) * rows / 64)."""
    enter: dict = {}
    keys = axis[:len(axis) - (axis[-1] is None)]
    for k, (r, vals) in enumerate(zip(rows, consts)):
        lo, hi = vals[i]
        for start, stop in _spans(r.cells[i], lo, hi, axis, keys):
            if start < stop:
                enter.setdefault(start, []).append(1 << k)
                enter.setdefault(stop, []).append(1 << k)
    active = 0
    for x in range(len(axis)):
        for bit in enter.get(x, ()):
            active ^= bit
        yield active


def _sweep(rows, consts, axis):
    """One input: (point, first matching row, second matching row) for each sample, by a
    sweep over the rows' ranges with a heap of the rows in force: O((samples + rows) log rows)."""
    enter: dict = {}
    keys = axis[:len(axis) - (axis[-1] is None)]
    for k, (r, vals) in enumerate(zip(rows, consts)):
        lo, hi = vals[0]
        for start, stop in _spans(r.cells[0], lo, hi, axis, keys):
            if start < stop:
                enter.setdefault(start, []).append((k, 1))
                enter.setdefault(stop, []).append((k, -1))
    live = [0] * len(rows)  # ranges of row k in force (a `!=` row has two)
    heap: list = []
    for x, point in enumerate(axis):
        for k, step in enter.get(x, ()):
            live[k] += step
            if step > 0:
                heapq.heappush(heap, k)
        while heap and not live[heap[0]]:
            heapq.heappop(heap)
        if not heap:
            yield (point,), None, None
            continue
        first = heapq.heappop(heap)
        while heap and (not live[heap[0]] or heap[0] == first):
            heapq.heappop(heap)
        second = heap[0] if heap else None
        heapq.heappush(heap, first)
        yield (point,), first, second


def _hole_spans(node, rows, around) -> tuple:
    """(span, labels) of a gap: the caret on the rows around the hole (one input), else the header."""
    before, after = around
    if before is None and after is None:
        return node.span, ()
    if before is None:
        return rows[after].span, ()
    labels = ((rows[after].span, "the hole ends where this row starts"),) if after is not None else ()
    return rows[before].span, labels


def check_decision(node: ast.Decision, params: dict) -> list[Diagnostic]:
    """KR301 gaps, KR302 overlaps (hit unique), KR303 rows never first (hit first), or
    KR008 when the table is too large to analyse. Exact on every combination of sample
    points; the rows matching a point are bit sets (one AND per input), so a one-input table
    of n rows costs about n log n + n * n / 64 machine words, not n * n comparisons."""
    rows = [r for r in node.rows if len(r.cells) == len(params)]
    if not rows or len(rows) != len(node.rows):
        return []  # a row with the wrong cell count (KR304) would show as a false gap
    if len(rows) > limits.MAX_TABLE_ROWS:
        return [Diagnostic("KR005", f"`{node.name}` has {len(rows)} rows (at most {limits.MAX_TABLE_ROWS})",
                           node.span, "split the table, or read the values from an input file")]
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
        axis = _axis(consts, i)
        if axis is None:
            return []
        axes.append(axis)
    points = math.prod(len(a) for a in axes)
    if points > limits.MAX_TABLE_POINTS or (len(axes) > 1 and sum(map(len, axes)) * len(rows) > _MAX_BITS):
        return [Diagnostic("KR008", f"`{node.name}` is too large to check: its {len(params)} inputs "
                           f"give {points} combinations to try (at most {limits.MAX_TABLE_POINTS})",
                           node.span, "split it into smaller tables (one per value of the first input)")]
    diags = []
    names = list(params)
    first_hits = [0] * len(rows)
    gaps, overlaps = [], []
    n_gaps = 0
    if len(axes) == 1:
        matches = _sweep(rows, consts, axes[0])
    else:
        sets = [list(_row_sets(rows, consts, i, axis)) for i, axis in enumerate(axes)]
        full = (1 << len(rows)) - 1

        def combos():
            for idx in itertools.product(*(range(len(a)) for a in axes)):
                bits = full
                for i, k in enumerate(idx):
                    bits &= sets[i][k]
                    if not bits:
                        break
                point = tuple(axes[i][k] for i, k in enumerate(idx))
                if not bits:
                    yield point, None, None
                    continue
                low = bits & -bits
                rest = bits ^ low
                yield point, low.bit_length() - 1, (rest & -rest).bit_length() - 1 if rest else None
        matches = combos()
    around = [None, None]  # one input: the rows just before and just after the first hole
    last = None
    for point, first, second in matches:
        if first is None:
            n_gaps += 1
            if not gaps:
                gaps.append(point)
                around[0] = last
            continue
        if gaps and around[1] is None and len(axes) == 1:
            around[1] = first
        last = first
        first_hits[first] += 1
        if second is not None and node.hit == "unique" and not overlaps:
            overlaps.append((point, [first, second]))
    if gaps and node.hit != "collect_sum":  # collect_sum: no matching row adds nothing
        p = gaps[0]
        where = ", ".join(f"{n} = {_label(v, params[n].kind) if v is not None else 'other text'}"
                          for n, v in zip(names, p))
        more = n_gaps - 1
        span, labels = _hole_spans(node, rows, around if len(axes) == 1 else (None, None))
        diags.append(Diagnostic(
            "KR301", f"`{node.name}` has no row for {where}" + (f" (and {more} more point{'s' * (more > 1)})" if more else ""),
            span, "add a row for the missing values, or a last row with `any`", labels=labels))
    if overlaps:
        p, hits = overlaps[0]
        where = ", ".join(f"{n} = {_label(v, params[n].kind) if v is not None else 'other text'}"
                          for n, v in zip(names, p))
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


def _slice_bounds(cell: ast.Cell, last: bool):
    """(lo, hi) of a marginal curve's row (hi None: open above), or None when the cell is not
    `lo to < hi` / `lo to <= hi` with written bounds (nor `>= lo` / `> lo` on the last row)."""
    if cell.kind == "range" and cell.op in ("<", "<="):
        lo, hi = constant(cell.lo), constant(cell.hi)
        return (lo, hi) if isinstance(lo, Decimal) and isinstance(hi, Decimal) else None
    if last and cell.kind == "cmp" and cell.op in (">=", ">"):
        lo = constant(cell.lo)
        return (lo, None) if isinstance(lo, Decimal) else None
    return None


def check_marginal(node: ast.Decision) -> list[Diagnostic]:
    """A marginal curve's rows, top to bottom, are slices of the input: each a range with
    written bounds (KR305), each starting where the one above ends: no gap (KR306), no
    overlap and no empty range (KR307)."""
    diags, bounds = [], []
    for k, row in enumerate(node.rows):
        if len(row.cells) != 1:
            return []  # KR304 (one cell per input) or KR308 (one input) already said
        b = _slice_bounds(row.cells[0], k == len(node.rows) - 1)
        if b is None:
            diags.append(Diagnostic(
                "KR305", f"row {k + 1} of the marginal curve `{node.name}` is not a slice: write "
                "`lo to < hi` with written bounds (`>= lo` only on the last row)", row.span,
                "e.g. | 100000 EUR to < 200000 EUR | 8% |, and | >= 200000 EUR | 12% | last"))
        bounds.append(b)
    if diags:
        return diags
    fmt = lambda v: format(v.normalize(), "f")  # noqa: E731
    for k, (lo, hi) in enumerate(bounds):
        if hi is not None and lo >= hi:
            diags.append(Diagnostic("KR307", f"row {k + 1} of the marginal curve `{node.name}` is an empty "
                                    f"slice: it starts at {fmt(lo)} and ends at {fmt(hi)}", node.rows[k].span,
                                    "write the lower bound first: `lo to < hi`"))
            return diags
        if k == 0:
            continue
        end = bounds[k - 1][1]
        row, above = node.rows[k], node.rows[k - 1]
        if lo > end:
            diags.append(Diagnostic(
                "KR306", f"rows {k} and {k + 1} of the marginal curve `{node.name}` leave a gap: from "
                f"{fmt(end)} to {fmt(lo)} no rate applies", row.span,
                f"start row {k + 1} where row {k} ends: {fmt(end)} to < ...",
                labels=((above.span, f"row {k} ends at {fmt(end)}"),)))
        elif lo < end:
            diags.append(Diagnostic(
                "KR307", f"rows {k} and {k + 1} of the marginal curve `{node.name}` overlap: from "
                f"{fmt(lo)} to {fmt(end)} both rates would apply", row.span,
                f"start row {k + 1} where row {k} ends: {fmt(end)} to < ...",
                labels=((above.span, f"row {k} ends at {fmt(end)}"),)))
    return diags
