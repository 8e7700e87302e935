"""Correlated aggregates as grouped joins, for PostgreSQL (postgres.py).

The translator writes an aggregation over an input as a scalar subquery correlated with the
frame's row: `SELECT f.*, (SELECT coalesce(sum(r.amount), 0) FROM "t.deals" r WHERE r.status
= 'won' AND r.close_date BETWEEN f.__pstart AND f.__pend AND assignee(r) = f.__payee) FROM f`.
DuckDB decorrelates such a subquery into a hash join; PostgreSQL runs it once per row of the
frame (a SubPlan), a cost of payees x periods x rows. `grouped` rewrites the subqueries it
can prove equivalent as one GROUP BY per subquery, LEFT JOINed to the frame:

    LEFT JOIN (SELECT <r side of each `=`>, p.a, p.b, sum(r.amount) AS "~a0"
               FROM "t.deals" r JOIN (SELECT DISTINCT f.a, f.b FROM f) p
                 ON r.close_date BETWEEN p.a AND p.b
               WHERE <the conjuncts that read r alone> GROUP BY <the keys>) v
      ON v.k0 = f.__payee AND v.ka = f.a AND v.kb = f.b

and the subquery becomes its select expression over the joined aggregates. The subquery
must be a single table with a WHERE of conjuncts, each reading r alone, or `r-expr = f.col`,
or (at most one) `r-expr BETWEEN f.a AND f.b`; its select expression reads r only inside
aggregates. Equal by construction: a row of r counts for the frame row exactly when every
conjunct holds (a NULL key matches nothing on both sides); a frame row with no such row
gets no group, so each aggregate is NULL, as over an empty set, except count() (0: written
coalesce(v, 0)). Anything else is left as it is (correct, per row).
"""
from __future__ import annotations


def _f_refs(node) -> bool:
    from sqlglot import exp
    return any(c.table == "f" for c in node.find_all(exp.Column))


def _conjuncts(where):
    from sqlglot import exp
    node = where.this
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return _conjuncts(exp.Where(this=node.left)) + _conjuncts(exp.Where(this=node.right))
    return [node]


def _outer_col(node):
    from sqlglot import exp
    while isinstance(node, exp.Paren):
        node = node.this
    return node if isinstance(node, exp.Column) and node.table == "f" else None


def grouped(select, n: list) -> None:
    """Rewrite, in place, the correlated scalar subqueries of `SELECT f.*, ... FROM f` that
    the module docstring describes (n: a counter shared by the statement's joins)."""
    from sqlglot import exp
    src = select.args.get("from_") or select.args.get("from")
    if src is None or not isinstance(src.this, exp.Table) or src.this.name != "f" or src.this.alias \
            or select.args.get("joins") or select.args.get("where") or select.args.get("group"):
        return
    for proj in select.expressions:
        for sub in list(proj.find_all(exp.Subquery)):
            if sub.find_ancestor(exp.Subquery) is not None:  # only those of the frame's row itself
                continue
            join = _rewrite(sub, n)
            if join is not None:
                select.append("joins", join)


def _rewrite(sub, n: list):
    from sqlglot import exp
    inner = sub.this
    if not isinstance(inner, exp.Select) or len(inner.expressions) != 1:
        return None
    if any(inner.args.get(k) for k in ("joins", "group", "having", "order", "limit", "qualify", "distinct", "with_")):
        return None
    src = inner.args.get("from_") or inner.args.get("from")
    where = inner.args.get("where")
    if src is None or not isinstance(src.this, exp.Table) or where is None:
        return None
    value = inner.expressions[0]
    aggs = [a for a in value.find_all(exp.AggFunc) if a.find_ancestor(exp.AggFunc) is None]
    if not aggs or _f_refs(value) or value.find(exp.Window) or any(isinstance(a, exp.Count) and a.args.get("distinct") for a in aggs):
        return None
    outside = exp.Paren(this=value.copy())  # (a root node cannot be replaced in place)
    for a in list(outside.find_all(exp.AggFunc)):
        a.replace(exp.Null())
    if any(True for _ in outside.find_all(exp.Column)) or outside.find(exp.Subquery):
        return None  # a column read outside any aggregate
    keep, keys, between = [], [], None
    for c in _conjuncts(where):
        if not _f_refs(c):
            keep.append(c)
        elif isinstance(c, exp.EQ) and _outer_col(c.right) is not None and not _f_refs(c.left):
            keys.append((c.left, _outer_col(c.right)))
        elif isinstance(c, exp.EQ) and _outer_col(c.left) is not None and not _f_refs(c.right):
            keys.append((c.right, _outer_col(c.left)))
        elif isinstance(c, exp.Between) and between is None and not _f_refs(c.this) \
                and _outer_col(c.args["low"]) is not None and _outer_col(c.args["high"]) is not None:
            between = (c.this, _outer_col(c.args["low"]), _outer_col(c.args["high"]))
        else:
            return None
    if not keys and between is None:
        return None
    i = n[0]
    n[0] += 1
    v, p = f"~v{i}", f"~p{i}"
    cols, on = [], []
    for j, (expr, outer) in enumerate(keys):
        cols.append(exp.alias_(expr.copy(), f"~k{j}", quoted=True))
        on.append(exp.EQ(this=exp.column(f"~k{j}", v, quoted=True), expression=outer.copy()))
    group = [e.copy() for e, _ in keys]
    grouped_from = src.this.copy()
    joins = []
    if between is not None:
        lo, hi = between[1].name, between[2].name
        periods = exp.select(exp.column(lo, "f"), exp.column(hi, "f")).distinct().from_("f").subquery(p, copy=False)
        periods.args["alias"].this.set("quoted", True)
        pl, ph = exp.column(lo, p, quoted=True), exp.column(hi, p, quoted=True)
        joins.append(exp.Join(this=periods, kind="INNER",
                              on=exp.Between(this=between[0].copy(), low=pl.copy(), high=ph.copy())))
        cols += [exp.alias_(pl.copy(), "~lo", quoted=True), exp.alias_(ph.copy(), "~hi", quoted=True)]
        group += [pl.copy(), ph.copy()]
        on += [exp.EQ(this=exp.column("~lo", v, quoted=True), expression=between[1].copy()),
               exp.EQ(this=exp.column("~hi", v, quoted=True), expression=between[2].copy())]
    for j, a in enumerate(aggs):
        cols.append(exp.alias_(a.copy(), f"~a{j}", quoted=True))
    body = exp.Select(expressions=cols).from_(grouped_from, copy=False)
    for j in joins:
        body.append("joins", j)
    if keep:
        body = body.where(exp.and_(*[k.copy() for k in keep]), copy=False)
    body = body.group_by(*group, copy=False)
    value = exp.Paren(this=value.copy())
    for j, a in enumerate([a for a in value.find_all(exp.AggFunc) if a.find_ancestor(exp.AggFunc) is None]):
        ref = exp.column(f"~a{j}", v, quoted=True)
        a.replace(exp.func("coalesce", ref, exp.Literal.number(0)) if isinstance(a, exp.Count) else ref)
    sub.replace(value)
    derived = body.subquery(v, copy=False)
    derived.args["alias"].this.set("quoted", True)
    return exp.Join(this=derived, kind="LEFT", on=exp.and_(*on))
