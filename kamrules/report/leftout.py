"""The rows left out of a payee's measure, and why: for the input filter behind a measure
(`let won = deals where status == "won" and close_date in period and assignee(account_id,
"kam", close_date) == payee.id`), the rows that belong to the payee by the filter's own
link (a `column == payee.id`, or an account ever assigned to them) but that the filter does
not select, each with the first condition it fails: the status, a date outside the period,
the account not assigned to the payee on that day, or another condition, in words.

A row left out only by its date is told when it is dated at most NEAR_DAYS days before the
period starts or after it ends (a deal closed on 1 April, not 31 March: the reader's
question); one dated further away is credited in another period's statement and is not
listed here (a year of invoices would bury the rows that matter).
"""
from __future__ import annotations

import datetime as dt

from kamrules.backends.interp.arith import Problem
from kamrules.check.lower import ir_of
from kamrules.core import ir
from kamrules.report.words import find_nodes, span_text

MAX_ROWS = 25
NEAR_DAYS = 7  # a row dated this close to the period, outside it, is listed as left out
NEAR = dt.timedelta(days=NEAR_DAYS)


def base_where(plan, call):
    """The Where over an input table behind an aggregation call (following lets), or None."""
    arg = call.args[0] if call.args else None
    node = arg.source if isinstance(arg, ir.Each) else arg
    lowered = ir_of(plan)
    for _ in range(8):
        if isinstance(node, ir.Where):
            src = node.source
            if isinstance(src, ir.Name) and src.ref == ("table", src.id):
                return node
            node = src
        elif isinstance(node, ir.Name):
            r = node.ref
            if r is None or r[0] != "def" or lowered.definitions[r[1]].kind != "let":
                return None
            node = lowered.definitions[r[1]].node.expr
        else:
            return None
    return None


def _is_payee_id(e) -> bool:
    return isinstance(e, ir.Attr) and e.name == "id" and isinstance(e.obj, ir.Name) and e.obj.id == "payee"


def left_out(plan, ev, ctx, tables, where) -> list:
    """[(row, reason)] of the rows of `where`'s table linked to the payee but not selected.
    The linked rows are found through the tables' indexes (`Table.index`, built once per
    column), so a payee costs its own rows, not the whole table."""
    flt = where.filter
    if flt is None:
        return []
    table = tables[where.source.id]
    pid = ctx.payee.id
    linked: dict = {}
    for c, e in flt.eq:
        if _is_payee_id(e):
            linked.update((id(r), r) for r in table.index(c).get(pid, ()))
    for col, role_expr, who in flt.assigned:
        if isinstance(col, str) and _is_payee_id(who) and "assignments" in tables:
            role = ev.ev(role_expr, ctx, ())
            accounts = {r.values["account_id"] for r in tables["assignments"].index("payee_id").get(pid, ())
                        if r.values.get("role") in (role, None)}
            for a in sorted(accounts, key=str):
                linked.update((id(r), r) for r in table.index(col).get(a, ()))
    if not linked:
        return []
    try:
        chosen = {id(r) for r in ev.ev(where, ctx, ())}
    except (Problem, LookupError, TypeError, ArithmeticError):
        return []
    return _with_reasons(plan, ev, ctx, flt, sorted((r for k, r in linked.items() if k not in chosen),
                                                    key=lambda r: r.number))


def inner_left_out(plan, ev, ctx, call) -> list:
    """[(row, reason)] of the rows a sum reads (`for won ...`) that its own `where` leaves
    out (`where present(margin) and margin >= margin_floor`), in the order read."""
    arg = call.args[0] if call is not None and call.args else None
    where = arg.source if isinstance(arg, ir.Each) else None
    if not isinstance(where, ir.Where) or where.filter is None:
        return []
    src = where.source
    if isinstance(src, ir.Name) and src.ref == ("table", src.id):  # a whole table: everyone's rows,
        return []  # left_out (the rows linked to the payee) answers for it
    try:
        base = ev.ev(src, ctx, ())
        chosen = {id(r) for r in ev.ev(where, ctx, ())}
    except (Problem, LookupError, TypeError, ArithmeticError, AttributeError):
        return []
    return _with_reasons(plan, ev, ctx, where.filter, (r for r in (base if isinstance(base, list) else ())
                                                       if id(r) not in chosen and hasattr(r, "values")))


