"""Which filters place rows in periods: what `run` without `--period` reads to know which
periods to compute (engine/run.py turns these placements into periods of the data).

A `where` conjunct places its rows when it compares a date (or period) column of the row,
or of a row looked up by key, with a period expression: `period` and the chains of
`.year`, `.quarter`, `.month`, `.year_to_date`, `.previous` on it (directly or through a
`let`), with `in` / `==`, or `.start` / `.end` of one with `==`, `<`, `<=`, `>`, `>=`.
`A or B` places when both sides do. A conjunct that reads the row and a date or period that
depends on the period in any other way (`close_date + 30 > period.end`, `not in period`) is
a placement the checker cannot follow: unless another conjunct of the same filter (or of
the filter it narrows: `won where ...` with `let won = deals where close_date in period`)
places the rows, the plan gets an "unknown" placement and `run` without `--period` asks
for one (KR417).
"""
from __future__ import annotations

from kamrules.syntax import ast
from kamrules.check.plan import Placement

CHAIN = ("year", "quarter", "month", "year_to_date", "previous")
BOUNDS = ("start", "end")
FLIP = {"==": "==", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
TIMELIKE = ("date", "period")


def discover(ck) -> list:
    """The placements of every `where` the checker typed (ck: the Checker, after typing)."""
    d = _Discovery(ck)
    out, seen = [], set()
    for node, table, depth in ck.wheres:
        own, unknown = d.classify(node, table, depth)
        found = list(own)
        if unknown is not None and not d.placed(node):
            found.append(Placement(table, None, "unknown", "", (), unknown.span))
        for p in found:
            key = (p.table, p.column, p.how, p.op, p.chain) if p.how != "unknown" else p.span
            if key not in seen:
                seen.add(key)
                out.append(p)
    return out


class _Discovery:
    def __init__(self, ck):
        self.ck = ck
        self.res = ck.resolution
        self.where_at = {id(n): (n, t, dep) for n, t, dep in ck.wheres}
        self.cache: dict = {}
        self.period_defs = self._period_defs()

    # ------------------------------------------------------------ per filter
    def classify(self, node, table, depth):
        key = id(node)
        if key not in self.cache:
            own, unknown = [], None
            for c in _conjuncts(node.cond):
                p = self.placement(c, table, depth)
                if p:
                    own.extend(p)
                elif unknown is None and self.ck._reads_row(c, depth) and self._timelike(c):
                    unknown = c
            self.cache[key] = (own, unknown)
        return self.cache[key]

    def placed(self, node, seen=None) -> bool:
        """Does this filter, or one it narrows, place its rows?"""
        seen = seen if seen is not None else set()
        if id(node) in seen:
            return False
        seen.add(id(node))
        entry = self.where_at.get(id(node))
        if entry is not None and self.classify(*entry)[0]:
            return True
        src = _strip(node.source)
        if isinstance(src, ast.Where):
            return self.placed(src, seen)
        if isinstance(src, ast.Name) and self.res.get(id(src)) == ("def", src.id):
            d = self.ck.defs.get(src.id)
            body = _strip(getattr(d, "expr", None))
            if isinstance(body, ast.Where):
                return self.placed(body, seen)
        return False

    def placement(self, c, table, depth):
        c = _strip(c)
        if isinstance(c, ast.BinOp) and c.op == "or":
            out = []
            for side in (c.left, c.right):
                p = self.placement(side, table, depth)
                if not p:
                    return None
                out.extend(p)
            return out
        if not (isinstance(c, ast.BinOp) and (c.op == "in" or c.op in FLIP)):
            return None
        sides = [(c.left, c.right, c.op)]
        if c.op != "in":
            sides.append((c.right, c.left, FLIP[c.op]))
        for col_side, pe_side, op in sides:
            target = self._column(col_side, table, depth)
            if target is None or self.ck._reads_row(pe_side, depth):
                continue
            chain = self._chain(pe_side, set())
            if chain is None:
                continue
            ends = bool(chain) and chain[-1] in BOUNDS
            tbl, col, kind = target
            if kind == "date" and (op == "in" and not ends or op != "in" and ends):
                return [Placement(tbl, col, "date", op, chain, c.span)]
            if kind == "period" and op in ("in", "==") and not ends:
                return [Placement(tbl, col, "period", op, chain, c.span)]
        return None

    # ------------------------------------------------------------ pieces
    def _column(self, e, table, depth):
        """(table, column, "date"|"period") of a column of the row, or of a row looked up by key."""
        e = _strip(e)
        r = self.res.get(id(e))
        if r and r[0] == "column" and r[1] == depth:
            kind = self.ck.inputs[r[2]].columns[r[3]].type.kind
            return (r[2], r[3], kind) if kind in TIMELIKE else None
        if isinstance(e, ast.Attr) and isinstance(e.obj, ast.Index) and isinstance(e.obj.obj, ast.Name) \
                and e.obj.obj.id in self.ck.inputs:
            spec = self.ck.inputs[e.obj.obj.id].columns.get(e.name)
            if spec is not None and spec.type.kind in TIMELIKE:
                return (e.obj.obj.id, e.name, spec.type.kind)
        return None

    def _chain(self, e, seen):
        """The attributes applied to `period` that make e, or None when e is not such a chain."""
        e = _strip(e)
        r = self.res.get(id(e))
        if r == ("period",):
            return ()
        if isinstance(e, ast.Attr) and r and r[0] == "period_attr" and e.name in CHAIN + BOUNDS:
            inner = self._chain(e.obj, seen)
            if inner is not None and not (inner and inner[-1] in BOUNDS):
                return inner + (e.name,)
            return None
        if isinstance(e, ast.Name) and r == ("def", e.id) and e.id not in seen:
            d = self.ck.defs.get(e.id)
            if isinstance(d, (ast.Let, ast.Param)):
                return self._chain(d.expr, seen | {e.id})
        return None

    def _timelike(self, c) -> bool:
        """Does c use a date or period that depends on the calculation period?"""
        stack = [c]
        while stack:
            x = stack.pop()
            r = self.res.get(id(x))
            if isinstance(x, (ast.Name, ast.Attr)) and self._on_period(x):
                t = self.ck.types.get(id(x))
                if t is not None and t.kind in TIMELIKE:
                    return True
                continue
            if r and r[0] == "def" and r[1] in self.period_defs:
                t = self.ck.types.get(id(x))
                if t is not None and t.kind in TIMELIKE:
                    return True
            stack.extend(_children(x))
        return False

    def _on_period(self, x) -> bool:
        while isinstance(x, ast.Attr):
            x = x.obj
        return isinstance(x, ast.Name) and self.res.get(id(x)) == ("period",)

    def _period_defs(self) -> set:
        """Definitions whose value depends on the calculation period."""
        direct = {name for name, node in self.ck.defs.items()
                  if any(self.res.get(id(x)) == ("period",) for x in _walk(node))}
        out, changed = set(direct), True
        while changed:
            changed = False
            for name, deps in self.ck.deps.items():
                if name not in out and deps & out:
                    out.add(name)
                    changed = True
        return out


def _strip(e):
    while isinstance(e, ast.Paren):
        e = e.expr
    return e


def _conjuncts(e) -> list:
    e = _strip(e)
    if isinstance(e, ast.BinOp) and e.op == "and":
        return _conjuncts(e.left) + _conjuncts(e.right)
    return [e]


def _children(x):
    if isinstance(x, tuple):
        return list(x)
    if not hasattr(type(x), "__attrs_attrs__"):
        return []
    return [getattr(x, a.name) for a in type(x).__attrs_attrs__ if a.name != "span"]


def _walk(node):
    stack = [node]
    while stack:
        x = stack.pop()
        yield x
        stack.extend(_children(x))