def _with_reasons(plan, ev, ctx, flt, rows) -> list:
    """[(row, reason)] of the rows left out, in order, each with the first condition it fails
    (the rows dated far from the period left out: module doc), at most MAX_ROWS."""
    out = []
    for row in rows:
        reason = _reason(plan, ev, ctx, flt, row)
        if reason is not None:
            out.append((row, reason))
            if len(out) >= MAX_ROWS:
                break
    return out


def _facts(ev, ctx, cond, row) -> tuple:
    """((name, value, unit), ...) of the row's columns and the plan's values a condition
    compares (`margin >= margin_floor`: margin 12%, margin_floor 15%)."""
    out, seen = [], set()
    for n in find_nodes(cond, lambda x: isinstance(x, ir.Name) and x.ref and x.ref[0] in ("column", "def", "param")):
        if n.id in seen:
            continue
        seen.add(n.id)
        unit = n.type.kind if n.type is not None else None
        if n.ref[0] == "column":
            if n.ref[1] != 0:
                continue
            out.append((n.ref[3], row.values.get(n.ref[3]), unit))
        else:
            try:
                out.append((n.id, ev.ev(n, ctx, (row,)), unit))
            except (Problem, LookupError, TypeError, ArithmeticError, AttributeError):
                continue
    return tuple(out)


# a comparison a row fails, in words: `margin >= margin_floor` false is "margin 14% is below
# margin_floor 15%" (each side a fact: report/statement_text.left_rows writes its name and value)
_FAILED = {">=": "{left} is below {right}", ">": "{left} is not above {right}",
           "<=": "{left} is above {right}", "<": "{left} is not below {right}"}


def _compared(ev, ctx, cond, row) -> tuple | None:
    """(message id, values) of a comparison of two named values the row fails (a column of
    the row, also under `default(column, 0)`, a param or a let), else None."""
    if not (isinstance(cond, ir.BinOp) and cond.op in _FAILED):
        return None
    sides = [_side(ev, ctx, n, row) for n in (cond.left, cond.right)]
    if None in sides:
        return None
    return (_FAILED[cond.op], {"left": sides[0], "right": sides[1]})


def _side(ev, ctx, node, row) -> tuple | None:
    """((name, value, unit),) of one side of a comparison, or None when it is no named value."""
    inner = node.args[0] if isinstance(node, ir.Call) and node.func == "default" and node.args else node
    if not (isinstance(inner, ir.Name) and inner.ref and inner.ref[0] in ("column", "def", "param")):
        return None
    if inner.ref[0] == "column" and inner.ref[1] != 0:  # a column of an enclosing row
        return None
    try:
        value = ev.ev(node, ctx, (row,))
    except (Problem, LookupError, TypeError, ArithmeticError, AttributeError):
        return None
    name = inner.ref[3] if inner.ref[0] == "column" else inner.id
    return ((name, value, inner.type.kind if inner.type is not None else None),)


def _reason(plan, ev, ctx, flt, row) -> tuple | None:
    """(message id, values) of the first condition the row fails; None for a row dated in
    neither the period nor one next to it (module doc)."""
    try:
        for col, e in flt.eq:
            want = ev.ev(e, ctx, ())
            if row.values.get(col) != want:
                return ("{column} is {value}, not {wanted}", {"column": col, "value": row.values.get(col),
                                                              "wanted": want})
        for col, e in flt.in_period:
            p = ev.ev(e, ctx, ())
            d = row.values.get(col)
            if d is None:  # an invoice not paid yet: no date to be in any period
                return ("{column} is empty", {"column": col})
            if not (p.start <= d <= p.end):
                if not (p.start - NEAR <= d <= p.end + NEAR):
                    return None
                return ("{column} {value} is outside {period}", {"column": col, "value": d, "period": str(p)})
        for c in flt.rest:
            if not ev.ev(c, ctx, (row,)):
                if find_nodes(c, lambda n: isinstance(n, ir.Call) and n.func == "assignee"):
                    return ("the account was not assigned to you on that day", {})
                said = _compared(ev, ctx, c, row)
                if said is not None:
                    return said
                facts = _facts(ev, ctx, c, row)
                if facts:  # the values compared: a tuple of facts (report/statement_text.left_rows)
                    return ("`{condition}` is false: {facts}", {"condition": span_text(plan.source, c.span),
                                                                 "facts": facts})
                return ("`{condition}` is false", {"condition": span_text(plan.source, c.span)})
    except (Problem, LookupError, TypeError, ArithmeticError, AttributeError):
        pass
    return ("held back by the plan's conditions", {})
